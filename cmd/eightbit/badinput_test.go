package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/internal/badinput"
	"github.com/eightbitml/eightbit/jobs"
)

// TestInspectBadInputs runs every model case of the hostile-input corpus
// through `eightbit inspect`'s own loading path: the case's kind and
// message come either as inspect's error or as its compile error, and
// never as "eightbit runs this model".
func TestInspectBadInputs(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, c := range badinput.Cases() {
		if c.Type != badinput.Model {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			loc, err := c.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := inspectModel(context.Background(), loc)
			var msg string
			var kind failure.Kind
			switch {
			case err != nil:
				msg, kind = err.Error(), failure.KindOf(err)
			case rep.CompileErr != "":
				msg, kind = rep.CompileErr, failure.Kind(rep.CompileKind)
			case len(rep.Unsupported) > 0:
				msg, kind = strings.Join(rep.Unsupported, "; "), failure.Unsupported
			default:
				t.Fatalf("inspect found nothing wrong, want %s %q", c.Kind, c.Want)
			}
			if kind != c.Kind || !strings.Contains(msg, c.Want) {
				t.Errorf("inspect: %s %q, want %s containing %q", kind, msg, c.Kind, c.Want)
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d model cases", n)
	}
}

// TestOutProbe: an output folder the job cannot write fails in a second
// with one line and exit code 2, before the zoo is read.
func TestOutProbe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	zoo := filepath.Join(t.TempDir(), "no-zoo-here")
	cases := []struct{ name, cmd, out string }{
		{"quantize-zoo into a file", "quantize-zoo", file},
		{"evaluate below a file", "evaluate", filepath.Join(file, "out")},
		{"calibrate below a file", "calibrate", filepath.Join(file, "a", "b")},
		{"demo below a file", "demo", filepath.Join(file, "demo")},
	}
	if os.Geteuid() != 0 { // root writes into read-only folders
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, cmd, out string }{"quantize-zoo read-only", "quantize-zoo", ro})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{tc.cmd, "--out", tc.out}
			if tc.cmd != "demo" {
				args = append(args, "--zoo", zoo)
			}
			start := time.Now()
			code, out, errs := runCLI(args...)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(errs, "is not writable") || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if strings.Contains(errs, "no-zoo-here") {
				t.Errorf("the zoo was read before the probe: %q", errs)
			}
		})
	}
	// A writable folder passes and keeps no marker.
	ok := t.TempDir()
	if !probeOut(context.Background(), "test", ok, os.Stderr) {
		t.Fatal("probe of a writable folder failed")
	}
	if es, _ := os.ReadDir(ok); len(es) != 0 {
		t.Errorf("probe left %v", es)
	}
}

// TestJobErrorKind: a job that cannot start is a config failure.
func TestJobErrorKind(t *testing.T) {
	err := fmt.Errorf("quantize-zoo: %w: no --zoo", jobs.ErrConfig)
	if failure.KindOf(err) != failure.Config || !errors.Is(err, jobs.ErrConfig) {
		t.Errorf("%v has kind %s", err, failure.KindOf(err))
	}
}
