package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/quantize"
)

// TestBench times a demo model and its QDQ version: the float file runs in
// float, the quantized one in integer arithmetic, both report positive
// times at the requested batch and thread count; bad arguments and files
// are usage errors and failures naming what is wrong.
func TestBench(t *testing.T) {
	dir, float, m := demoModel(t, "mnist-lenet")
	ranges := madeUpRanges(t, m)
	q, _, err := quantize.Quantize(m, ranges, quantize.Options{Format: quantize.FormatQDQ})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := onnx.Encode(q)
	if err != nil {
		t.Fatal(err)
	}
	int8 := filepath.Join(dir, "lenet.int8.onnx")
	if err := os.WriteFile(int8, enc, 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI("bench", float, int8, "--json", "--batch", "3", "--threads", "1", "--runs", "2", "--iters", "1", "--warmup", "1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rs []benchResult
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || len(rs) != 2 {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for i, want := range []struct {
		kind  string
		share float64
	}{{"float", 0}, {"int8", 1}} {
		r := rs[i]
		if r.Kind != want.kind || r.Input != "[3,1,28,28]" || r.Batch != 3 || r.Threads != 1 || r.Runs != 2 || r.Iters != 1 ||
			r.MinMS <= 0 || r.MedianMS < r.MinMS || r.ImagesPerSec <= 0 || r.IntegerMACShare != want.share {
			t.Errorf("result %d: %+v; want kind %s, integer MAC share %v", i, r, want.kind, want.share)
		}
	}

	code, stdout, _ = runCLI("bench", float, "--input-shape", "2,1,28,28", "--runs", "1", "--iters", "1", "--warmup", "0")
	if code != exitOK || !strings.Contains(stdout, "median ms/image") || !strings.Contains(stdout, "[2,1,28,28]") {
		t.Errorf("table output (exit %d):\n%s", code, stdout)
	}

	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"bench"}, exitUsage, "missing MODEL_URL"},
		{[]string{"bench", float, "--runs", "0"}, exitUsage, "--runs"},
		{[]string{"bench", float, "--input-shape", "1,x"}, exitUsage, "--input-shape"},
		{[]string{"bench", filepath.Join(dir, "absent.onnx")}, exitFailed, "absent.onnx"},
		{[]string{"bench", garbage}, exitFailed, "garbage.onnx"},
		{[]string{"bench", float, "--input-shape", "1,1,5,5", "--iters", "1", "--runs", "1"}, exitFailed, "lenet"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}
