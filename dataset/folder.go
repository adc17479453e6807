package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/failure"
)

// ImageExts are the file extensions (lower case) image folders read.
var ImageExts = []string{".jpg", ".jpeg", ".png"}

func isImage(key string) bool {
	return slices.Contains(ImageExts, strings.ToLower(path.Ext(key)))
}

// ParseSynsets parses a synset list: line i (blank lines skipped) names
// class i by its first whitespace-separated word; the rest of the line is
// a description. Names must be unique.
func ParseSynsets(data []byte) ([]string, error) {
	var names []string
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if prev, ok := seen[f[0]]; ok {
			return nil, fmt.Errorf("%w: synset list line %d: %q repeats line %d", ErrFormat, line, f[0], prev)
		}
		seen[f[0]] = line
		names = append(names, f[0])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: synset list: %v", ErrFormat, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: empty synset list", ErrFormat)
	}
	return names, nil
}

// LabeledPath is one line of a CSV label file.
type LabeledPath struct {
	Path  string
	Label int
}

// ParseLabelCSV parses lines "path,label" (label a decimal integer; blank
// lines skipped; surrounding spaces trimmed). A first line whose label is
// not an integer is a header and skipped. Paths are slash-separated,
// relative, must not climb out with "..", and must be unique. The result is
// sorted by path.
func ParseLabelCSV(data []byte) ([]LabeledPath, error) {
	var out []LabeledPath
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if text == "" {
			continue
		}
		i := strings.LastIndexByte(text, ',')
		if i < 0 {
			return nil, fmt.Errorf("%w: label CSV line %d: want path,label", ErrFormat, line)
		}
		p, ls := strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:])
		label, err := strconv.Atoi(ls)
		if err != nil {
			if len(out) == 0 && len(seen) == 0 && line == firstLine(data) {
				seen["\x00header"] = true
				continue
			}
			return nil, fmt.Errorf("%w: label CSV line %d: label %q is not an integer", ErrFormat, line, ls)
		}
		clean := path.Clean(p)
		if p == "" || strings.HasPrefix(p, "/") || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
			return nil, fmt.Errorf("%w: label CSV line %d: bad path %q", ErrFormat, line, p)
		}
		if seen[clean] {
			return nil, fmt.Errorf("%w: label CSV line %d: path %q listed twice", ErrFormat, line, p)
		}
		seen[clean] = true
		out = append(out, LabeledPath{Path: clean, Label: label})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: label CSV: %v", ErrFormat, err)
	}
	slices.SortFunc(out, func(a, b LabeledPath) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// firstLine returns the number of the first non-blank line.
func firstLine(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			return i + 1
		}
	}
	return 0
}

// readConcurrency is the number of image files read at once.
const readConcurrency = 16

func loadFolder(ctx context.Context, src Source, spec Spec) (*Set, error) {
	prefix := ""
	if f := strings.Trim(path.Clean("/"+spec.Files.Folder), "/"); f != "" {
		prefix = f + "/"
	}
	set := &Set{}
	var synsets map[string]int
	if lf := spec.LabelFile; lf != nil {
		data, err := src.ReadAll(ctx, lf.Path)
		if err != nil {
			return nil, err
		}
		switch lf.Format {
		case LabelsCSV:
			rows, err := ParseLabelCSV(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", lf.Path, err)
			}
			for _, r := range rows {
				if strings.HasPrefix(r.Path, prefix) {
					set.entries = append(set.entries, entry{id: r.Path, label: r.Label})
				}
			}
			return set, readImages(ctx, src, set)
		case LabelsSynsets:
			names, err := ParseSynsets(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", lf.Path, err)
			}
			synsets = map[string]int{}
			for i, n := range names {
				synsets[n] = i
			}
		}
	}
	keys, err := src.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var classOf []string
	for _, k := range keys {
		if !isImage(k) {
			continue
		}
		rel := strings.TrimPrefix(k, prefix)
		class := ""
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			class = rel[:i]
		} else if synsets != nil {
			class, _, _ = strings.Cut(rel, "_")
			class = strings.TrimSuffix(class, path.Ext(class))
		}
		set.entries = append(set.entries, entry{id: k})
		classOf = append(classOf, class)
	}
	if len(set.entries) == 0 {
		where := "in the dataset's folder"
		if prefix != "" {
			where = fmt.Sprintf("under %q", strings.TrimSuffix(prefix, "/"))
		}
		return nil, failure.Errorf(failure.BadData, "no images (%s) %s", strings.Join(ImageExts, ", "), where)
	}
	index := synsets
	if index == nil {
		if index, err = folderClasses(classOf, spec.Classes, prefix); err != nil {
			return nil, err
		}
	}
	for i := range set.entries {
		e := &set.entries[i]
		c := classOf[i]
		l, ok := index[c]
		switch {
		case c == "":
			e.err = "image is not in a class folder"
		case !ok:
			e.err = fmt.Sprintf("class %q is not in the label file", c)
		default:
			e.label = l
		}
	}
	return set, readImages(ctx, src, set)
}

// folderClasses maps class folder names to labels: the names themselves when
// all are decimal integers, otherwise their index in sorted order, which
// then requires exactly `classes` folders.
func folderClasses(classOf []string, classes int, prefix string) (map[string]int, error) {
	index := map[string]int{}
	var names []string
	numeric := true
	for _, c := range classOf {
		if c == "" {
			continue
		}
		if _, ok := index[c]; !ok {
			index[c] = 0
			names = append(names, c)
			if n, err := strconv.Atoi(c); err != nil || n < 0 || strconv.Itoa(n) != c {
				numeric = false
			}
		}
	}
	if numeric {
		for _, c := range names {
			index[c], _ = strconv.Atoi(c)
		}
		return index, nil
	}
	if len(names) != classes {
		return nil, fmt.Errorf("found %d class folders under %q but classes is %d; add a label_file to fix the class order", len(names), prefix, classes)
	}
	slices.Sort(names)
	for i, c := range names {
		index[c] = i
	}
	return index, nil
}

// readImages reads the encoded bytes of every good entry (keyed by id). A
// missing file makes its sample bad; any other read error fails the load.
func readImages(ctx context.Context, src Source, set *Set) error {
	return parallel(ctx, len(set.entries), readConcurrency, func(i int) error {
		e := &set.entries[i]
		if e.err != "" {
			return nil
		}
		data, err := src.ReadAll(ctx, e.id)
		if errors.Is(err, fs.ErrNotExist) {
			e.err = "file not found"
			return nil
		}
		if err != nil {
			return err
		}
		e.encoded = data
		return nil
	})
}
