package dataset

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Format is a dataset storage format.
type Format string

// Supported formats.
const (
	FormatIDX         Format = "idx"          // MNIST-style IDX image and label files, gzip or not
	FormatCIFAR10     Format = "cifar10"      // CIFAR-10 binary batches
	FormatCIFAR100    Format = "cifar100"     // CIFAR-100 binary batches (fine labels)
	FormatTFRecord    Format = "tfrecord"     // TFRecord files of tf.train.Example
	FormatImageFolder Format = "image-folder" // JPEG/PNG files, class from sub-folder or a label file
)

// Formats lists the supported formats.
var Formats = []Format{FormatIDX, FormatCIFAR10, FormatCIFAR100, FormatTFRecord, FormatImageFolder}

// Files selects the files of a dataset source, relative to the dataset's
// folder. Which fields apply depends on the format:
//
//   - idx: Images and Labels, one IDX file each;
//   - cifar10, cifar100, tfrecord: Files, a list of keys or glob patterns
//     (path.Match syntax, matched against the listing of the pattern's
//     folder); each pattern must match at least one file;
//   - image-folder: Folder, the sub-folder holding the images ("" for the
//     dataset folder itself).
type Files struct {
	Images string   `json:"images,omitempty" yaml:"images,omitempty"`
	Labels string   `json:"labels,omitempty" yaml:"labels,omitempty"`
	Files  []string `json:"files,omitempty" yaml:"files,omitempty"`
	Folder string   `json:"folder,omitempty" yaml:"folder,omitempty"`
}

// Label file formats of image folders.
const (
	LabelsSynsets = "synsets" // line i names class i (its first word)
	LabelsCSV     = "csv"     // lines "path,label"
)

// LabelFile names the labels of an image folder.
type LabelFile struct {
	// Path is the file's key relative to the dataset folder.
	Path string `json:"path" yaml:"path"`
	// Format is LabelsSynsets or LabelsCSV.
	Format string `json:"format" yaml:"format"`
}

// Spec says how to read one dataset source.
type Spec struct {
	Format Format `json:"format"`
	// Classes bounds the labels: a label outside [0, Classes) makes its
	// sample bad.
	Classes   int        `json:"classes"`
	Files     Files      `json:"files"`
	LabelFile *LabelFile `json:"label_file,omitempty"`
}

// Check validates the spec without reading anything; field names in errors
// are the manifest's.
func (s *Spec) Check() error {
	f := s.Files
	switch s.Format {
	case FormatIDX:
		if f.Images == "" || f.Labels == "" {
			return fmt.Errorf("format idx needs images and labels")
		}
		if len(f.Files) > 0 || f.Folder != "" {
			return fmt.Errorf("format idx takes images and labels, not files or folder")
		}
	case FormatCIFAR10, FormatCIFAR100, FormatTFRecord:
		if len(f.Files) == 0 {
			return fmt.Errorf("format %s needs files", s.Format)
		}
		if f.Images != "" || f.Labels != "" || f.Folder != "" {
			return fmt.Errorf("format %s takes files, not images, labels or folder", s.Format)
		}
		for _, p := range f.Files {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return fmt.Errorf("files: bad pattern %q", p)
			}
		}
	case FormatImageFolder:
		if f.Images != "" || f.Labels != "" || len(f.Files) > 0 {
			return fmt.Errorf("format image-folder takes folder, not images, labels or files")
		}
	default:
		return fmt.Errorf("format %q is not supported (supported: %s)", s.Format, joinFormats())
	}
	if s.LabelFile != nil {
		if s.Format != FormatImageFolder {
			return fmt.Errorf("label_file applies to image-folder datasets only")
		}
		if s.LabelFile.Path == "" {
			return fmt.Errorf("label_file.path: missing")
		}
		switch s.LabelFile.Format {
		case LabelsSynsets, LabelsCSV:
		default:
			return fmt.Errorf("label_file.format: %q, want %s or %s", s.LabelFile.Format, LabelsSynsets, LabelsCSV)
		}
	}
	if s.Classes <= 0 {
		return fmt.Errorf("classes: must be positive, have %d", s.Classes)
	}
	return nil
}

func joinFormats() string {
	var s []string
	for _, f := range Formats {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// Load reads a dataset source. The canonical order of its samples is:
// image folders by sorted key (or the sorted paths of a CSV label file);
// record formats file by file (in the order listed, glob matches sorted),
// record by record. Sample ids are the image's key relative to the dataset
// folder, or "<file>#<record index>" for record formats.
//
// Whole-source failures (a missing file, an IDX image/label count mismatch,
// an unreadable label file) are errors; per-sample failures become bad
// samples (see BadSample). Encoded images are decoded once here to find the
// bad ones, then kept encoded.
func Load(ctx context.Context, src Source, spec Spec) (*Set, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	var (
		set *Set
		err error
	)
	switch spec.Format {
	case FormatIDX:
		set, err = loadIDX(ctx, src, spec.Files)
	case FormatCIFAR10, FormatCIFAR100:
		set, err = loadRecords(ctx, src, spec.Files.Files, func(name string, data []byte) []entry {
			return cifarEntries(name, data, spec.Format == FormatCIFAR100)
		})
		if err == nil {
			set.joinFixed()
		}
	case FormatTFRecord:
		set, err = loadRecords(ctx, src, spec.Files.Files, tfrecordEntries)
	case FormatImageFolder:
		set, err = loadFolder(ctx, src, spec)
	}
	if err != nil {
		return nil, err
	}
	set.checkLabels(spec.Classes)
	if err := set.validateEncoded(ctx); err != nil {
		return nil, err
	}
	return set, nil
}

func loadIDX(ctx context.Context, src Source, f Files) (*Set, error) {
	ib, err := src.ReadAll(ctx, f.Images)
	if err != nil {
		return nil, err
	}
	im, err := DecodeIDXImages(ib)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Images, err)
	}
	lb, err := src.ReadAll(ctx, f.Labels)
	if err != nil {
		return nil, err
	}
	labels, err := DecodeIDXLabels(lb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Labels, err)
	}
	if len(labels) != im.N {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", f.Images, im.N, f.Labels, len(labels))
	}
	set := &Set{entries: make([]entry, im.N)}
	base := path.Base(f.Images)
	for i := range set.entries {
		set.entries[i] = entry{id: fmt.Sprintf("%s#%d", base, i), label: labels[i], fixed: im, index: i}
	}
	return set, nil
}

// expand resolves file patterns against the source's listing.
func expand(ctx context.Context, src Source, patterns []string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") {
			out = append(out, p)
			continue
		}
		dir := path.Dir(p)
		prefix := ""
		if dir != "." {
			prefix = dir + "/"
		}
		keys, err := src.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		var hit []string
		for _, k := range keys {
			if ok, _ := path.Match(p, k); ok {
				hit = append(hit, k)
			}
		}
		if len(hit) == 0 {
			return nil, fmt.Errorf("files: pattern %q matches no file", p)
		}
		slices.Sort(hit)
		out = append(out, hit...)
	}
	return out, nil
}

// loadRecords reads record files in order and concatenates their samples.
func loadRecords(ctx context.Context, src Source, patterns []string, decode func(name string, data []byte) []entry) (*Set, error) {
	files, err := expand(ctx, src, patterns)
	if err != nil {
		return nil, err
	}
	set := &Set{}
	for _, f := range files {
		data, err := src.ReadAll(ctx, f)
		if err != nil {
			return nil, err
		}
		set.entries = append(set.entries, decode(f, data)...)
	}
	return set, nil
}

// GetImages returns f.Images, or "" when f is nil.
func (f *Files) GetImages() string {
	if f == nil {
		return ""
	}
	return f.Images
}

// GetLabels returns f.Labels, or "" when f is nil.
func (f *Files) GetLabels() string {
	if f == nil {
		return ""
	}
	return f.Labels
}
