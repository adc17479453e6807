package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/transforms"
)

func TestProgressPrinter(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressPrinter(&buf) // not a terminal: plain lines
	p.start = time.Now().Add(-2 * time.Second)
	pr := transforms.Progress{Models: 4, CalibPlanned: 4000, CalibDone: 4000, EvalPlanned: 8000, EvalDone: 2000, ModelsReused: 1}
	p.update(transforms.Progress{})
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
