package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

func TestReportDiff(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, top1 float64) string {
		r := report.New("nightly", "", "dev")
		r.Models = []report.Model{
			{Name: "a", Status: report.StatusOK, Int8: &report.Int8{Top1: &top1}},
			{Name: "b", Status: report.StatusFailed, Error: "x"},
		}
		js, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, js, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old, cur := write("old.json", 0.9), write("new.json", 0.95)
	code, out, errs := runCLI("report", "diff", old, "file://"+cur)
	if code != exitOK || !strings.Contains(out, "## a (changed)") || !strings.Contains(out, "| int8 top-1 | 90.00% | 95.00% |") || strings.Contains(out, "## b") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report"}, exitUsage, "missing subcommand diff"},
		{[]string{"report", "merge", old, cur}, exitUsage, `unknown subcommand "merge"`},
		{[]string{"report", "diff", old}, exitUsage, "needs OLD and NEW"},
		{[]string{"report", "--help"}, exitOK, "Usage: eightbit report diff OLD NEW"},
		{[]string{"report", "diff", old, filepath.Join(dir, "missing.json")}, exitFailed, "missing.json"},
	} {
		code, out, errs := runCLI(c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("eightbit %v: exit %d, want %d; output %q lacks %q", c.args, code, c.code, out+errs, c.want)
		}
	}
}
