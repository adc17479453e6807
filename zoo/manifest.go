package zoo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/failure"
)

// FileName is the manifest's name at the root of a zoo.
const FileName = "zoo.yaml"

// ErrManifest is wrapped by every manifest validation error.
var ErrManifest = failure.Errorf(failure.Config, "zoo manifest")

// Manifest is a parsed zoo manifest.
type Manifest struct {
	// Name is an optional label for the zoo.
	Name     string              `yaml:"name,omitempty"`
	Datasets map[string]*Dataset `yaml:"datasets"`
	Models   []*Model            `yaml:"models"`
}

// Dataset is a labeled image dataset with a calibration and an evaluation
// split, given either explicitly (Calibration and Evaluation name different
// files) or by a rule (the inline Files name the whole source and Split
// cuts it in two).
type Dataset struct {
	// Format is the storage format (dataset.Formats).
	Format string `yaml:"format"`
	// Classes is the number of label classes; labels must lie in [0, Classes).
	Classes int `yaml:"classes"`
	// Location is the dataset's folder: a path relative to the manifest
	// (default: the manifest's folder) or, when outside locations are
	// allowed, a URL. Every file below is a key relative to it.
	Location string `yaml:"location,omitempty"`
	// LabelFile gives image-folder labels (a synset list or a CSV).
	LabelFile *dataset.LabelFile `yaml:"label_file,omitempty"`
	// Files names the whole source when Split is used.
	dataset.Files `yaml:",inline"`
	Split         *SplitRule `yaml:"split,omitempty"`
	Calibration   *Split     `yaml:"calibration,omitempty"`
	Evaluation    *Split     `yaml:"evaluation,omitempty"`
}

// Split names the files of one split, relative to the dataset's folder.
type Split = dataset.Files

// SplitRule cuts one source in two by the canonical sample order (see
// dataset.Load): the first Calibration samples calibrate, the next
// Evaluation samples (0: all the rest) evaluate.
type SplitRule struct {
	Calibration int `yaml:"calibration"`
	Evaluation  int `yaml:"evaluation,omitempty"`
}

// Source returns the dataset.Spec of one split ("calibration" or
// "evaluation") and the range [from, to) of its canonical order that the
// split uses (to 0: the end).
func (d *Dataset) Source(which string) (spec dataset.Spec, from, to int) {
	spec = dataset.Spec{Format: dataset.Format(d.Format), Classes: d.Classes, LabelFile: d.LabelFile}
	if d.Split != nil {
		spec.Files = d.Files
		if which == "calibration" {
			return spec, 0, d.Split.Calibration
		}
		to = 0
		if d.Split.Evaluation > 0 {
			to = d.Split.Calibration + d.Split.Evaluation
		}
		return spec, d.Split.Calibration, to
	}
	if which == "calibration" && d.Calibration != nil {
		spec.Files = *d.Calibration
	} else if d.Evaluation != nil {
		spec.Files = *d.Evaluation
	}
	return spec, 0, 0
}

// Model is one model of the zoo.
type Model struct {
	// Name identifies the model in reports and output file names.
	Name string `yaml:"name"`
	// File is the model's location relative to the manifest's folder.
	File string `yaml:"file"`
	// Format is "onnx" (the default) or "tf-graphdef" (a TensorFlow
	// frozen GraphDef, .pb).
	Format string `yaml:"format,omitempty"`
	// Dataset names an entry of Datasets.
	Dataset string `yaml:"dataset"`
	// Input names the graph input that receives images; empty means the
	// model's only input.
	Input string `yaml:"input,omitempty"`
	// Output names the graph output holding class scores; empty means the
	// model's first output.
	Output     string             `yaml:"output,omitempty"`
	Preprocess dataset.Preprocess `yaml:"preprocess,omitempty"`
	// LabelOffset is added to a dataset label to get the model's class
	// index: 1 for 1001-class models whose class 0 is "background".
	LabelOffset int `yaml:"label_offset,omitempty"`
}

// ModelFormats are the model formats a manifest may name, the default
// first (the names of package formats).
var ModelFormats = []string{"onnx", "tf-graphdef"}

// Options relax the manifest checks.
type Options struct {
	// AllowOutside accepts locations outside the zoo folder: URLs,
	// absolute paths and paths climbing out with "..". Refused by default.
	AllowOutside bool
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Parse decodes and validates a manifest with default options. Unknown
// fields are errors.
func Parse(data []byte) (*Manifest, error) {
	return ParseWith(data, Options{})
}

// ParseWith decodes and validates a manifest.
//
// An unknown field is named by its manifest path, with the closest known
// field and the line: `line 14: models[2] (resnet).preprocess.mena:
// unknown field, did you mean mean?`.
func ParseWith(data []byte, opt Options) (*Manifest, error) {
	var doc yaml.Node
	synErr := yaml.Unmarshal(data, &doc)
	parsed := synErr == nil
	if !parsed {
		if line := syntaxErrorLine(data); line > 0 {
			msg := strings.TrimPrefix(synErr.Error(), "yaml: ")
			if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
				msg = rest
			}
			return nil, fmt.Errorf("%w: line %d: %s (check the indentation of line %d)", ErrManifest, line, msg, line)
		}
	}
	if parsed {
		if err := checkFields(&doc, reflect.TypeFor[Manifest]()); err != nil {
			return nil, err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrManifest)
		}
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.ValidateWith(opt); err != nil {
		if parsed {
			// Validation names the field by its path; add its line.
			return nil, withLine(&doc, err)
		}
		return nil, err
	}
	return &m, nil
}

// syntaxErrorLine returns the line a YAML syntax error is on: the first
// line whose addition makes the text before it stop parsing. yaml.v3
// reports some errors (a key indented one space less than its siblings) at
// the line where the enclosing block starts, which sends the reader to the
// wrong place. It returns 0 when every prefix parses.
func syntaxErrorLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 5000 {
		return 0 // not worth the quadratic search
	}
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		var n yaml.Node
		if yaml.Unmarshal(prefix, &n) != nil {
			return i + 1
		}
	}
	return 0
}

// Validate checks the manifest with default options (see ValidateWith).
func (m *Manifest) Validate() error { return m.ValidateWith(Options{}) }

// ValidateWith checks the manifest and fills defaults (model format "onnx").
func (m *Manifest) ValidateWith(opt Options) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, args...))
	}
	if len(m.Models) == 0 {
		return bad("no models listed")
	}
	for _, name := range m.DatasetNames() {
		d := m.Datasets[name]
		where := fmt.Sprintf("datasets.%s", name)
		if d == nil {
			return bad("%s: empty entry", where)
		}
		if !slices.Contains(dataset.Formats, dataset.Format(d.Format)) {
			return bad("%s.format: %q is not supported (supported: %s)", where, d.Format, formatList())
		}
		if d.Classes <= 0 {
			return bad("%s.classes: must be positive, have %d", where, d.Classes)
		}
		if d.Location != "" {
			if err := checkLocation(d.Location, opt.AllowOutside); err != nil {
				return bad("%s.location: %v", where, err)
			}
		}
		if lf := d.LabelFile; lf != nil {
			if err := checkKey(lf.Path); err != nil {
				return bad("%s.label_file.path: %v", where, err)
			}
		}
		if d.Split != nil {
			if d.Calibration != nil || d.Evaluation != nil {
				return bad("%s: give split or calibration and evaluation, not both", where)
			}
			if d.Split.Calibration <= 0 {
				return bad("%s.split.calibration: must be positive, have %d", where, d.Split.Calibration)
			}
			if d.Split.Evaluation < 0 {
				return bad("%s.split.evaluation: must not be negative, have %d", where, d.Split.Evaluation)
			}
			if err := checkFiles(d.Files); err != nil {
				return bad("%s.%v", where, err)
			}
			spec, _, _ := d.Source("calibration")
			if err := spec.Check(); err != nil {
				return bad("%s: %v", where, err)
			}
			continue
		}
		if d.Files.Images != "" || d.Files.Labels != "" || len(d.Files.Files) > 0 || d.Files.Folder != "" {
			return bad("%s: images, labels, files and folder at dataset level need a split rule; put them under calibration and evaluation", where)
		}
		for _, sp := range []struct {
			name string
			s    *Split
		}{{"calibration", d.Calibration}, {"evaluation", d.Evaluation}} {
			if sp.s == nil {
				return bad("%s.%s: missing", where, sp.name)
			}
			if err := checkFiles(*sp.s); err != nil {
				return bad("%s.%s.%v", where, sp.name, err)
			}
			spec, _, _ := d.Source(sp.name)
			if err := spec.Check(); err != nil {
				return bad("%s.%s: %v", where, sp.name, err)
			}
		}
		if err := disjoint(*d.Calibration, *d.Evaluation); err != nil {
			return bad("%s: %v", where, err)
		}
	}
	seen := map[string]bool{}
	for i, md := range m.Models {
		where := fmt.Sprintf("models[%d]", i)
		if md == nil {
			return bad("%s: empty entry", where)
		}
		if !nameRE.MatchString(md.Name) {
			return bad("%s.name: %q must be letters, digits, '.', '_' or '-'", where, md.Name)
		}
		where = fmt.Sprintf("models[%d] (%s)", i, md.Name)
		if seen[md.Name] {
			return bad("%s.name: duplicate model name", where)
		}
		seen[md.Name] = true
		if err := checkLocation(md.File, opt.AllowOutside); err != nil {
			return bad("%s.file: %v", where, err)
		}
		if md.Format == "" {
			md.Format = "onnx"
		}
		if !slices.Contains(ModelFormats, md.Format) {
			return bad("%s.format: %q is not supported (supported: %s)", where, md.Format, strings.Join(ModelFormats, ", "))
		}
		if _, ok := m.Datasets[md.Dataset]; !ok {
			return bad("%s.dataset: %q is not listed under datasets", where, md.Dataset)
		}
		if md.LabelOffset < 0 || md.LabelOffset > 1<<20 {
			return bad("%s.label_offset: %d is out of range", where, md.LabelOffset)
		}
		// The channel count is checked against the images when they are read.
		if err := md.Preprocess.Validate(max(len(md.Preprocess.Mean), len(md.Preprocess.Std), 1)); err != nil {
			return bad("%s.%v", where, err)
		}
	}
	return nil
}

func formatList() string {
	var s []string
	for _, f := range dataset.Formats {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// checkFiles checks the keys of a Files block; they are relative to the
// dataset folder and may never leave it.
func checkFiles(f dataset.Files) error {
	for field, k := range map[string]string{"images": f.Images, "labels": f.Labels} {
		if k != "" {
			if err := checkKey(k); err != nil {
				return fmt.Errorf("%s: %v", field, err)
			}
		}
	}
	for i, k := range f.Files {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("files[%d]: %v", i, err)
		}
	}
	if f.Folder != "" && f.Folder != "." {
		if err := checkKey(strings.TrimSuffix(f.Folder, "/")); err != nil {
			return fmt.Errorf("folder: %v", err)
		}
	}
	return nil
}

// disjoint refuses explicit splits that read the same files.
func disjoint(a, b dataset.Files) error {
	clean := func(s string) string { return path.Clean(s) }
	switch {
	case a.Images != "" && clean(a.Images) == clean(b.Images):
		return fmt.Errorf("calibration and evaluation read the same images %q", a.Images)
	case a.Labels != "" && a.Images == "" && clean(a.Labels) == clean(b.Labels):
		return fmt.Errorf("calibration and evaluation read the same labels %q", a.Labels)
	}
	for _, x := range a.Files {
		for _, y := range b.Files {
			if clean(x) == clean(y) {
				return fmt.Errorf("calibration and evaluation both list %q", x)
			}
		}
	}
	fa, fb := folderKey(a.Folder), folderKey(b.Folder)
	if len(a.Files) == 0 && len(b.Files) == 0 && a.Images == "" && b.Images == "" &&
		(strings.HasPrefix(fa, fb) || strings.HasPrefix(fb, fa)) {
		return fmt.Errorf("calibration folder %q and evaluation folder %q overlap; use a split rule to divide one folder", a.Folder, b.Folder)
	}
	return nil
}

func folderKey(f string) string {
	f = strings.Trim(path.Clean("/"+f), "/")
	if f == "" {
		return ""
	}
	return f + "/"
}

// checkKey accepts clean relative slash-separated paths that stay inside
// their folder.
func checkKey(k string) error {
	if k == "" {
		return errors.New("missing")
	}
	if strings.Contains(k, "://") || strings.HasPrefix(k, "/") || strings.Contains(k, `\`) {
		return fmt.Errorf("%q must be a path relative to the dataset folder", k)
	}
	clean := path.Clean(k)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%q escapes the dataset folder", k)
	}
	return nil
}

// checkLocation refuses empty locations and, unless allowOutside, absolute
// paths, URLs and paths that climb out of the zoo.
func checkLocation(loc string, allowOutside bool) error {
	if loc == "" {
		return errors.New("missing")
	}
	if strings.Contains(loc, `\`) {
		return fmt.Errorf("%q: use forward slashes", loc)
	}
	if allowOutside {
		return nil
	}
	if strings.Contains(loc, "://") || strings.HasPrefix(loc, "/") {
		return fmt.Errorf("%q must be a path relative to the manifest (URLs and absolute paths need the allow-outside option: --allow-outside, or allow_outside: true in a job spec)", loc)
	}
	clean := path.Clean(loc)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%q escapes the zoo (allowed only with the allow-outside option: --allow-outside, or allow_outside: true in a job spec)", loc)
	}
	return nil
}

// DatasetNames returns the dataset names sorted.
func (m *Manifest) DatasetNames() []string {
	names := make([]string, 0, len(m.Datasets))
	for k := range m.Datasets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
