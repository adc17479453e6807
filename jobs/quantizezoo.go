package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
	"github.com/eightbitml/eightbit/zoo"
)

// ErrConfig is wrapped by errors in a job's configuration (bad flags, a
// manifest that does not parse, an unknown runner): the job did not start.
var ErrConfig = failure.Errorf(failure.Config, "invalid job configuration")

// QuantizeZoo configures the quantize-zoo job.
type QuantizeZoo struct {
	// Zoo is the zoo folder URL (holding zoo.yaml) or the manifest's URL.
	Zoo string
	// Out is the output folder URL; local folders are created.
	Out string
	// Runner is the Beam runner name; empty means Beam's --runner flag or
	// prism.
	Runner string
	// CalibSamples and EvalSamples cap the samples used from each split
	// (0: all).
	CalibSamples, EvalSamples int
	// ShardSize is the number of samples per work item (0: 250).
	ShardSize int
	// Calibration is the range choice: "minmax" (the default, also for
	// ""), "percentile", "entropy" or "mse" (see package calibrate).
	Calibration string
	// Percentile is the share of values the percentile method keeps, in
	// percent (0: 99.99).
	Percentile float64
	// Recalibrate ignores the range files of earlier runs under Out.
	Recalibrate bool
	// AllowNonFinite calibrates on the finite values of activations that
	// hold NaN or ±Inf instead of failing the model
	// (calibrate.Options.AllowNonFinite).
	AllowNonFinite bool
	// MaxTop1Drop and MinAgreement are quality gates (fractions; nil: no
	// gate). A model failing one is marked in the report's gates field;
	// Result.GateFailures lists them.
	MaxTop1Drop, MinAgreement *float64
	// AllowOutside accepts manifest locations outside the zoo folder.
	AllowOutside bool
	// Quantize holds the quantizer settings: scheme (quantize.Schemes()),
	// output format (quantize.Formats()), nodes and op types kept float,
	// and whether the QOperator format may use com.microsoft ops.
	Quantize transforms.QuantizeOptions
	// Force runs every model again; by default a model whose result file
	// under Out matches its model bytes, datasets and settings is reused
	// (see transforms.SkipDone).
	Force bool
	// Sweep runs every model once per listed quantizer setting instead of
	// once with Quantize (models named "<model>@<label>", see
	// transforms.QuantizeOptions.Label), side by side in one report.
	Sweep []transforms.QuantizeOptions
	// Progress, when set, is called about twice a second while the
	// pipeline runs with what this process's workers have done (see
	// Progress), and once more at the end.
	Progress func(Progress)
	// MeasureSpeed times float and int8 inference during evaluation and
	// puts ms per image and images per second in the report (which is then
	// no longer byte-identical between runs).
	MeasureSpeed bool
	// BatchSize is the number of samples per inference call for models
	// whose batch dimension is free (0: 50).
	BatchSize int
}

// calibOptions returns the validated calibration settings.
func (j *QuantizeZoo) calibOptions() (calibrate.Options, error) {
	m := calibrate.MethodMinMax
	if j.Calibration != "" {
		var err error
		if m, err = calibrate.ParseMethod(j.Calibration); err != nil {
			return calibrate.Options{}, err
		}
	}
	if j.Percentile != 0 && m != calibrate.MethodPercentile {
		return calibrate.Options{}, fmt.Errorf("--percentile needs --calibration=percentile")
	}
	return calibrate.Options{Method: m, Percentile: j.Percentile, AllowNonFinite: j.AllowNonFinite}.Normalize()
}

// Result is what a finished job produced.
type Result struct {
	Report *report.Report
	// ReportKey is the report's key under the output folder.
	ReportKey  string
	OK, Failed int
	// RunID names the run (its report files are also under runs/<RunID>/);
	// Reused lists the models whose rows came from an earlier run.
	RunID  string
	Reused []string
	// Metrics are the run's Beam metrics (pipeline.CollectMetrics), also
	// in runs/<RunID>/run.json.
	Metrics map[string]report.Metric
	// GateFailures are the gates models failed (empty without gates).
	GateFailures []report.GateFailure
}

func (j *QuantizeZoo) validate(ctx context.Context) error {
	if j.Zoo == "" {
		return fmt.Errorf("%w: no zoo given", ErrConfig)
	}
	if j.Out == "" {
		return fmt.Errorf("%w: no output folder given", ErrConfig)
	}
	if j.CalibSamples < 0 || j.EvalSamples < 0 || j.ShardSize < 0 || j.BatchSize < 0 {
		return fmt.Errorf("%w: sample counts must not be negative", ErrConfig)
	}
	if _, err := j.calibOptions(); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := pipeline.CheckRunner(j.Runner); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	for _, g := range []*float64{j.MaxTop1Drop, j.MinAgreement} {
		if g != nil && !(*g >= 0 && *g <= 1) {
			return fmt.Errorf("%w: gate %v is not a fraction in [0,1]", ErrConfig, *g)
		}
	}
	if q := j.Quantize.Scheme; q != "" && !slices.Contains(quantize.Schemes(), q) {
		return fmt.Errorf("%w: scheme %q, want one of %v", ErrConfig, q, quantize.Schemes())
	}
	if f := j.Quantize.Format; f != "" && !slices.Contains(quantize.Formats(), f) {
		return fmt.Errorf("%w: format %q, want one of %v", ErrConfig, f, quantize.Formats())
	}
	labels := map[string]bool{}
	for _, q := range append([]transforms.QuantizeOptions{j.Quantize}, j.Sweep...) {
		if s := q.Scheme; s != "" && !slices.Contains(quantize.Schemes(), s) {
			return fmt.Errorf("%w: scheme %q, want one of %v", ErrConfig, s, quantize.Schemes())
		}
		if f := q.Format; f != "" && !slices.Contains(quantize.Formats(), f) {
			return fmt.Errorf("%w: format %q, want one of %v", ErrConfig, f, quantize.Formats())
		}
		switch w := q.WeightRanges; w {
		case "", quantize.WeightRangesMinMax, quantize.WeightRangesMSE:
		default:
			return fmt.Errorf("%w: weight ranges %q, want %s or %s", ErrConfig, w, quantize.WeightRangesMinMax, quantize.WeightRangesMSE)
		}
	}
	for _, q := range j.Sweep {
		if labels[q.Label()] {
			return fmt.Errorf("%w: sweep lists %s twice", ErrConfig, q.Label())
		}
		labels[q.Label()] = true
	}
	if _, _, err := transforms.ReadManifestWith(ctx, j.Zoo, zoo.Options{AllowOutside: j.AllowOutside}); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}

// Build adds the job's transforms to a pipeline scope. The configuration
// must be valid (Run checks it).
func (j *QuantizeZoo) Build(s beam.Scope, runID string) {
	tasks := transforms.ReadZoo(s, j.Zoo, transforms.ZooOptions{
		OutURL:       j.Out,
		RunID:        runID,
		CalibSamples: j.CalibSamples,
		EvalSamples:  j.EvalSamples,
		ShardSize:    j.ShardSize,
		AllowOutside: j.AllowOutside,
		Quantize:     j.Quantize,
		MeasureSpeed: j.MeasureSpeed,
		Sweep:        j.Sweep,
		BatchSize:    j.BatchSize,
	})
	co, err := j.calibOptions()
	if err != nil {
		panic(err) // Run validates first
	}
	todo, done := transforms.SkipDone(s, tasks, transforms.CalibOptions{Calibrate: co}, j.Force)
	loaded, loadFailed := transforms.LoadModels(s, todo)
	ranges := transforms.CalibrateWith(s, loaded, transforms.CalibOptions{Calibrate: co, Recalibrate: j.Recalibrate})
	quantized, quantFailed := transforms.QuantizeModels(s, loaded, ranges)
	rows := transforms.Evaluate(s, quantized)
	all := beam.Flatten(s, rows, loadFailed, quantFailed, done)
	transforms.WriteReport(s, all, j.Out, transforms.ReportInfo{Job: "quantize-zoo", Zoo: j.Zoo, RunID: runID,
		MaxTop1Drop: j.MaxTop1Drop, MinAgreement: j.MinAgreement})
}

// Run validates the configuration, runs the job and reads its report back.
func (j *QuantizeZoo) Run(ctx context.Context) (*Result, error) {
	if err := j.validate(ctx); err != nil {
		return nil, err
	}
	runID := newRunID()
	p, s := beam.NewPipelineWithRoot()
	j.Build(s, runID)
	start := time.Now()
	stop := watchProgress(runID, j.Progress)
	pr, err := pipeline.Run(ctx, j.Runner, p)
	stop()
	if err != nil {
		return nil, err
	}
	res, err := finishRun(ctx, j.Out, runID, pr, time.Since(start))
	if err != nil {
		return nil, err
	}
	rep := res.Report
	for _, m := range rep.Models {
		if m.Status == report.StatusOK {
			res.OK++
		} else {
			res.Failed++
		}
		if g := m.Gates; g != nil && !g.Passed {
			for _, msg := range g.Failures {
				gate, _, _ := strings.Cut(msg, ":")
				res.GateFailures = append(res.GateFailures, report.GateFailure{Model: m.Name, Gate: gate, Message: msg})
			}
		}
	}
	return res, nil
}

// newRunID names one execution: UTC time to the second and 4 random hex
// digits (20261126T091500Z-3fa2), so that runs sort by start time. It names
// the run's folder runs/<id>/ and keeps worker caches of different runs in
// one process apart; it never reaches report.json.
func newRunID() string {
	var b [2]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
