package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/formats"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/zoo"
)

func init() {
	register.DoFn3x1[context.Context, string, func(ModelTask), error](&readZooFn{})
	register.Emitter1[ModelTask]()
}

// ZooOptions are the job settings that every model task carries.
type ZooOptions struct {
	OutURL       string
	RunID        string
	CalibSamples int
	EvalSamples  int
	ShardSize    int
	// MeasureSpeed: see ModelTask.MeasureSpeed.
	MeasureSpeed bool
	// BatchSize: see ModelTask.BatchSize.
	BatchSize int
	// Sweep, when set, runs every model once per quantizer setting listed
	// (instead of once with Quantize), as models named
	// "<model>@<setting label>" (QuantizeOptions.Label), side by side in
	// the report.
	Sweep []QuantizeOptions
	// AllowOutside accepts manifest locations outside the zoo folder (URLs,
	// absolute paths, ".."); see zoo.Options.
	AllowOutside bool
	// Quantize are the quantizer settings applied to every model.
	Quantize QuantizeOptions
}

// QuantizeOptions are the quantizer settings of a job (see
// quantize.Options); empty values mean the quantizer's defaults.
type QuantizeOptions struct {
	Scheme          string
	Format          string
	ExcludeNodes    []string
	ExcludeOpTypes  []string
	AllowContribOps bool
	// WeightRanges is quantize.Options.WeightRanges ("minmax" or "mse").
	WeightRanges string
	// CLE applies cross-layer equalization (quantize.Equalize) to the
	// prepared model before it is calibrated and quantized; the float
	// model evaluated against stays the original.
	CLE bool `json:",omitempty"`
}

// options converts the settings for the quantize package.
func (o QuantizeOptions) options() quantize.Options {
	return quantize.Options{
		Scheme:          quantize.Scheme(o.Scheme),
		Format:          quantize.Format(o.Format),
		ExcludeNodes:    o.ExcludeNodes,
		ExcludeOpTypes:  o.ExcludeOpTypes,
		AllowContribOps: o.AllowContribOps,
		WeightRanges:    o.WeightRanges,
	}
}

// Label names a setting in sweep model names: the scheme, then what differs
// from the defaults, joined by '+' (u8s8-channel, s8s8-channel+qoperator,
// u8s8-channel+mse+excluded-2).
func (o QuantizeOptions) Label() string {
	parts := []string{o.scheme()}
	if f := o.format(); f != string(quantize.FormatQDQ) {
		parts = append(parts, f)
	}
	if o.WeightRanges != "" && o.WeightRanges != quantize.WeightRangesMinMax {
		parts = append(parts, o.WeightRanges)
	}
	if o.AllowContribOps {
		parts = append(parts, "contrib")
	}
	if o.CLE {
		parts = append(parts, "cle")
	}
	if n := len(o.ExcludeNodes) + len(o.ExcludeOpTypes); n > 0 {
		parts = append(parts, fmt.Sprintf("excluded-%d", n))
	}
	return strings.Join(parts, "+")
}

// scheme and format name the settings in reports.
func (o QuantizeOptions) scheme() string {
	if o.Scheme == "" {
		return string(quantize.SchemeU8S8Channel)
	}
	return o.Scheme
}

func (o QuantizeOptions) format() string {
	if o.Format == "" {
		return string(quantize.FormatQDQ)
	}
	return o.Format
}

// SplitZooURL splits a zoo location into the folder URL and the manifest
// key: a URL whose path ends in .yaml or .yml names the manifest itself;
// anything else is the zoo folder holding zoo.yaml.
func SplitZooURL(zooURL string) (folder, key string, err error) {
	u, err := url.Parse(zooURL)
	if err != nil {
		return "", "", fmt.Errorf("zoo URL %q: %w", zooURL, err)
	}
	if ext := path.Ext(strings.TrimRight(u.Path, "/")); ext == ".yaml" || ext == ".yml" {
		return storage.Split(zooURL)
	}
	return zooURL, zoo.FileName, nil
}

// ReadManifest reads and validates the manifest of a zoo with default
// options (locations outside the zoo refused).
func ReadManifest(ctx context.Context, zooURL string) (*zoo.Manifest, string, error) {
	return ReadManifestWith(ctx, zooURL, zoo.Options{})
}

// ReadManifestWith reads and validates the manifest of a zoo.
func ReadManifestWith(ctx context.Context, zooURL string, opt zoo.Options) (*zoo.Manifest, string, error) {
	folder, key, err := SplitZooURL(zooURL)
	if err != nil {
		return nil, "", err
	}
	data, err := readKey(ctx, folder, key)
	if err != nil {
		return nil, "", err
	}
	m, err := zoo.ParseWith(data, opt)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", key, err)
	}
	return m, folder, nil
}

// Tasks turns a manifest into model tasks, in manifest order.
func Tasks(m *zoo.Manifest, folder string, opt ZooOptions) ([]ModelTask, error) {
	shard := opt.ShardSize
	if shard <= 0 {
		shard = 250
	}
	resolve := storage.Join
	if opt.AllowOutside {
		resolve = storage.Resolve
	}
	var tasks []ModelTask
	for _, md := range m.Models {
		ds := m.Datasets[md.Dataset]
		pre, err := json.Marshal(md.Preprocess)
		if err != nil {
			return nil, err
		}
		dsURL := folder
		if ds.Location != "" {
			if dsURL, err = resolve(folder, ds.Location); err != nil {
				return nil, fmt.Errorf("datasets.%s.location: %w", md.Dataset, err)
			}
		}
		calib, cFrom, cTo := ds.Source(SplitCalibration)
		eval, eFrom, eTo := ds.Source(SplitEvaluation)
		calibJS, err := json.Marshal(calib)
		if err != nil {
			return nil, err
		}
		evalJS, err := json.Marshal(eval)
		if err != nil {
			return nil, err
		}
		loc, err := resolve(folder, md.File)
		if err != nil {
			return nil, fmt.Errorf("model %s: file: %w", md.Name, err)
		}
		modelFolder, modelKey := folder, md.File
		if clean := path.Clean(md.File); strings.Contains(md.File, "://") || strings.HasPrefix(clean, "/") || clean == ".." || strings.HasPrefix(clean, "../") {
			if modelFolder, modelKey, err = storage.Split(loc); err != nil {
				return nil, fmt.Errorf("model %s: file: %w", md.Name, err)
			}
		}
		var cutIn, cutOut string
		if md.Format == formats.TFGraphDef {
			cutIn, cutOut = md.Input, md.Output
		}
		base := ModelTask{
			CutInput:     cutIn,
			CutOutput:    cutOut,
			RunID:        opt.RunID,
			Name:         md.Name,
			ZooURL:       modelFolder,
			File:         modelKey,
			Dataset:      md.Dataset,
			Classes:      ds.Classes,
			CalibImages:  ds.Calibration.GetImages(),
			CalibLabels:  ds.Calibration.GetLabels(),
			EvalImages:   ds.Evaluation.GetImages(),
			EvalLabels:   ds.Evaluation.GetLabels(),
			Format:       md.Format,
			Input:        formats.ValueName(md.Format, md.Input),
			Output:       formats.ValueName(md.Format, md.Output),
			Preprocess:   pre,
			CalibSamples: opt.CalibSamples,
			EvalSamples:  opt.EvalSamples,
			MeasureSpeed: opt.MeasureSpeed,
			BatchSize:    opt.BatchSize,
			ShardSize:    shard,
			OutURL:       opt.OutURL,
			Quantize:     opt.Quantize,
			DatasetURL:   dsURL,
			CalibSpec:    calibJS,
			EvalSpec:     evalJS,
			CalibFrom:    cFrom,
			CalibTo:      cTo,
			EvalFrom:     eFrom,
			EvalTo:       eTo,
			SplitRule:    ds.Split != nil,
			LabelOffset:  md.LabelOffset,
			FileLocation: loc,
		}
		if len(opt.Sweep) == 0 {
			tasks = append(tasks, base)
			continue
		}
		seen := map[string]bool{}
		for _, q := range opt.Sweep {
			t := base
			t.Quantize = q
			t.Name, t.CalibName = md.Name+"@"+q.Label(), md.Name
			if q.CLE {
				// The equalized model has its own activation ranges.
				t.CalibName = md.Name + "+cle"
			}
			if seen[t.Name] {
				return nil, fmt.Errorf("sweep: two settings named %q", q.Label())
			}
			seen[t.Name] = true
			tasks = append(tasks, t)
		}
	}
	return tasks, nil
}

type readZooFn struct {
	Opt ZooOptions
}

func (f *readZooFn) ProcessElement(ctx context.Context, zooURL string, emit func(ModelTask)) error {
	m, folder, err := ReadManifestWith(ctx, zooURL, zoo.Options{AllowOutside: f.Opt.AllowOutside})
	if err != nil {
		return err
	}
	tasks, err := Tasks(m, folder, f.Opt)
	if err != nil {
		return err
	}
	progressOf(f.Opt.RunID).models.Add(int64(len(tasks)))
	for _, t := range tasks {
		emit(t)
	}
	return nil
}

// ReadZoo reads the zoo manifest at zooURL on a worker and emits one
// ModelTask per listed model.
func ReadZoo(s beam.Scope, zooURL string, opt ZooOptions) beam.PCollection {
	s = s.Scope("transforms.ReadZoo")
	urls := beam.Create(s, zooURL)
	return beam.ParDo(s, &readZooFn{Opt: opt}, urls)
}
