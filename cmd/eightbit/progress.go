package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/eightbitml/eightbit/jobs"
)

// Progress stages, as the progress line names them.
const (
	stageStart     = "reading the zoo"
	stageCalib     = "calibration"
	stageQuantize  = "quantization"
	stageEval      = "evaluation"
	stageReport    = "writing the report"
	rateWindow     = 30 * time.Second // the span the rate is measured over
	plainLineEvery = 10 * time.Second // least time between plain lines within a stage
)

// stageOf names what a run is doing: calibrating while calibration samples
// are outstanding, then quantizing until evaluation samples are planned,
// evaluating while they are outstanding, then writing the report.
func stageOf(pr jobs.Progress) string {
	switch {
	case pr.Models == 0:
		return stageStart
	case pr.CalibDone < pr.CalibPlanned:
		return stageCalib
	case pr.EvalDone < pr.EvalPlanned:
		return stageEval
	case pr.EvalPlanned == 0 && pr.CalibPlanned > 0:
		return stageQuantize
	}
	return stageReport
}

// stageSamples returns the done and planned samples of a stage (0, 0 for
// stages that do not count samples).
func stageSamples(stage string, pr jobs.Progress) (done, planned int64) {
	switch stage {
	case stageCalib:
		return pr.CalibDone, pr.CalibPlanned
	case stageEval:
		return pr.EvalDone, pr.EvalPlanned
	}
	return 0, 0
}

// rateMeter measures the recent rate of one counter: samples per second
// over the last rateWindow (the oldest point kept is the last one at or
// before the start of the window), not the average since the start. Until
// the counter first moves only the latest point is kept, so the time a
// stage spends loading before its first sample is done does not count.
type rateMeter struct {
	pts   []ratePoint
	moved bool
}

type ratePoint struct {
	t time.Time
	n int64
}

// reset forgets every point (a new stage starts).
func (m *rateMeter) reset() { m.pts, m.moved = m.pts[:0], false }

// add records the counter's value n at time t.
func (m *rateMeter) add(t time.Time, n int64) {
	if !m.moved && len(m.pts) > 0 {
		if n == m.pts[len(m.pts)-1].n {
			m.pts[len(m.pts)-1] = ratePoint{t, n}
			return
		}
		m.moved = true
	}
	m.pts = append(m.pts, ratePoint{t, n})
	cut := t.Add(-rateWindow)
	i := 0
	for i+2 < len(m.pts) && !m.pts[i+1].t.After(cut) {
		i++
	}
	if i > 0 {
		m.pts = append(m.pts[:0], m.pts[i:]...)
	}
}

// rate returns the counter's rate per second over the window, and false
// while the points span less than a second.
func (m *rateMeter) rate() (float64, bool) {
	if len(m.pts) < 2 {
		return 0, false
	}
	a, b := m.pts[0], m.pts[len(m.pts)-1]
	span := b.t.Sub(a.t).Seconds()
	if span < 1 {
		return 0, false
	}
	return float64(b.n-a.n) / span, true
}

// progressPrinter renders a run's progress on stderr. Each line names the
// stage (calibration, quantization, evaluation, ...), the models and the
// calibration and evaluation samples done, and the stage's recent rate
// and time left (ETA). On a terminal the line is rewritten in place on
// every update; otherwise a plain line is printed on every stage change
// and, within a stage, at most every 10 s when something moved. Runs whose
// workers are elsewhere (Dataflow) show nothing.
type progressPrinter struct {
	w   io.Writer
	tty bool
	now func() time.Time

	stage    string
	meter    rateMeter
	lastLine time.Time
	printed  jobs.Progress
	last     jobs.Progress
	drawn    bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, now: time.Now}
	if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	return p
}

// observe records a progress report: it moves to a new stage (resetting
// the rate) or adds a point to the current stage's rate. It returns
// whether the stage changed.
func (p *progressPrinter) observe(pr jobs.Progress) bool {
	now := p.now()
	st := stageOf(pr)
	changed := st != p.stage
	if changed {
		p.stage = st
		p.meter.reset()
	}
	done, _ := stageSamples(st, pr)
	p.meter.add(now, done)
	p.last = pr
	return changed
}

// line formats the last progress report.
func (p *progressPrinter) line() string {
	pr := p.last
	s := fmt.Sprintf("%s: %d models", p.stage, pr.Models)
	if pr.ModelsReused > 0 {
		s += fmt.Sprintf(" (%d reused)", pr.ModelsReused)
	}
	s += fmt.Sprintf(", calibration %d/%d, evaluation %d/%d samples", pr.CalibDone, pr.CalibPlanned, pr.EvalDone, pr.EvalPlanned)
	done, planned := stageSamples(p.stage, pr)
	if rate, ok := p.meter.rate(); ok && planned > 0 {
		s += fmt.Sprintf(", %.0f samples/s", rate)
		if left := planned - done; left > 0 && rate > 0 {
			s += fmt.Sprintf(", %s ETA %s", p.stage, time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	if pr.FailedWorkItems > 0 {
		s += fmt.Sprintf(", %d failed work items", pr.FailedWorkItems)
	}
	return s
}

// update is QuantizeZoo.Progress.
func (p *progressPrinter) update(pr jobs.Progress) {
	if pr == (jobs.Progress{}) {
		return
	}
	changed := p.observe(pr)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Keightbit: %s", p.line())
		p.drawn = true
		return
	}
	now := p.now()
	if changed || (pr != p.printed && now.Sub(p.lastLine) >= plainLineEvery) {
		fmt.Fprintf(p.w, "eightbit: progress: %s\n", p.line())
		p.lastLine, p.printed = now, pr
	}
}

// end finishes the terminal line.
func (p *progressPrinter) end() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
