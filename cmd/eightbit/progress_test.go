package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/jobs"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakePrinter() (*progressPrinter, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	p := newProgressPrinter(&buf) // not a terminal: plain lines
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p.now = clk.now
	return p, &buf, clk
}

func TestStageOf(t *testing.T) {
	table := []struct {
		pr   jobs.Progress
		want string
	}{
		{jobs.Progress{}, stageStart},
		{jobs.Progress{Models: 2, CalibPlanned: 100, CalibDone: 10}, stageCalib},
		{jobs.Progress{Models: 2, CalibPlanned: 100, CalibDone: 100}, stageQuantize},
		{jobs.Progress{Models: 2, CalibPlanned: 100, CalibDone: 100, EvalPlanned: 50, EvalDone: 3}, stageEval},
		{jobs.Progress{Models: 2, CalibPlanned: 100, CalibDone: 90, EvalPlanned: 50, EvalDone: 3}, stageCalib},
		{jobs.Progress{Models: 2, CalibPlanned: 100, CalibDone: 100, EvalPlanned: 50, EvalDone: 50}, stageReport},
		{jobs.Progress{Models: 2, ModelsReused: 2}, stageReport},
	}
	for _, c := range table {
		if got := stageOf(c.pr); got != c.want {
			t.Errorf("stageOf(%+v) = %q, want %q", c.pr, got, c.want)
		}
	}
}

// TestRateMeter checks that the rate is that of the last 30 s, not the
// average since the start.
func TestRateMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	table := []struct {
		name  string
		pts   []ratePoint // offsets in seconds in t
		want  float64
		ready bool
	}{
		{"one point", []ratePoint{{time.Unix(0, 0), 0}}, 0, false},
		{"under a second", []ratePoint{{time.Unix(0, 0), 0}, {time.Unix(0, 5e8), 50}}, 0, false},
		{"steady", []ratePoint{{time.Unix(0, 0), 0}, {time.Unix(10, 0), 1000}}, 100, true},
		// 60 s at 10/s, then 30 s at 100/s: the window sees only the last 30 s.
		{"speeds up", []ratePoint{{time.Unix(0, 0), 0}, {time.Unix(30, 0), 300}, {time.Unix(60, 0), 600}, {time.Unix(75, 0), 2100}, {time.Unix(90, 0), 3600}}, 100, true},
		// 20 s of loading before the first sample: not counted.
		{"idle lead-in", []ratePoint{{time.Unix(0, 0), 0}, {time.Unix(10, 0), 0}, {time.Unix(20, 0), 0}, {time.Unix(30, 0), 500}, {time.Unix(40, 0), 1000}}, 50, true},
		// Stalled for the last 30 s after a fast start.
		{"stalls", []ratePoint{{time.Unix(0, 0), 0}, {time.Unix(10, 0), 5000}, {time.Unix(40, 0), 5000}, {time.Unix(45, 0), 5000}}, 0, true},
	}
	for _, c := range table {
		var m rateMeter
		for _, pt := range c.pts {
			m.add(t0.Add(time.Duration(pt.t.UnixNano())), pt.n)
		}
		got, ok := m.rate()
		if ok != c.ready || (ok && got != c.want) {
			t.Errorf("%s: rate %v, %v; want %v, %v", c.name, got, ok, c.want, c.ready)
		}
	}
}

// TestProgressETA checks the time left from the stage's recent rate,
// rounded (not truncated): 4500 samples left at 3000 samples/s is 2s.
func TestProgressETA(t *testing.T) {
	p, _, clk := newFakePrinter()
	p.update(jobs.Progress{Models: 1, CalibPlanned: 6000, CalibDone: 6000, EvalPlanned: 4500})
	// Slow start, then the last 30 s at 3000 samples/s.
	for i := 1; i <= 60; i++ {
		clk.advance(time.Second)
		done := int64(i * 10)
		if i > 30 {
			done = 300 + int64(i-30)*3000
		}
		p.update(jobs.Progress{Models: 1, CalibPlanned: 6000, CalibDone: 6000, EvalPlanned: 100000, EvalDone: done})
	}
	got := p.line()
	// 300 + 90000 done, 9700 left at 3000/s: 3s.
	if !strings.HasSuffix(got, ", 3000 samples/s, evaluation ETA 3s") {
		t.Errorf("line %q, want 3000 samples/s and ETA 3s", got)
	}
	p, _, clk = newFakePrinter()
	p.update(jobs.Progress{Models: 1, CalibPlanned: 6000, CalibDone: 0})
	clk.advance(2 * time.Second)
	p.update(jobs.Progress{Models: 1, CalibPlanned: 10500, CalibDone: 6000})
	if got := p.line(); !strings.HasSuffix(got, ", 3000 samples/s, calibration ETA 2s") {
		t.Errorf("line %q, want ETA 2s", got)
	}
}

// TestProgressPlainLines checks the lines printed when stderr is not a
// terminal: one on every stage change, and within a stage at most one per
// 10 s and only when something moved.
func TestProgressPlainLines(t *testing.T) {
	p, buf, clk := newFakePrinter()
	calib := func(done int64) jobs.Progress {
		return jobs.Progress{Models: 4, ModelsReused: 1, CalibPlanned: 4000, CalibDone: done}
	}
	p.update(jobs.Progress{})
	p.update(calib(0)) // stage change: a line
	for i := 1; i <= 25; i++ {
		clk.advance(500 * time.Millisecond)
		p.update(calib(int64(i) * 100)) // 12.5 s: one more line at 10 s
	}
	clk.advance(500 * time.Millisecond)
	p.update(jobs.Progress{Models: 4, ModelsReused: 1, CalibPlanned: 4000, CalibDone: 4000, EvalPlanned: 8000}) // evaluation: a line
	p.update(jobs.Progress{Models: 4, ModelsReused: 1, CalibPlanned: 4000, CalibDone: 4000, EvalPlanned: 8000}) // unchanged
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"eightbit: progress: calibration: 4 models (1 reused), calibration 0/4000, evaluation 0/0 samples",
		"eightbit: progress: calibration: 4 models (1 reused), calibration 2000/4000, evaluation 0/0 samples, 200 samples/s, calibration ETA 10s",
		"eightbit: progress: evaluation: 4 models (1 reused), calibration 4000/4000, evaluation 0/8000 samples",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("carriage return on a non-terminal")
	}
	p.end()
	if len(strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")) != len(want) {
		t.Errorf("end printed on a non-terminal: %q", buf.String())
	}
}

// TestProgressTerminal checks that a terminal gets the same line, redrawn
// in place, and a newline at the end.
func TestProgressTerminal(t *testing.T) {
	p, buf, clk := newFakePrinter()
	p.tty = true
	p.update(jobs.Progress{Models: 1, CalibPlanned: 1000})
	clk.advance(2 * time.Second)
	p.update(jobs.Progress{Models: 1, CalibPlanned: 1000, CalibDone: 400})
	p.end()
	want := "\r\033[Keightbit: calibration: 1 models, calibration 0/1000, evaluation 0/0 samples" +
		"\r\033[Keightbit: calibration: 1 models, calibration 400/1000, evaluation 0/0 samples, 200 samples/s, calibration ETA 3s\n"
	if buf.String() != want {
		t.Errorf("terminal output %q, want %q", buf.String(), want)
	}
}
