package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// TestCalibrateThenEvaluate runs the calibrate job over the demo zoo (plus
// two broken models), checks the range files it caches and that a
// quantize-zoo run would hit them, quantizes mnist-lenet with those ranges
// in Go (QDQ and QOperator, as another tool would hand them over), lists
// the results in the manifest and runs the evaluate job over all of it.
func TestCalibrateThenEvaluate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two Beam jobs")
	}
	ctx := context.Background()
	zooDir := demoZoo(t)
	out := filepath.Join(t.TempDir(), "calib")

	cal := &Calibrate{Zoo: zooDir, Out: out, CalibSamples: 300, ShardSize: 100}
	res, err := cal.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 4 || res.Failed != 2 {
		t.Fatalf("calibrate: %d ok, %d failed; want 4 and 2", res.OK, res.Failed)
	}
	rows := byName(res.Report)
	if res.Report.Job != JobCalibrate {
		t.Errorf("report job %q", res.Report.Job)
	}
	lenet := rows["mnist-lenet"]
	if lenet.Calibration == nil || lenet.Calibration.Samples != 300 || lenet.Calibration.Method != "minmax" || lenet.Calibration.Ranges != "calibration/mnist-lenet.json" {
		t.Fatalf("mnist-lenet calibration: %+v", lenet.Calibration)
	}
	if g := rows["broken-garbage"]; g.Status != report.StatusFailed || !strings.Contains(g.Error, "garbage.onnx") {
		t.Errorf("garbage: %+v", g)
	}
	rangeFile, err := os.ReadFile(filepath.Join(out, "calibration", "mnist-lenet.json"))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := transforms.DecodeCalibFile(rangeFile)
	if err != nil {
		t.Fatal(err)
	}

	// A second calibrate run with the same settings reuses the cache: the
	// files are unchanged.
	if _, err := cal.Run(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "calibration", "mnist-lenet.json"))
	if string(again) != string(rangeFile) {
		t.Error("range file changed on a cached rerun")
	}

	// Quantize mnist-lenet outside the job, as another tool would.
	data, err := os.ReadFile(filepath.Join(zooDir, "mnist", "mnist-lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []quantize.Format{quantize.FormatQDQ, quantize.FormatQOperator} {
		m, err := onnx.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := quantize.Quantize(m, cf.Table.Ranges(), quantize.Options{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		b, err := onnx.Encode(q)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(zooDir, "mnist", "lenet-"+string(format)+".onnx"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(filepath.Join(zooDir, "zoo.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`
  - name: lenet-ort-qdq
    file: mnist/lenet-qdq.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
  - name: lenet-ort-qoperator
    file: mnist/lenet-qoperator.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
`)
	f.Close()

	evalOut := filepath.Join(t.TempDir(), "eval")
	res, err = (&Evaluate{Zoo: zooDir, Out: evalOut, EvalSamples: 500, ShardSize: 100}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 6 || res.Failed != 2 {
		t.Fatalf("evaluate: %d ok, %d failed; want 6 and 2", res.OK, res.Failed)
	}
	rows = byName(res.Report)
	fl := rows["mnist-lenet"]
	if fl.Float == nil || fl.Float.Top1 == nil || fl.Float.Samples != 500 || fl.Int8 != nil || fl.Format != "" {
		t.Fatalf("mnist-lenet: %+v", fl)
	}
	for _, name := range []string{"lenet-ort-qdq", "lenet-ort-qoperator"} {
		m := rows[name]
		if m.Status != report.StatusOK || m.Float != nil || m.Int8 == nil || m.Int8.Top1 == nil || m.Int8.Samples != 500 {
			t.Fatalf("%s: %+v", name, m)
		}
		want := strings.TrimPrefix(name, "lenet-ort-")
		if m.Format != want {
			t.Errorf("%s: format %q, want %q", name, m.Format, want)
		}
		if d := *m.Int8.Top1 - *fl.Float.Top1; d < -0.01 {
			t.Errorf("%s: top-1 %.4f, float %.4f", name, *m.Int8.Top1, *fl.Float.Top1)
		}
		if m.Int8.Bytes <= 0 || m.Int8.Bytes >= fl.Float.Bytes/2 {
			t.Errorf("%s: %d bytes, float %d", name, m.Int8.Bytes, fl.Float.Bytes)
		}
		t.Logf("%s: top-1 %.2f%% (float %.2f%%), %d bytes", name, 100**m.Int8.Top1, 100**fl.Float.Top1, m.Int8.Bytes)
	}
	if f := rows["broken-fancy-op"]; f.Status != report.StatusFailed || !strings.Contains(f.Error, "FancyOp") {
		t.Errorf("fancy: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(evalOut, "report.md")); err != nil {
		t.Error(err)
	}
}

func TestEvaluateCalibrateConfigErrors(t *testing.T) {
	ctx := context.Background()
	for name, j := range map[string]Job{
		"evaluate no zoo":         &Evaluate{Out: t.TempDir()},
		"evaluate missing zoo":    &Evaluate{Zoo: filepath.Join(t.TempDir(), "nothing"), Out: t.TempDir()},
		"calibrate bad method":    &Calibrate{Zoo: "x", Out: t.TempDir(), Calibration: "median"},
		"calibrate bad runner":    &Calibrate{Zoo: "x", Out: t.TempDir(), Runner: "Prism"},
		"calibrate negative caps": &Calibrate{Zoo: "x", Out: t.TempDir(), CalibSamples: -1},
	} {
		if _, err := j.Run(ctx); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// TestOutsideLocations runs the calibrate and evaluate jobs over a manifest
// whose model and dataset are absolute paths outside its folder: refused
// without AllowOutside, run with it.
func TestOutsideLocations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two Beam jobs")
	}
	ctx := context.Background()
	models := unpackDemoZoo(t)
	dir := t.TempDir()
	manifest := fmt.Sprintf(`name: outside
datasets:
  mnist:
    format: idx
    classes: 10
    location: %[1]s/demo-data
    calibration: {images: demo-train-images-idx3-ubyte.gz, labels: demo-train-labels-idx1-ubyte.gz}
    evaluation: {images: demo-t10k-images-idx3-ubyte.gz, labels: demo-t10k-labels-idx1-ubyte.gz}
models:
  - {name: mnist-mlp, file: %[1]s/mnist/mnist-mlp.onnx, dataset: mnist, preprocess: {divide: 255}}
`, filepath.ToSlash(models))
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	for _, j := range []Job{&Evaluate{Zoo: dir, Out: out}, &Calibrate{Zoo: dir, Out: out}} {
		if _, err := j.Run(ctx); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--allow-outside") {
			t.Errorf("%T without AllowOutside: %v, want ErrConfig naming --allow-outside", j, err)
		}
	}
	for _, j := range []Job{
		&Calibrate{Zoo: dir, Out: out, CalibSamples: 100, AllowOutside: true},
		&Evaluate{Zoo: dir, Out: out, EvalSamples: 100, AllowOutside: true},
	} {
		res, err := j.Run(ctx)
		if err != nil {
			t.Fatalf("%T: %v", j, err)
		}
		if res.OK != 1 || res.Failed != 0 {
			t.Errorf("%T: %d ok, %d failed; want 1 ok", j, res.OK, res.Failed)
		}
	}
}
