package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/jobs"
)

func TestProgressPrinter(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressPrinter(&buf) // not a terminal: plain lines
	p.start = time.Now().Add(-2 * time.Second)
	pr := jobs.Progress{Models: 4, CalibPlanned: 4000, CalibDone: 4000, EvalPlanned: 8000, EvalDone: 2000, ModelsReused: 1}
	p.update(jobs.Progress{})
	p.update(pr)
	p.update(pr) // unchanged and within 10 s: no second line
	got := buf.String()
	if strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "eightbit: progress: 4 models (1 reused), calibration 4000/4000, evaluation 2000/8000 samples, ") ||
		!strings.Contains(got, "samples/s, ETA ") || strings.Contains(got, "\r") {
		t.Errorf("progress output %q", got)
	}
	p.end()
	if strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("end printed on a non-terminal: %q", buf.String())
	}
}

// TestProgressETA checks that the time left is rounded, not truncated to
// whole seconds first: 4500 samples left at 3000 samples/s is 2s.
func TestProgressETA(t *testing.T) {
	p := newProgressPrinter(&bytes.Buffer{})
	p.start = time.Now().Add(-2 * time.Second)
	got := p.line(jobs.Progress{Models: 1, CalibPlanned: 6000, CalibDone: 6000, EvalPlanned: 4500})
	if !strings.HasSuffix(got, ", ETA 2s") {
		t.Errorf("line %q, want ETA 2s", got)
	}
}
