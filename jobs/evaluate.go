package jobs

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/transforms"
)

// Evaluate configures the evaluate job: every model listed in a zoo
// manifest is evaluated as stored on its dataset's evaluation split. Models
// may be float ONNX or 8-bit ONNX (QDQ or QOperator) from eightbit or from
// another tool such as ONNX Runtime's quantizer; 8-bit models run with
// integer kernels. The report (report.json, report.md under Out) holds each
// model's top-1 (under "float" for float models, under "int8", with the
// format, for 8-bit models); a model that fails is a failed row.
type Evaluate struct {
	// Zoo is the zoo folder URL (holding zoo.yaml) or the manifest's URL.
	Zoo string
	// Out is the output folder URL; local folders are created.
	Out string
	// Runner is the Beam runner name; empty means Beam's --runner flag or
	// prism.
	Runner string
	// EvalSamples caps the evaluation samples per model (0: all).
	EvalSamples int
	// ShardSize is the number of samples per work item (0: 250).
	ShardSize int
	// BatchSize is the number of samples per inference call for models
	// whose batch dimension is free (0: 50).
	BatchSize int
	// AllowOutside accepts manifest locations outside the zoo folder.
	AllowOutside bool
}

func (j *Evaluate) asQuantizeZoo() *QuantizeZoo {
	return &QuantizeZoo{Zoo: j.Zoo, Out: j.Out, Runner: j.Runner, EvalSamples: j.EvalSamples, ShardSize: j.ShardSize, BatchSize: j.BatchSize,
		AllowOutside: j.AllowOutside}
}

// Build adds the job's transforms to a pipeline scope. The configuration
// must be valid (Run checks it).
func (j *Evaluate) Build(s beam.Scope, runID string) {
	tasks := transforms.ReadZoo(s, j.Zoo, transforms.ZooOptions{
		OutURL:       j.Out,
		RunID:        runID,
		EvalSamples:  j.EvalSamples,
		ShardSize:    j.ShardSize,
		BatchSize:    j.BatchSize,
		AllowOutside: j.AllowOutside,
	})
	rows := transforms.EvaluateAsGiven(s, tasks)
	transforms.WriteReport(s, rows, j.Out, transforms.ReportInfo{Job: JobEvaluate, Zoo: j.Zoo, RunID: runID})
}

// Run validates the configuration, runs the job and reads its report back.
func (j *Evaluate) Run(ctx context.Context) (*Result, error) {
	if err := j.asQuantizeZoo().validate(ctx); err != nil {
		return nil, err
	}
	return runAndReport(ctx, j.Runner, j.Out, j.Build)
}
