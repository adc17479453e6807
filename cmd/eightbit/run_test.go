package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/report"
)

func writeSpec(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunSpecErrors(t *testing.T) {
	table := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run"}, exitUsage, "a spec file is required"},
		{[]string{"run", "--help"}, exitOK, "Flags override the file"},
		{[]string{"help", "run"}, exitOK, "Flags override the file"},
		{[]string{"run", filepath.Join(t.TempDir(), "none.yaml")}, exitUsage, "none.yaml"},
		{[]string{"run", writeSpec(t, "job: evaluate\nzoo: z\nout: o\ncolour: red\n")}, exitUsage, "field colour not found"},
		{[]string{"run", writeSpec(t, "job: calibrate\nzoo: z\nout: o\n"), "--calibration", "median"}, exitUsage, `calibration.method: "median"`},
		{[]string{"run", writeSpec(t, "job: evaluate\nzoo: z\n")}, exitUsage, "out: missing"},
		{[]string{"run", writeSpec(t, "job: evaluate\nzoo: z\nout: o\n"), "--colour=red"}, exitUsage, `unknown flag "--colour=red"`},
		{[]string{"evaluate"}, exitUsage, "--zoo and --out are required"},
		{[]string{"calibrate", "--zoo", "z"}, exitUsage, "--zoo and --out are required"},
		{[]string{"help", "evaluate"}, exitOK, "QDQ or QOperator"},
		{[]string{"help", "calibrate"}, exitOK, "calibration cache"},
	}
	for _, c := range table {
		code, out, errs := runCLI(c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("eightbit %v: exit %d, want %d; output %q does not contain %q", c.args, code, c.code, out+errs, c.want)
		}
	}
}

// TestRunSpecOverride runs an evaluate spec whose sample cap and output
// folder are overridden by flags.
func TestRunSpecOverride(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Beam job")
	}
	zoo := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(zoo); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	spec := writeSpec(t, "job: evaluate\nzoo: "+zoo+"\nout: /nonexistent/never-written\nevaluation: {samples: 1000}\nshard_size: 100\n")
	code, stdout, errs := runCLI("run", spec, "--out", out, "--eval-samples", "200")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "eightbit report: evaluate") {
		t.Errorf("stdout %q", stdout)
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Models) != 4 {
		t.Fatalf("%d models", len(rep.Models))
	}
	for _, m := range rep.Models {
		if m.Status != report.StatusOK || m.Float == nil || m.Float.Samples != 200 {
			t.Errorf("%s: %+v", m.Name, m)
		}
	}
}

// TestRunSpecGates runs a quantize-zoo spec whose gate no model passes
// (int8 and float disagree on a sample or two of the 2000 of every demo
// model: exit 1, each failure named), then again with the gates overridden
// by flags (exit 0, the models reused).
func TestRunSpecGates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two Beam jobs")
	}
	zoo := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(zoo); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	spec := writeSpec(t, "job: quantize-zoo\nzoo: "+zoo+"\nout: "+out+
		"\ncalibration: {samples: 200}\ngates: {max_top1_drop: 0.5, min_agreement: 1}\n")
	code, stdout, errs := runCLI("run", spec)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d: %s\n%s", code, exitFailed, errs, stdout)
	}
	if n := strings.Count(errs, "eightbit: gate failed: "); n == 0 {
		t.Errorf("no gate failure named: %s", errs)
	}
	code, _, errs = runCLI("run", spec, "--max-top1-drop", "1", "--min-agreement", "0")
	if code != exitOK {
		t.Fatalf("exit %d with the gates lifted: %s", code, errs)
	}
	if !strings.Contains(errs, "4 of them reused") {
		t.Errorf("models not reused: %s", errs)
	}
}
