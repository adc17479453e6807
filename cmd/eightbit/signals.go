package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/eightbitml/eightbit/jobs"
)

// Exit codes of a run stopped by a signal (128 + the signal's number, as
// shells report them).
const (
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// interrupt records the first SIGINT or SIGTERM a run received.
type interrupt struct {
	mu  sync.Mutex
	sig os.Signal
}

// signal returns the signal received, nil while there was none.
func (in *interrupt) signal() os.Signal {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

type interruptKey struct{}

// interruptOf returns the interrupt watchSignals put in ctx, nil if none.
func interruptOf(ctx context.Context) *interrupt {
	in, _ := ctx.Value(interruptKey{}).(*interrupt)
	return in
}

// watchSignals returns a context that is cancelled when the first signal
// arrives on sigs (the running job then stops: Beam cancels the pipeline)
// and records that signal; a second signal calls again (the process should
// exit at once). stop ends the watch.
func watchSignals(parent context.Context, sigs <-chan os.Signal, again func(os.Signal)) (ctx context.Context, stop func()) {
	in := &interrupt{}
	ctx, cancel := context.WithCancel(context.WithValue(parent, interruptKey{}, in))
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case s := <-sigs:
				if !first {
					again(s)
					continue
				}
				first = false
				in.mu.Lock()
				in.sig = s
				in.mu.Unlock()
				cancel()
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel() }
}

// signalExit is the exit code for a run stopped by s.
func signalExit(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// signalName names s as users know it.
func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// stoppedLine is the one line printed when a signal stopped a job: what
// had finished and how to resume. pr is the last progress seen (nil when
// the job reports none); resumable is false for jobs that keep nothing
// between runs (evaluate).
func stoppedLine(s os.Signal, job, out string, pr *jobs.Progress, resumable bool) string {
	line := fmt.Sprintf("eightbit: %s stopped by %s", job, signalName(s))
	if pr != nil {
		if pr.Models == 0 {
			line += " before any model was read"
		} else {
			line += fmt.Sprintf(" during %s: %d of %d models done", stageOf(*pr), pr.ModelsReused, pr.Models)
			if pr.ModelsReused > 0 {
				line += " (reused from earlier runs)"
			}
			line += fmt.Sprintf(", calibration %d/%d and evaluation %d/%d samples", pr.CalibDone, pr.CalibPlanned, pr.EvalDone, pr.EvalPlanned)
		}
	}
	if resumable {
		return line + fmt.Sprintf("; rerun with the same --out (%s) to resume: finished models and the calibration ranges written so far are reused", out)
	}
	return line + "; no report was written, rerun to start again"
}
