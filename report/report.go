package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Schema identifies version 1 of the report format; it is the value of the
// top-level "schema" field.
const Schema = "eightbit.report/v1"

// Status is the outcome of one model.
type Status string

// Model statuses.
const (
	StatusOK     Status = "ok"
	StatusFailed Status = "failed"
)

// Report is the content of report.json. See the package documentation for
// the meaning of every field.
type Report struct {
	Schema          string  `json:"schema"`
	Job             string  `json:"job,omitempty"`
	Zoo             string  `json:"zoo,omitempty"`
	EightbitVersion string  `json:"eightbit_version,omitempty"`
	Models          []Model `json:"models"`
}

// Model is one row of the report: one model of the zoo.
type Model struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// Stage and ErrorKind classify a failed model's Error: the stage that
	// failed ("load", "calibrate", "quantize", "evaluate") and the failure
	// kind (package failure: "invalid-model", "non-finite", "unsupported",
	// "not-found", "bad-data", "config", "io", "internal").
	Stage     string `json:"stage,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
	File      string `json:"file,omitempty"`
	Format    string `json:"format,omitempty"`
	Dataset   string `json:"dataset,omitempty"`
	Scheme    string `json:"scheme,omitempty"`
	// WeightRanges names the weight range method when it is not min/max
	// ("mse").
	WeightRanges string `json:"weight_ranges,omitempty"`
	// Equalization is set when cross-layer equalization ran before
	// calibration (--cle).
	Equalization *Equalization  `json:"equalization,omitempty"`
	Calibration  *Calibration   `json:"calibration,omitempty"`
	Float        *Float         `json:"float,omitempty"`
	Int8         *Int8          `json:"int8,omitempty"`
	Agreement    *float64       `json:"agreement,omitempty"`
	SizeRatio    *float64       `json:"size_ratio,omitempty"`
	Ops          map[string]int `json:"ops,omitempty"`
	FailedOps    []string       `json:"failed_ops,omitempty"`

	// Evaluation detail, size, speed, per-layer attribution and gates
	// (issue 9; types in detail.go, fields in docs/report-schema.md).
	Params          int64           `json:"params,omitempty"`
	MACsPerImage    int64           `json:"macs_per_image,omitempty"`
	IntegerMACShare *float64        `json:"integer_mac_share,omitempty"`
	PerClass        []ClassAccuracy `json:"per_class,omitempty"`
	Top1Diff        *PairedDiff     `json:"top1_diff,omitempty"`
	Layers          []Layer         `json:"layers,omitempty"`
	Culprits        []string        `json:"culprits,omitempty"`
	Gates           *GateResult     `json:"gates,omitempty"`
	// BadSamples lists the evaluation samples that could not be used, in
	// the dataset's canonical order (issue 7).
	BadSamples []BadSample `json:"bad_samples,omitempty"`
}

// Calibration describes how activation ranges were measured.
type Calibration struct {
	Method  string `json:"method"`
	Samples int    `json:"samples"`
	// Limit is the cap on calibration samples per model the job ran with
	// (--calib-samples, default calibrate.DefaultSamples); 0 (absent): the
	// whole split.
	Limit int `json:"limit,omitempty"`
	// Percentile is the share kept by the "percentile" method, in percent.
	Percentile float64 `json:"percentile,omitempty"`
	// Bins is the histogram resolution of the histogram methods.
	Bins int `json:"bins,omitempty"`
	// Symmetric is set when ranges are symmetric about zero.
	Symmetric bool `json:"symmetric,omitempty"`
	// Ranges is the path of the range file (per-tensor ranges), relative to
	// the folder of report.json.
	Ranges string `json:"ranges,omitempty"`
	// PerClass counts the calibration samples by class (classes without
	// samples left out), as Model.PerClass does for evaluation.
	PerClass []ClassCount `json:"per_class,omitempty"`
}

// Float holds the size and accuracy of the original model.
type Float struct {
	Bytes   int64    `json:"bytes,omitempty"`
	Top1    *float64 `json:"top1,omitempty"`
	Samples int      `json:"samples,omitempty"`

	// Top-5, failure count and speed (issue 9; docs/report-schema.md).
	Top5         *float64 `json:"top5,omitempty"`
	Failed       int      `json:"failed,omitempty"`
	MsPerImage   *float64 `json:"ms_per_image,omitempty"`
	ImagesPerSec *float64 `json:"images_per_sec,omitempty"`
}

// Int8 holds the size and accuracy of the quantized model and where it is.
type Int8 struct {
	Bytes   int64    `json:"bytes,omitempty"`
	Top1    *float64 `json:"top1,omitempty"`
	Samples int      `json:"samples,omitempty"`
	Model   string   `json:"model,omitempty"`

	// Top-5, failure count and speed (issue 9; docs/report-schema.md).
	Top5         *float64 `json:"top5,omitempty"`
	Failed       int      `json:"failed,omitempty"`
	MsPerImage   *float64 `json:"ms_per_image,omitempty"`
	ImagesPerSec *float64 `json:"images_per_sec,omitempty"`
}

// New returns an empty report carrying the current schema.
func New(job, zoo, version string) *Report {
	return &Report{Schema: Schema, Job: job, Zoo: zoo, EightbitVersion: version}
}

// Ratio returns int8Bytes/floatBytes for Model.SizeRatio, or nil when either
// size is unknown.
func Ratio(floatBytes, int8Bytes int64) *float64 {
	if floatBytes <= 0 || int8Bytes <= 0 {
		return nil
	}
	return new(float64(int8Bytes) / float64(floatBytes))
}

// Sort orders the models by name (and normalizes the order of each model's
// failed_ops). JSON and Markdown render in this order whether or not Sort was
// called.
func (r *Report) Sort() {
	slices.SortStableFunc(r.Models, func(a, b Model) int { return cmp.Compare(a.Name, b.Name) })
	for i := range r.Models {
		slices.Sort(r.Models[i].FailedOps)
	}
}

// sorted returns a copy of r with models and failed_ops in canonical order;
// r itself is not modified.
func (r *Report) sorted() *Report {
	c := *r
	c.Models = slices.Clone(r.Models)
	for i := range c.Models {
		c.Models[i].FailedOps = slices.Clone(c.Models[i].FailedOps)
	}
	c.Sort()
	return &c
}

// Validate checks the invariants of the v1 schema: the schema string, unique
// non-empty model names, a known status, an error message on (and only on)
// failed rows, fractions within [0,1], and non-negative sizes and counts.
func (r *Report) Validate() error {
	if err := r.check(); err != nil {
		return fmt.Errorf("report: invalid: %w", err)
	}
	return nil
}

// check is Validate without the package prefix.
func (r *Report) check() error {
	if r.Schema != Schema {
		return fmt.Errorf("schema %q, want %q", r.Schema, Schema)
	}
	seen := make(map[string]bool, len(r.Models))
	var errs []error
	for i := range r.Models {
		m := &r.Models[i]
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("model #%d: empty name", i))
		} else if seen[m.Name] {
			errs = append(errs, fmt.Errorf("model %q: duplicate name", m.Name))
		}
		seen[m.Name] = true
		if err := m.validate(); err != nil {
			errs = append(errs, fmt.Errorf("model %q: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Model) validate() error {
	switch m.Status {
	case StatusOK:
		if m.Error != "" {
			return errors.New(`"error" set on an ok row`)
		}
	case StatusFailed:
		if m.Error == "" {
			return errors.New(`failed row without "error"`)
		}
	default:
		return fmt.Errorf("status %q, want %q or %q", m.Status, StatusOK, StatusFailed)
	}
	var errs []error
	frac := func(name string, v *float64) {
		if v != nil && !(*v >= 0 && *v <= 1) {
			errs = append(errs, fmt.Errorf("%s = %v, want a fraction in [0,1]", name, *v))
		}
	}
	nonNeg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s = %d, want >= 0", name, v))
		}
	}
	if f := m.Float; f != nil {
		frac("float.top1", f.Top1)
		nonNeg("float.bytes", f.Bytes)
		nonNeg("float.samples", int64(f.Samples))
	}
	if q := m.Int8; q != nil {
		frac("int8.top1", q.Top1)
		nonNeg("int8.bytes", q.Bytes)
		nonNeg("int8.samples", int64(q.Samples))
	}
	frac("agreement", m.Agreement)
	if v := m.SizeRatio; v != nil && !(*v >= 0 && !math.IsInf(*v, 1)) {
		errs = append(errs, fmt.Errorf("size_ratio = %v, want a finite value >= 0", *v))
	}
	if c := m.Calibration; c != nil {
		nonNeg("calibration.samples", int64(c.Samples))
		nonNeg("calibration.bins", int64(c.Bins))
		if p := c.Percentile; p != 0 && !(p > 0 && p <= 100) {
			errs = append(errs, fmt.Errorf("calibration.percentile = %v, want a percentage in (0,100]", p))
		}
	}
	for op, n := range m.Ops {
		if op == "" || n < 0 {
			errs = append(errs, fmt.Errorf("ops[%q] = %d: want a non-empty op type and a count >= 0", op, n))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// JSON renders the report as indented JSON with a trailing newline. Models are
// written sorted by name, maps with sorted keys and HTML characters unescaped,
// so equal reports always give identical bytes. An invalid report is refused.
func (r *Report) JSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	c := r.sorted()
	if c.Models == nil {
		c.Models = []Model{} // "models": [] rather than null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("report: encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// Parse decodes and validates a report.json. Unknown fields are ignored, so
// readers of v1 accept reports written by later, extended writers; a different
// schema string is an error.
func Parse(data []byte) (*Report, error) {
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("report: parse: %w", err)
	}
	if probe.Schema == nil {
		return nil, fmt.Errorf("report: parse: no \"schema\" field, want %q", Schema)
	}
	if *probe.Schema != Schema {
		return nil, fmt.Errorf("report: parse: schema %q, want %q", *probe.Schema, Schema)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report: parse: %w", err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("report: parse: %w", err)
	}
	return &r, nil
}
