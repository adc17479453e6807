package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndErrors(t *testing.T) {
	table := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"help"}, exitOK, "quantize-zoo"},
		{[]string{"demo", "--help"}, exitOK, "embedded demo zoo"},
		{[]string{"help", "quantize-zoo"}, exitOK, "--zoo"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"quantize-zoo"}, exitUsage, "--zoo and --out are required"},
		{[]string{"quantize-zoo", "--zoo", "x", "--out"}, exitUsage, "needs a value"},
		{[]string{"quantize-zoo", "--colour=red"}, exitUsage, `unknown flag "--colour=red"`},
		{[]string{"quantize-zoo", "--zoo", "x", "--out", "y", "stray"}, exitUsage, `unexpected argument "stray"`},
		{[]string{"quantize-zoo", "--zoo", filepath.Join(os.TempDir(), "no-such-zoo-here"), "--out", t.TempDir()}, exitUsage, "no-such-zoo-here"},
	}
	for _, c := range table {
		code, out, errs := runCLI(c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("eightbit %v: exit %d, want %d; output %q does not contain %q", c.args, code, c.code, out+errs, c.want)
		}
	}
}

// TestDemo runs the README's first command.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job")
	}
	dir := t.TempDir()
	code, out, errs := runCLI("demo", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "| mnist-lenet | ok |") || !strings.Contains(errs, "4 models ok, 0 failed") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errs)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Models) != 4 {
		t.Fatalf("%d models in report.json", len(rep.Models))
	}
	for _, f := range []string{"report.md", "demo-zoo/zoo.yaml", "models/mnist-lenet.int8.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
