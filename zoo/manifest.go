package zoo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/eightbitml/eightbit/dataset"
)

// FileName is the manifest's name at the root of a zoo.
const FileName = "zoo.yaml"

// ErrManifest is wrapped by every manifest validation error.
var ErrManifest = errors.New("zoo manifest")

// Manifest is a parsed zoo manifest.
type Manifest struct {
	// Name is an optional label for the zoo.
	Name     string              `yaml:"name,omitempty"`
	Datasets map[string]*Dataset `yaml:"datasets"`
	Models   []*Model            `yaml:"models"`
}

// Dataset is a labeled image dataset with a calibration and an evaluation
// split.
type Dataset struct {
	// Format is the storage format; "idx" (MNIST-style IDX files, gzip or
	// not) is the one supported so far.
	Format string `yaml:"format"`
	// Classes is the number of label classes; labels must lie in [0, Classes).
	Classes     int    `yaml:"classes"`
	Calibration *Split `yaml:"calibration"`
	Evaluation  *Split `yaml:"evaluation"`
}

// Split names the files of one split, relative to the manifest's folder.
type Split struct {
	Images string `yaml:"images"`
	Labels string `yaml:"labels"`
}

// Model is one model of the zoo.
type Model struct {
	// Name identifies the model in reports and output file names.
	Name string `yaml:"name"`
	// File is the model's location relative to the manifest's folder.
	File string `yaml:"file"`
	// Format is "onnx" (the default).
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
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Parse decodes and validates a manifest. Unknown fields are errors.
func Parse(data []byte) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrManifest)
		}
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the manifest and fills defaults (model format "onnx").
func (m *Manifest) Validate() error {
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
		if d.Format != "idx" {
			return bad("%s.format: %q is not supported (supported: idx)", where, d.Format)
		}
		if d.Classes <= 0 {
			return bad("%s.classes: must be positive, have %d", where, d.Classes)
		}
		for _, sp := range []struct {
			name string
			s    *Split
		}{{"calibration", d.Calibration}, {"evaluation", d.Evaluation}} {
			if sp.s == nil {
				return bad("%s.%s: missing", where, sp.name)
			}
			for field, loc := range map[string]string{"images": sp.s.Images, "labels": sp.s.Labels} {
				if err := checkLocation(loc); err != nil {
					return bad("%s.%s.%s: %v", where, sp.name, field, err)
				}
			}
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
		if err := checkLocation(md.File); err != nil {
			return bad("%s.file: %v", where, err)
		}
		if md.Format == "" {
			md.Format = "onnx"
		}
		if md.Format != "onnx" {
			return bad("%s.format: %q is not supported (supported: onnx)", where, md.Format)
		}
		if _, ok := m.Datasets[md.Dataset]; !ok {
			return bad("%s.dataset: %q is not listed under datasets", where, md.Dataset)
		}
		// The channel count is checked against the images when they are read.
		if err := md.Preprocess.Validate(max(len(md.Preprocess.Mean), len(md.Preprocess.Std), 1)); err != nil {
			return bad("%s.%v", where, err)
		}
	}
	return nil
}

// checkLocation refuses empty locations, absolute paths, URLs and paths
// that climb out of the zoo.
func checkLocation(loc string) error {
	if loc == "" {
		return errors.New("missing")
	}
	if strings.Contains(loc, "://") || strings.HasPrefix(loc, "/") || strings.Contains(loc, `\`) {
		return fmt.Errorf("%q must be a path relative to the manifest", loc)
	}
	clean := path.Clean(loc)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%q escapes the zoo", loc)
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
