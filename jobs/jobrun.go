package jobs

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// Job is a configured job: quantize-zoo, evaluate or calibrate.
type Job interface {
	Run(ctx context.Context) (*Result, error)
}

// runAndReport builds a pipeline with build, runs it and reads the report
// it wrote under out back.
func runAndReport(ctx context.Context, runner, out string, build func(s beam.Scope, runID string)) (*Result, error) {
	p, s := beam.NewPipelineWithRoot()
	build(s, newRunID())
	if _, err := pipeline.Run(ctx, runner, p); err != nil {
		return nil, err
	}
	rep, err := transforms.ReadReport(ctx, out)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, ReportKey: transforms.ReportJSON}
	for _, m := range rep.Models {
		if m.Status == report.StatusOK {
			res.OK++
		} else {
			res.Failed++
		}
	}
	return res, nil
}
