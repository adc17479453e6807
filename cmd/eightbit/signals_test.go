package main

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/report"
)

// blockingJob runs until its context is cancelled.
type blockingJob struct{ started chan struct{} }

func (j *blockingJob) Run(ctx context.Context) (*jobs.Result, error) {
	close(j.started)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestSignalStopsRun sends a fake signal to a running job: the job's
// context is cancelled, one line says what finished and how to resume, and
// the exit code is 128 + the signal's number; a second signal calls the
// immediate-exit hook.
func TestSignalStopsRun(t *testing.T) {
	table := []struct {
		sig       os.Signal
		job       string
		code      int
		want      string
		resumable bool
	}{
		{os.Interrupt, jobs.JobCalibrate, exitSIGINT, "eightbit: calibrate stopped by SIGINT; rerun with the same --out (OUT) to resume", true},
		{syscall.SIGTERM, jobs.JobEvaluate, exitSIGTERM, "eightbit: evaluate stopped by SIGTERM; no report was written, rerun to start again", false},
	}
	for _, c := range table {
		sigs := make(chan os.Signal, 2)
		again := make(chan os.Signal, 1)
		ctx, stop := watchSignals(context.Background(), sigs, func(s os.Signal) { again <- s })
		j := &blockingJob{started: make(chan struct{})}
		go func() {
			<-j.started
			sigs <- c.sig
		}()
		var stdout, stderr bytes.Buffer
		code := runNamed(ctx, c.job, "ZOO", "OUT", j, &stdout, &stderr)
		sigs <- c.sig
		select {
		case s := <-again:
			if s != c.sig {
				t.Errorf("second signal %v, want %v", s, c.sig)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%v: the second signal did not call the exit hook", c.sig)
		}
		stop()
		if code != c.code {
			t.Errorf("%v: exit %d, want %d", c.sig, code, c.code)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, c.want) {
			t.Errorf("%v: last line %q, want it to start with %q", c.sig, last, c.want)
		}
		if strings.Contains(stderr.String(), "context canceled") || stdout.Len() > 0 {
			t.Errorf("%v: stdout %q, stderr %q", c.sig, stdout.String(), stderr.String())
		}
	}
}

func TestStoppedLine(t *testing.T) {
	table := []struct {
		pr   *jobs.Progress
		want string
	}{
		{&jobs.Progress{}, "eightbit: quantize-zoo stopped by SIGINT before any model was read; rerun with the same --out (/o) to resume: finished models and the calibration ranges written so far are reused"},
		{&jobs.Progress{Models: 4, ModelsReused: 1, CalibPlanned: 3000, CalibDone: 3000, EvalPlanned: 6000, EvalDone: 1500},
			"eightbit: quantize-zoo stopped by SIGINT during evaluation: 1 of 4 models done (reused from earlier runs), calibration 3000/3000 and evaluation 1500/6000 samples; rerun with the same --out (/o) to resume: finished models and the calibration ranges written so far are reused"},
		{&jobs.Progress{Models: 2, CalibPlanned: 1000, CalibDone: 10},
			"eightbit: quantize-zoo stopped by SIGINT during calibration: 0 of 2 models done, calibration 10/1000 and evaluation 0/0 samples; rerun"},
	}
	for _, c := range table {
		if got := stoppedLine(os.Interrupt, jobs.JobQuantizeZoo, "/o", c.pr, true); !strings.HasPrefix(got, c.want) || strings.Contains(got, "\n") {
			t.Errorf("stoppedLine(%+v) =\n%q, want\n%q", *c.pr, got, c.want)
		}
	}
}

// TestClosingLines checks that every failure and every model with bad
// samples is one line naming the model, the stage and the cause.
func TestClosingLines(t *testing.T) {
	rep := report.New("quantize-zoo", "z", "v")
	rep.Models = []report.Model{
		{Name: "a", Status: report.StatusFailed, Error: "load: open a.onnx:\n  no such file\n" + strings.Repeat("y", 1000)},
		{Name: "b", Status: report.StatusOK, BadSamples: []report.BadSample{{ID: "s1", Error: "e"}, {ID: "s2", Error: "e"}}},
		{Name: "c", Status: report.StatusOK},
	}
	var buf bytes.Buffer
	printSummary(&buf, &jobs.Result{Report: rep, OK: 2, Failed: 1, ReportKey: "report.json", RunID: "r"}, "/out", time.Now())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[0], "eightbit: a: failed in load: open a.onnx: no such file yyy") || len([]rune(lines[0])) > errorChars+40 {
		t.Errorf("failure line %q", lines[0])
	}
	if lines[1] != "eightbit: b: 2 bad samples left out: s1, s2 (all in report.json)" {
		t.Errorf("bad samples line %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "eightbit: 2 models ok, 1 failed in ") {
		t.Errorf("summary line %q", lines[2])
	}
}

func TestExitForOneLine(t *testing.T) {
	var buf bytes.Buffer
	err := errors.New("pipeline on prism: job failed:\n\tlevel=ERROR msg=\"coder dump\"\n" + strings.Repeat("0x00 ", 500))
	if code := exitFor(err, &buf); code != exitFailed {
		t.Errorf("exit %d", code)
	}
	if s := buf.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "eightbit: pipeline on prism: job failed: level=ERROR") || len([]rune(s)) > errorChars+20 {
		t.Errorf("exitFor printed %q", s)
	}
}

func TestLocalDir(t *testing.T) {
	table := []struct {
		out, dir string
		ok       bool
	}{
		{"eightbit-out", "eightbit-out", true},
		{"/tmp/x", "/tmp/x", true},
		{"file:///tmp/x", "/tmp/x", true},
		{"file:///tmp/x?metadata=skip", "/tmp/x", true},
		{"s3://bucket/x", "", false},
		{"mem://b", "", false},
		{"", "", false},
	}
	for _, c := range table {
		if dir, ok := localDir(c.out); dir != c.dir || ok != c.ok {
			t.Errorf("localDir(%q) = %q, %v; want %q, %v", c.out, dir, ok, c.dir, c.ok)
		}
	}
}

// TestBeamLogToFile checks that without --verbose Beam's log lines (slog's
// default logger and the standard log package) go to out/beam.log.
func TestBeamLogToFile(t *testing.T) {
	out := t.TempDir()
	closeLog := initBeam(false, out)
	if got, want := beamLogPath(), filepath.Join(out, BeamLogName); got != want {
		t.Errorf("beamLogPath() = %q, want %q", got, want)
	}
	slog.Error("Prism received bundle error from worker response", "bundle", "inst038")
	log.Print("standard log line")
	closeLog()
	data, err := os.ReadFile(filepath.Join(out, BeamLogName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=ERROR msg=\"Prism received bundle error", "standard log line"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("beam.log lacks %q:\n%s", want, data)
		}
	}
	if beamLogPath() != "" {
		t.Error("log path kept after close")
	}
}
