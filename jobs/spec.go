package jobs

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/transforms"
)

// Job names of a spec file.
const (
	JobQuantizeZoo = "quantize-zoo"
	JobEvaluate    = "evaluate"
	JobCalibrate   = "calibrate"
)

// JobNames lists the jobs a spec file may name.
var JobNames = []string{JobQuantizeZoo, JobEvaluate, JobCalibrate}

// Spec is a job-spec file: everything a scheduled run needs. Its YAML form
// (docs/scheduling.md) is:
//
//	job: quantize-zoo            # quantize-zoo, evaluate or calibrate
//	zoo: gs://models/zoo
//	out: gs://models/runs/nightly
//	runner: dataflow             # default prism
//	beam:                        # any Beam option, by its flag name
//	  project: my-project
//	  region: europe-west1
//	  staging_location: gs://models/staging
//	calibration: {method: percentile, percentile: 99.99, samples: 1000, recalibrate: false}
//	evaluation: {samples: 2000}
//	quantize: {scheme: u8s8-channel, format: qdq, weight_ranges: minmax, exclude_op_types: [Softmax]}
//	sweep: [{scheme: u8s8-channel}, {scheme: s8s8-channel, format: qoperator}]
//	gates: {max_top1_drop: 0.01, min_agreement: 0.99}   # quantize-zoo: exit 1 on a failed gate
//	allow_outside: false         # accept manifest locations outside the zoo folder
//	shard_size: 250
//	verbose: false
//	force: false
//
// Unknown fields are errors. Command-line flags override the file.
type Spec struct {
	Job    string `yaml:"job"`
	Zoo    string `yaml:"zoo"`
	Out    string `yaml:"out"`
	Runner string `yaml:"runner"`
	// Beam holds Beam pipeline options by flag name (endpoint,
	// environment_type, project, region, staging_location, ...).
	Beam        map[string]string `yaml:"beam"`
	Calibration CalibrationSpec   `yaml:"calibration"`
	Evaluation  EvaluationSpec    `yaml:"evaluation"`
	Quantize    QuantizeSpec      `yaml:"quantize"`
	// Sweep lists quantizer settings to run every model with, side by side
	// (quantize-zoo; see QuantizeZoo.Sweep); unset fields take the quantize
	// block's values.
	Sweep     []QuantizeSpec `yaml:"sweep"`
	ShardSize int            `yaml:"shard_size"`
	// BatchSize is the samples per inference call (0: 50).
	BatchSize int  `yaml:"batch_size"`
	Verbose   bool `yaml:"verbose"`
	// Force runs every model again (quantize-zoo; see QuantizeZoo.Force).
	Force bool `yaml:"force"`
	// Gates are quality gates (quantize-zoo; see QuantizeZoo.MaxTop1Drop).
	Gates GatesSpec `yaml:"gates"`
	// AllowOutside accepts manifest locations outside the zoo folder (URLs,
	// absolute paths, ..).
	AllowOutside bool `yaml:"allow_outside"`
}

// GatesSpec is the gates block of a spec file: fractions, unset for no
// gate.
type GatesSpec struct {
	// MaxTop1Drop fails a model whose int8 top-1 is more than this below
	// float (0.01 = 1 point).
	MaxTop1Drop *float64 `yaml:"max_top1_drop"`
	// MinAgreement fails a model whose int8 and float predictions agree on
	// less than this share of samples.
	MinAgreement *float64 `yaml:"min_agreement"`
}

// CalibrationSpec is the calibration block of a spec file.
type CalibrationSpec struct {
	// Method is minmax (default), percentile, entropy or mse.
	Method     string  `yaml:"method"`
	Percentile float64 `yaml:"percentile"`
	// Samples caps the calibration samples per model, chosen by a hash of
	// their ids: a count, or all (or 0) for the whole split; absent means
	// DefaultCalibSamples.
	Samples     SampleLimit `yaml:"samples"`
	Recalibrate bool        `yaml:"recalibrate"`
	// AllowNonFinite calibrates on the finite values of activations that
	// hold NaN or ±Inf instead of failing the model.
	AllowNonFinite bool `yaml:"allow_nonfinite"`
}

// QuantizeSpec is the quantize block of a spec file (quantize-zoo only);
// empty fields take the quantizer's defaults.
type QuantizeSpec struct {
	Scheme          string   `yaml:"scheme"`
	Format          string   `yaml:"format"`
	ExcludeNodes    []string `yaml:"exclude_nodes"`
	ExcludeOpTypes  []string `yaml:"exclude_op_types"`
	AllowContribOps bool     `yaml:"allow_contrib_ops"`
	WeightRanges    string   `yaml:"weight_ranges"`
	// CLE applies cross-layer equalization before calibration.
	CLE bool `yaml:"cle"`
}

// options converts the block for the job.
func (q QuantizeSpec) options() transforms.QuantizeOptions {
	return transforms.QuantizeOptions{Scheme: q.Scheme, Format: q.Format, ExcludeNodes: q.ExcludeNodes,
		ExcludeOpTypes: q.ExcludeOpTypes, AllowContribOps: q.AllowContribOps, WeightRanges: q.WeightRanges, CLE: q.CLE}
}

func (q QuantizeSpec) empty() bool {
	return q.Scheme == "" && q.Format == "" && len(q.ExcludeNodes) == 0 && len(q.ExcludeOpTypes) == 0 && !q.AllowContribOps && q.WeightRanges == "" && !q.CLE
}

// EvaluationSpec is the evaluation block of a spec file.
type EvaluationSpec struct {
	// Samples caps the evaluation samples per model (0: all).
	Samples int `yaml:"samples"`
	// Speed times inference and reports it (quantize-zoo only).
	Speed bool `yaml:"speed"`
}

// ParseSpec decodes a spec file and checks it (see Spec.Validate for what
// is checked). Errors wrap ErrConfig and name the field.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: job spec: empty file", ErrConfig)
		}
		return nil, fmt.Errorf("%w: job spec: %v", ErrConfig, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: job spec: more than one YAML document", ErrConfig)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// ReadSpec reads and parses a spec file from a local path or a URL
// (file://, s3://, gs://, azblob://, mem://).
func ReadSpec(ctx context.Context, location string) (*Spec, error) {
	dir, key, err := storage.Split(location)
	if err != nil {
		return nil, fmt.Errorf("%w: job spec %s: %v", ErrConfig, location, err)
	}
	b, err := storage.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: job spec %s: %v", ErrConfig, location, err)
	}
	data, err := b.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%w: job spec %s: %v", ErrConfig, location, err)
	}
	s, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	return s, nil
}

func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: job spec: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

// check validates what the file alone decides: the job name, the values and
// which settings the job uses. Required fields that flags may still supply
// (zoo, out) are checked by Validate.
func (s *Spec) check() error {
	switch s.Job {
	case JobQuantizeZoo, JobEvaluate, JobCalibrate:
	case "":
		return fieldErr("job", "missing (want %s)", strings.Join(JobNames, ", "))
	default:
		return fieldErr("job", "%q, want %s", s.Job, strings.Join(JobNames, ", "))
	}
	if s.Runner != "" {
		if err := pipeline.CheckRunner(s.Runner); err != nil {
			return fieldErr("runner", "%v", err)
		}
	}
	names := make([]string, 0, len(s.Beam))
	for k := range s.Beam {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case k == "runner":
			return fieldErr("beam.runner", "set the runner with the top-level runner field")
		case flag.CommandLine.Lookup(k) == nil:
			return fieldErr("beam."+k, "not a Beam pipeline option")
		}
	}
	c := s.Calibration
	if c.Method != "" {
		if _, err := calibrate.ParseMethod(c.Method); err != nil {
			return fieldErr("calibration.method", "%q, want minmax, percentile, entropy or mse", c.Method)
		}
	}
	if c.Percentile != 0 {
		if c.Method != string(calibrate.MethodPercentile) {
			return fieldErr("calibration.percentile", "needs method: percentile")
		}
		if !(c.Percentile > 0 && c.Percentile <= 100) {
			return fieldErr("calibration.percentile", "%v, want a percentage in (0, 100]", c.Percentile)
		}
	}
	if c.Samples.N < 0 {
		return fieldErr("calibration.samples", "%d, want >= 0 or all", c.Samples.N)
	}
	if s.Evaluation.Samples < 0 {
		return fieldErr("evaluation.samples", "%d, want >= 0", s.Evaluation.Samples)
	}
	if s.ShardSize < 0 {
		return fieldErr("shard_size", "%d, want >= 0", s.ShardSize)
	}
	if s.BatchSize < 0 {
		return fieldErr("batch_size", "%d, want >= 0", s.BatchSize)
	}
	if s.Job != "" && s.Job != JobQuantizeZoo && !s.Quantize.empty() {
		return fieldErr("quantize", "only used by the quantize-zoo job")
	}
	if s.Job != "" && s.Job != JobQuantizeZoo && len(s.Sweep) > 0 {
		return fieldErr("sweep", "only used by the quantize-zoo job")
	}
	for i, q := range s.Sweep {
		if q.Scheme != "" && !slices.Contains(quantize.Schemes(), q.Scheme) {
			return fieldErr(fmt.Sprintf("sweep[%d].scheme", i), "%q, want one of %v", q.Scheme, quantize.Schemes())
		}
		if q.Format != "" && !slices.Contains(quantize.Formats(), q.Format) {
			return fieldErr(fmt.Sprintf("sweep[%d].format", i), "%q, want one of %v", q.Format, quantize.Formats())
		}
	}
	if s.Job != "" && s.Job != JobQuantizeZoo && s.Force {
		return fieldErr("force", "only used by the quantize-zoo job")
	}
	if s.Job != "" && s.Job != JobQuantizeZoo && (s.Gates.MaxTop1Drop != nil || s.Gates.MinAgreement != nil) {
		return fieldErr("gates", "only used by the quantize-zoo job")
	}
	for _, g := range []struct {
		name string
		v    *float64
	}{{"gates.max_top1_drop", s.Gates.MaxTop1Drop}, {"gates.min_agreement", s.Gates.MinAgreement}} {
		if g.v != nil && !(*g.v >= 0 && *g.v <= 1) {
			return fieldErr(g.name, "%v, want a fraction in [0, 1]", *g.v)
		}
	}
	q := s.Quantize
	if q.Scheme != "" && !slices.Contains(quantize.Schemes(), q.Scheme) {
		return fieldErr("quantize.scheme", "%q, want one of %v", q.Scheme, quantize.Schemes())
	}
	if q.Format != "" && !slices.Contains(quantize.Formats(), q.Format) {
		return fieldErr("quantize.format", "%q, want one of %v", q.Format, quantize.Formats())
	}
	switch q.WeightRanges {
	case "", quantize.WeightRangesMinMax, quantize.WeightRangesMSE:
	default:
		return fieldErr("quantize.weight_ranges", "%q, want %s or %s", q.WeightRanges, quantize.WeightRangesMinMax, quantize.WeightRangesMSE)
	}
	switch s.Job {
	case JobEvaluate:
		if c != (CalibrationSpec{}) {
			return fieldErr("calibration", "not used by the evaluate job")
		}
	case JobCalibrate:
		if s.Evaluation != (EvaluationSpec{}) {
			return fieldErr("evaluation", "not used by the calibrate job")
		}
	}
	return nil
}

// Validate checks the spec once flags have been applied: everything
// ParseSpec checks, plus the required zoo and out, and the settings the
// Dataflow runner needs (from the beam block or Beam's flags).
func (s *Spec) Validate() error {
	if err := s.check(); err != nil {
		return err
	}
	if s.Zoo == "" {
		return fieldErr("zoo", "missing")
	}
	if s.Out == "" {
		return fieldErr("out", "missing")
	}
	if pipeline.RunnerName(s.Runner) == "dataflow" {
		for _, k := range []string{"project", "region", "staging_location"} {
			if s.beamOption(k) == "" {
				return fieldErr("beam."+k, "required by the dataflow runner")
			}
		}
		for _, k := range []string{"zoo", "out"} {
			v := s.Zoo
			if k == "out" {
				v = s.Out
			}
			if !strings.HasPrefix(v, "gs://") {
				return fieldErr(k, "%q: the dataflow runner needs a gs:// URL its workers can read", v)
			}
		}
	}
	return nil
}

// beamOption returns a Beam option from the spec or, failing that, Beam's
// flag.
func (s *Spec) beamOption(name string) string {
	if v := s.Beam[name]; v != "" {
		return v
	}
	if f := flag.CommandLine.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// ApplyBeamOptions sets Beam's flags from the spec's runner and beam
// block. Call it before parsing command-line flags, so that they override
// the file.
func (s *Spec) ApplyBeamOptions() error {
	if s.Runner != "" {
		if err := flag.CommandLine.Set("runner", s.Runner); err != nil {
			return fieldErr("runner", "%v", err)
		}
	}
	names := make([]string, 0, len(s.Beam))
	for k := range s.Beam {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := flag.CommandLine.Set(k, s.Beam[k]); err != nil {
			return fieldErr("beam."+k, "%v", err)
		}
	}
	return nil
}

// NewJob returns the job the spec describes. The runner comes from Beam's
// --runner flag (see ApplyBeamOptions) unless runner is given.
func (s *Spec) NewJob(runner string) (Job, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := s.Calibration
	switch s.Job {
	case JobEvaluate:
		return &Evaluate{Zoo: s.Zoo, Out: s.Out, Runner: runner, EvalSamples: s.Evaluation.Samples, ShardSize: s.ShardSize, BatchSize: s.BatchSize,
			AllowOutside: s.AllowOutside}, nil
	case JobCalibrate:
		return &Calibrate{Zoo: s.Zoo, Out: s.Out, Runner: runner, CalibSamples: c.Samples.Or(DefaultCalibSamples), ShardSize: s.ShardSize, BatchSize: s.BatchSize,
			Calibration: c.Method, Percentile: c.Percentile, Recalibrate: c.Recalibrate, AllowNonFinite: c.AllowNonFinite, AllowOutside: s.AllowOutside}, nil
	default:
		q := s.Quantize
		var sweep []transforms.QuantizeOptions
		for _, v := range s.Sweep {
			o := q.options()
			if v.Scheme != "" {
				o.Scheme = v.Scheme
			}
			if v.Format != "" {
				o.Format = v.Format
			}
			if v.WeightRanges != "" {
				o.WeightRanges = v.WeightRanges
			}
			if len(v.ExcludeNodes) > 0 {
				o.ExcludeNodes = v.ExcludeNodes
			}
			if len(v.ExcludeOpTypes) > 0 {
				o.ExcludeOpTypes = v.ExcludeOpTypes
			}
			o.AllowContribOps = o.AllowContribOps || v.AllowContribOps
			o.CLE = o.CLE || v.CLE
			sweep = append(sweep, o)
		}
		return &QuantizeZoo{Sweep: sweep, BatchSize: s.BatchSize, Zoo: s.Zoo, Out: s.Out, Runner: runner, CalibSamples: c.Samples.Or(DefaultCalibSamples), EvalSamples: s.Evaluation.Samples,
			ShardSize: s.ShardSize, Calibration: c.Method, Percentile: c.Percentile, Recalibrate: c.Recalibrate, AllowNonFinite: c.AllowNonFinite, Force: s.Force,
			MeasureSpeed: s.Evaluation.Speed, AllowOutside: s.AllowOutside,
			MaxTop1Drop: s.Gates.MaxTop1Drop, MinAgreement: s.Gates.MinAgreement,
			Quantize: transforms.QuantizeOptions{Scheme: q.Scheme, Format: q.Format, ExcludeNodes: q.ExcludeNodes,
				ExcludeOpTypes: q.ExcludeOpTypes, AllowContribOps: q.AllowContribOps, WeightRanges: q.WeightRanges, CLE: q.CLE}}, nil
	}
}
