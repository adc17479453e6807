package transforms

import (
	"sync"
	"sync/atomic"
)

// Progress is what a run has done so far, as counted by the workers of
// this process (prism, the direct runner and LOOPBACK workers run in the
// submitting process; Dataflow's workers do not, and their runs show no
// progress). Planned counts grow as work items are planned, so early
// figures understate the total.
type Progress struct {
	Models                  int64 // models read from the manifest (sweep variants counted)
	CalibPlanned, CalibDone int64 // calibration samples (both passes)
	EvalPlanned, EvalDone   int64 // evaluation samples
	ModelsReused            int64 // models whose rows were reused
	FailedWorkItems         int64
}

type progressCounters struct {
	models, calibPlanned, calibDone, evalPlanned, evalDone, reused, failed atomic.Int64
}

var progressRuns sync.Map // run id → *progressCounters

func progressOf(runID string) *progressCounters {
	if p, ok := progressRuns.Load(runID); ok {
		return p.(*progressCounters)
	}
	p, _ := progressRuns.LoadOrStore(runID, &progressCounters{})
	return p.(*progressCounters)
}

// RunProgress returns the progress of run runID in this process.
func RunProgress(runID string) Progress {
	p := progressOf(runID)
	return Progress{
		Models:          p.models.Load(),
		CalibPlanned:    p.calibPlanned.Load(),
		CalibDone:       p.calibDone.Load(),
		EvalPlanned:     p.evalPlanned.Load(),
		EvalDone:        p.evalDone.Load(),
		ModelsReused:    p.reused.Load(),
		FailedWorkItems: p.failed.Load(),
	}
}

// ForgetProgress drops the counters of a finished run.
func ForgetProgress(runID string) { progressRuns.Delete(runID) }

// planned and done count samples of a split.
func (p *progressCounters) planned(split string, n int64) {
	if split == SplitEvaluation {
		p.evalPlanned.Add(n)
	} else {
		p.calibPlanned.Add(n)
	}
}

func (p *progressCounters) done(split string, n int64) {
	if split == SplitEvaluation {
		p.evalDone.Add(n)
	} else {
		p.calibDone.Add(n)
	}
}
