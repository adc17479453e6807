package zoo

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkFields walks a parsed YAML document against the Go type it decodes
// into and returns an error for the first mapping key that names no
// field: the manifest path of the key (models[2] (resnet).preprocess.mena),
// the closest known field and the line.
func checkFields(doc *yaml.Node, t reflect.Type) error {
	if doc == nil {
		return nil
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		doc = doc.Content[0]
	}
	return walkFields(doc, t, "")
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// yamlFields returns the YAML keys of a struct type and the type each
// decodes into, inline fields included.
func yamlFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				yamlFields(ft, out)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func walkFields(n *yaml.Node, t reflect.Type, path string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		yamlFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("%s: unknown field", join(path, k.Value))
				if s := closest(k.Value, fields); s != "" {
					msg += ", did you mean " + s + "?"
				} else {
					msg += " (known: " + strings.Join(sortedKeys(fields), ", ") + ")"
				}
				return fmt.Errorf("%w: line %d: %s", ErrManifest, k.Line, msg)
			}
			if err := walkFields(v, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walkFields(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if item.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(item.Content); j += 2 {
					if item.Content[j].Value == "name" && item.Content[j+1].Kind == yaml.ScalarNode {
						p += " (" + item.Content[j+1].Value + ")"
						break
					}
				}
			}
			if err := walkFields(item, t.Elem(), p); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closest returns the known key nearest to key in edit distance, when it
// is near enough to be a typo (at most a third of the key's letters, and
// at least one).
func closest(key string, known map[string]reflect.Type) string {
	best, bestD := "", len(key)/3+1
	for _, k := range sortedKeys(known) {
		if d := editDistance(strings.ToLower(key), k); d <= bestD && (best == "" || d < editDistance(strings.ToLower(key), best)) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment) of a and b, counting a swap of neighbours as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

var (
	pathStepRE = regexp.MustCompile(`^([A-Za-z0-9_]+)?((?:\[\d+\])*)(?: \([^)]*\))?$`)
	digitsRE   = regexp.MustCompile(`\d+`)
)

// lineOf returns the line of the deepest node of doc that the manifest
// path p (datasets.mnist.split.calibration, models[2] (resnet).file)
// reaches, or 0.
func lineOf(doc *yaml.Node, p string) int {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	n, line := doc.Content[0], 0
	// Split at dots outside parentheses (model names may hold dots).
	var steps []string
	depth, start := 0, 0
	for i, r := range p {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == '.' && depth == 0:
			steps = append(steps, p[start:i])
			start = i + 1
		}
	}
	steps = append(steps, p[start:])
	for _, s := range steps {
		m := pathStepRE.FindStringSubmatch(s)
		if m == nil {
			return line
		}
		if key := m[1]; key != "" {
			if n.Kind != yaml.MappingNode {
				return line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		}
		for _, idx := range digitsRE.FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

// withLine prefixes a manifest validation error with the line of the path
// it names (the text before the first ": " after ErrManifest's).
func withLine(doc *yaml.Node, err error) error {
	prefix := ErrManifest.Error() + ": "
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return err
	}
	rest := msg[len(prefix):]
	p, _, ok := strings.Cut(rest, ": ")
	if !ok {
		return err
	}
	if line := lineOf(doc, p); line > 0 {
		return fmt.Errorf("%w: line %d: %s", ErrManifest, line, rest)
	}
	return err
}
