package jobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// TestQuantizeZooSweep runs the demo zoo with a sweep of two schemes and
// two formats: every model appears once per setting, named
// <model>@<label>, with that setting's scheme, format and quantized file,
// and one float figure and one calibration (calibration/<model>.json,
// computed once) shared by its variants.
func TestQuantizeZooSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job")
	}
	zooDir := unpackDemoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	sweep := []transforms.QuantizeOptions{{Scheme: "u8s8-channel"}, {Scheme: "s8s8-channel", Format: "qoperator"}}
	var last transforms.Progress
	calls := 0
	progress := func(p transforms.Progress) { last, calls = p, calls+1 }
	res, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 300, Sweep: sweep, Progress: progress}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The final progress report counts every sample of the run (prism's
	// workers are in this process): each model calibrates once.
	if calls == 0 || last.Models != 8 || last.EvalPlanned != 8*300 || last.EvalDone != 8*300 || last.CalibDone != 4*1000 || last.CalibPlanned != 4*1000 {
		t.Errorf("progress (%d calls): %+v", calls, last)
	}
	if res.OK != 8 || res.Failed != 0 {
		t.Fatalf("%d ok, %d failed; want 8 ok", res.OK, res.Failed)
	}
	rows := byName(res.Report)
	for _, model := range []string{"mnist-lenet", "mnist-mlp", "mnist-dws", "mnist-dws-folded"} {
		a, b := rows[model+"@u8s8-channel"], rows[model+"@s8s8-channel+qoperator"]
		if a == nil || b == nil {
			t.Fatalf("%s: rows %v and %v", model, a, b)
		}
		if a.Scheme != "u8s8-channel" || a.Format != "qdq" || b.Scheme != "s8s8-channel" || b.Format != "qoperator" {
			t.Errorf("%s: settings %s/%s and %s/%s", model, a.Scheme, a.Format, b.Scheme, b.Format)
		}
		if *a.Float.Top1 != *b.Float.Top1 {
			t.Errorf("%s: float top-1 %v and %v", model, *a.Float.Top1, *b.Float.Top1)
		}
		want := "calibration/" + model + ".json"
		if a.Calibration == nil || b.Calibration == nil || a.Calibration.Ranges != want || b.Calibration.Ranges != want ||
			a.Calibration.Samples != 1000 || b.Calibration.Samples != 1000 {
			t.Errorf("%s: calibrations %+v and %+v, want both from %s", model, a.Calibration, b.Calibration, want)
		}
		for _, m := range []*report.Model{a, b} {
			if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(m.Int8.Model))); err != nil {
				t.Errorf("%s: %v", m.Name, err)
			}
		}
	}
	if files, _ := filepath.Glob(filepath.Join(out, "calibration", "*@*")); len(files) > 0 {
		t.Errorf("range files per sweep setting: %v", files)
	}
	dup := []transforms.QuantizeOptions{{Scheme: "u8s8-channel"}, {Format: "qdq"}}
	if _, err := (&QuantizeZoo{Zoo: zooDir, Out: out, Sweep: dup}).Run(context.Background()); !errors.Is(err, ErrConfig) {
		t.Errorf("a sweep listing one setting twice: %v", err)
	}
}

// TestBatchSizeDoesNotChangeResults runs the demo zoo with batches of 50
// (the default) and of 7: predictions and per-layer statistics are summed
// sample by sample, so the reports are byte-identical.
func TestBatchSizeDoesNotChangeResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job twice")
	}
	zooDir := unpackDemoZoo(t)
	var reports [][]byte
	for _, bs := range []int{0, 7} {
		out := filepath.Join(t.TempDir(), "out")
		if _, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 300, CalibSamples: 200, BatchSize: bs}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, b)
	}
	if string(reports[0]) != string(reports[1]) {
		t.Error("report.json differs between batch sizes 50 and 7")
	}
}

// TestCoreCountDoesNotChangeResults runs the demo zoo on one and on two
// cores (GOMAXPROCS, which sizes the kernels' worker pool and prism's
// bundles): the reports and the quantized models are byte-identical.
func TestCoreCountDoesNotChangeResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job twice")
	}
	zooDir := unpackDemoZoo(t)
	var outs []map[string][]byte
	for _, procs := range []int{1, 2} {
		out := filepath.Join(t.TempDir(), "out")
		prev := runtime.GOMAXPROCS(procs)
		_, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 300, CalibSamples: 200, Calibration: "entropy"}).Run(context.Background())
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, pattern := range []string{"report.json", "models/*.onnx", "calibration/*.json"} {
			paths, err := filepath.Glob(filepath.Join(out, pattern))
			if err != nil || len(paths) == 0 {
				t.Fatalf("%s: %v %v", pattern, paths, err)
			}
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				files[filepath.Base(p)] = b
			}
		}
		outs = append(outs, files)
	}
	if len(outs[0]) != len(outs[1]) {
		t.Fatalf("%d files on one core, %d on two", len(outs[0]), len(outs[1]))
	}
	for name, b := range outs[0] {
		if !bytes.Equal(b, outs[1][name]) {
			t.Errorf("%s differs between one and two cores", name)
		}
	}
}

// TestQuantizeZooCLE sweeps the demo zoo with and without cross-layer
// equalization: the equalized variants calibrate on their own
// (calibration/<model>+cle.json), report what was equalized, keep the
// float top-1 of the original model, and the depthwise-separable models,
// whose Conv→Relu→Conv chains CLE applies to, keep int8 top-1 within half a
// point of float.
func TestQuantizeZooCLE(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job")
	}
	zooDir := unpackDemoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	sweep := []transforms.QuantizeOptions{{Scheme: "u8s8-tensor"}, {Scheme: "u8s8-tensor", CLE: true}}
	res, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 500, CalibSamples: 200, Sweep: sweep}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 8 {
		t.Fatalf("%d ok, %d failed", res.OK, res.Failed)
	}
	rows := byName(res.Report)
	for _, model := range []string{"mnist-lenet", "mnist-mlp", "mnist-dws", "mnist-dws-folded"} {
		plain, cle := rows[model+"@u8s8-tensor"], rows[model+"@u8s8-tensor+cle"]
		if plain == nil || cle == nil {
			t.Fatalf("%s: rows %v %v", model, plain, cle)
		}
		if plain.Equalization != nil || cle.Equalization == nil {
			t.Errorf("%s: equalization %+v and %+v", model, plain.Equalization, cle.Equalization)
		}
		if *plain.Float.Top1 != *cle.Float.Top1 {
			t.Errorf("%s: float top-1 %v and %v", model, *plain.Float.Top1, *cle.Float.Top1)
		}
		if want := "calibration/" + model + "+cle.json"; cle.Calibration.Ranges != want {
			t.Errorf("%s: ranges %s, want %s", model, cle.Calibration.Ranges, want)
		}
		t.Logf("%-17s float %.2f%%, int8 %.2f%%, with CLE %.2f%% (%d pairs, %d clips)", model, 100**plain.Float.Top1,
			100**plain.Int8.Top1, 100**cle.Int8.Top1, cle.Equalization.Pairs, cle.Equalization.Clips)
		// Per-layer statistics compare the int8 activations with the
		// equalized float model's, channel scales and all.
		for _, l := range cle.Layers {
			if l.SQNRDB != nil && *l.SQNRDB < 15 {
				t.Errorf("%s: layer %s SQNR %.1f dB with CLE", model, l.Tensor, *l.SQNRDB)
			}
		}
		if strings.HasPrefix(model, "mnist-dws") {
			if cle.Equalization.Pairs == 0 {
				t.Errorf("%s: nothing equalized", model)
			}
			if *plain.Float.Top1-*cle.Int8.Top1 > 0.005 {
				t.Errorf("%s: int8 with CLE %.2f points below float", model, 100*(*plain.Float.Top1-*cle.Int8.Top1))
			}
		}
	}
}
