package jobs

import (
	"context"
	"path"
	"time"

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
	runID := newRunID()
	p, s := beam.NewPipelineWithRoot()
	build(s, runID)
	start := time.Now()
	pr, err := pipeline.Run(ctx, runner, p)
	if err != nil {
		return nil, err
	}
	res, err := finishRun(ctx, out, runID, pr, time.Since(start))
	if err != nil {
		return nil, err
	}
	for _, m := range res.Report.Models {
		if m.Status == report.StatusOK {
			res.OK++
		} else {
			res.Failed++
		}
	}
	return res, nil
}

// readResult reads back the report and run.json that run runID wrote under
// out (the run's own copies under runs/<runID>/).
func readResult(ctx context.Context, out, runID string) (*Result, error) {
	dir := path.Join(transforms.RunsDir, runID)
	rep, err := transforms.ReadReportKey(ctx, out, path.Join(dir, transforms.ReportJSON))
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, ReportKey: transforms.ReportJSON, RunID: runID}
	info, err := transforms.ReadRunInfo(ctx, out, runID)
	if err != nil {
		return nil, err
	}
	res.Reused = info.Reused
	return res, nil
}

// finishRun reads the Beam metrics of a finished run, adds them and the
// run's wall time to runs/<runID>/run.json, and reads the run's results
// back.
func finishRun(ctx context.Context, out, runID string, pr beam.PipelineResult, took time.Duration) (*Result, error) {
	ms := pipeline.CollectMetrics(pr, transforms.MetricsNamespace)
	if err := transforms.AddRunMetrics(ctx, out, runID, ms, took.Seconds()); err != nil {
		return nil, err
	}
	res, err := readResult(ctx, out, runID)
	if err != nil {
		return nil, err
	}
	res.Metrics = ms
	return res, nil
}

// Progress is what a run has done so far in this process
// (transforms.Progress), as QuantizeZoo.Progress receives it; callers of
// jobs read it without importing transforms.
type Progress = transforms.Progress

// watchProgress calls fn with the run's progress every 500 ms until the
// returned stop is called, and once more then; nil fn does nothing.
func watchProgress(runID string, fn func(Progress)) (stop func()) {
	if fn == nil {
		return func() { transforms.ForgetProgress(runID) }
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fn(transforms.RunProgress(runID))
				return
			case <-tick.C:
				fn(transforms.RunProgress(runID))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		transforms.ForgetProgress(runID)
	}
}
