package jobs

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/transforms"
)

// Calibrate configures the calibrate job: it measures the activation ranges
// of every model of a zoo and writes them to the calibration cache,
// calibration/<model>.json under Out, without quantizing or evaluating. A
// later quantize-zoo run with the same Out and settings reuses the files.
// The job also writes report.json and report.md (one row per model: method,
// samples, range file, or the failure).
type Calibrate struct {
	// Zoo is the zoo folder URL (holding zoo.yaml) or the manifest's URL.
	Zoo string
	// Out is the output folder URL; local folders are created.
	Out string
	// Runner is the Beam runner name; empty means Beam's --runner flag or
	// prism.
	Runner string
	// CalibSamples caps the calibration samples per model (0: all).
	CalibSamples int
	// ShardSize is the number of samples per work item (0: 250).
	ShardSize int
	// Calibration, Percentile and Recalibrate are as in QuantizeZoo.
	Calibration    string
	Percentile     float64
	Recalibrate    bool
	AllowNonFinite bool
	// BatchSize is the number of samples per inference call for models
	// whose batch dimension is free (0: 50).
	BatchSize int
	// AllowOutside accepts manifest locations outside the zoo folder.
	AllowOutside bool
}

func (j *Calibrate) asQuantizeZoo() *QuantizeZoo {
	return &QuantizeZoo{
		Zoo: j.Zoo, Out: j.Out, Runner: j.Runner,
		CalibSamples: j.CalibSamples, ShardSize: j.ShardSize, BatchSize: j.BatchSize,
		Calibration: j.Calibration, Percentile: j.Percentile, Recalibrate: j.Recalibrate,
		AllowNonFinite: j.AllowNonFinite, AllowOutside: j.AllowOutside,
	}
}

// Build adds the job's transforms to a pipeline scope. The configuration
// must be valid (Run checks it).
func (j *Calibrate) Build(s beam.Scope, runID string) {
	co, err := j.asQuantizeZoo().calibOptions()
	if err != nil {
		panic(err) // Run validates first
	}
	tasks := transforms.ReadZoo(s, j.Zoo, transforms.ZooOptions{
		OutURL:       j.Out,
		RunID:        runID,
		CalibSamples: j.CalibSamples,
		ShardSize:    j.ShardSize,
		BatchSize:    j.BatchSize,
		AllowOutside: j.AllowOutside,
	})
	loaded, loadFailed := transforms.LoadModels(s, tasks)
	ranges := transforms.CalibrateWith(s, loaded, transforms.CalibOptions{Calibrate: co, Recalibrate: j.Recalibrate})
	rows := transforms.CalibrationRows(s, loaded, ranges)
	transforms.WriteReport(s, beam.Flatten(s, rows, loadFailed), j.Out, transforms.ReportInfo{Job: JobCalibrate, Zoo: j.Zoo, RunID: runID})
}

// Run validates the configuration, runs the job and reads its report back.
func (j *Calibrate) Run(ctx context.Context) (*Result, error) {
	if err := j.asQuantizeZoo().validate(ctx); err != nil {
		return nil, err
	}
	return runAndReport(ctx, j.Runner, j.Out, j.Build)
}
