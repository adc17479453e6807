package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/eightbitml/eightbit/jobs"
)

// progressPrinter renders a run's progress on stderr: on a terminal one
// line rewritten in place (models, calibration and evaluation samples,
// samples per second, ETA); otherwise a plain log line every 10 s when
// something moved. Runs whose workers are elsewhere (Dataflow) show
// nothing.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	start    time.Time
	lastLine time.Time
	last     jobs.Progress
	drawn    bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	return p
}

// line formats a progress report.
func (p *progressPrinter) line(pr jobs.Progress) string {
	done := pr.CalibDone + pr.EvalDone
	planned := pr.CalibPlanned + pr.EvalPlanned
	el := time.Since(p.start).Seconds()
	s := fmt.Sprintf("%d models", pr.Models)
	if pr.ModelsReused > 0 {
		s += fmt.Sprintf(" (%d reused)", pr.ModelsReused)
	}
	s += fmt.Sprintf(", calibration %d/%d, evaluation %d/%d samples", pr.CalibDone, pr.CalibPlanned, pr.EvalDone, pr.EvalPlanned)
	if done > 0 && el > 0 {
		rate := float64(done) / el
		s += fmt.Sprintf(", %.0f samples/s", rate)
		if left := planned - done; left > 0 {
			s += fmt.Sprintf(", ETA %s", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
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
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Keightbit: %s", p.line(pr))
		p.drawn = true
		return
	}
	if pr != p.last && time.Since(p.lastLine) >= 10*time.Second {
		fmt.Fprintf(p.w, "eightbit: progress: %s\n", p.line(pr))
		p.lastLine, p.last = time.Now(), pr
	}
}

// end finishes the terminal line.
func (p *progressPrinter) end() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
