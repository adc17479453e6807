package jobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/storage/storagetest"
	"github.com/eightbitml/eightbit/tensor"
	"github.com/eightbitml/eightbit/transforms"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// unsupportedModel is a valid ONNX model whose one node uses an op eightbit
// does not implement.
func unsupportedModel(t *testing.T) []byte {
	m := &graph.Model{
		IRVersion: 8,
		Opsets:    map[string]int64{"": 13},
		Graph: &graph.Graph{
			Name:         "g",
			Inputs:       []graph.ValueInfo{{Name: "input", DType: tensor.Float32, Shape: []graph.Dim{{Param: "batch"}, {Value: 1}, {Value: 28}, {Value: 28}}}},
			Outputs:      []graph.ValueInfo{{Name: "logits", DType: tensor.Float32}},
			Initializers: map[string]*tensor.Tensor{},
			Nodes: []*graph.Node{
				{Name: "mystery", OpType: "FancyOp", Inputs: []string{"input"}, Outputs: []string{"logits"}},
			},
		},
	}
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// demoZoo unpacks the demo zoo and adds two broken models to its manifest.
// unpackDemoZoo unpacks the embedded demo zoo into a new folder and
// returns it.
func unpackDemoZoo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func demoZoo(t *testing.T) string {
	dir := unpackDemoZoo(t)
	if err := os.WriteFile(filepath.Join(dir, "mnist", "garbage.onnx"), []byte("this is not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mnist", "fancy.onnx"), unsupportedModel(t), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "zoo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest = append(manifest, []byte(`
  - name: broken-garbage
    file: mnist/garbage.onnx
    dataset: mnist-demo
  - name: broken-fancy-op
    file: mnist/fancy.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
`)...)
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func byName(r *report.Report) map[string]*report.Model {
	m := map[string]*report.Model{}
	for i := range r.Models {
		m[r.Models[i].Name] = &r.Models[i]
	}
	return m
}

// TestQuantizeZooDemo runs the whole job on prism over the demo zoo plus two
// broken models, and checks the acceptance figures.
func TestQuantizeZooDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo job")
	}
	zooDir := demoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := (&QuantizeZoo{Zoo: zooDir, Out: out}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 4 || res.Failed != 2 {
		t.Fatalf("%d ok, %d failed; want 4 and 2", res.OK, res.Failed)
	}
	rows := byName(res.Report)
	for _, name := range []string{"mnist-lenet", "mnist-mlp", "mnist-dws", "mnist-dws-folded"} {
		m := rows[name]
		if m == nil || m.Status != report.StatusOK {
			t.Fatalf("%s: %+v", name, m)
		}
		if m.Float.Top1 == nil || m.Int8.Top1 == nil || m.Agreement == nil {
			t.Fatalf("%s: missing figures %+v", name, m)
		}
		drop := *m.Float.Top1 - *m.Int8.Top1
		ratio := float64(m.Int8.Bytes) / float64(m.Float.Bytes)
		t.Logf("%-17s float %.2f%% int8 %.2f%% agreement %.2f%% size %.1f%%", name, 100**m.Float.Top1, 100**m.Int8.Top1, 100**m.Agreement, 100*ratio)
		if m.Float.Samples != 2000 || m.Int8.Samples != 2000 {
			t.Errorf("%s: %d/%d samples, want 2000", name, m.Float.Samples, m.Int8.Samples)
		}
		if drop > 0.01 {
			t.Errorf("%s: int8 top-1 is %.2f points below float", name, 100*drop)
		}
		if ratio > 0.30 {
			t.Errorf("%s: quantized file is %.1f%% of the float file", name, 100*ratio)
		}
		st, err := os.Stat(filepath.Join(out, filepath.FromSlash(m.Int8.Model)))
		if err != nil || st.Size() != m.Int8.Bytes {
			t.Errorf("%s: quantized file %s: %v", name, m.Int8.Model, err)
		}
	}
	// The float figures of the trained models on the demo subset are known
	// from ONNX Runtime (models/trained/README.md).
	want := map[string]float64{"mnist-lenet": 0.9890, "mnist-mlp": 0.9755, "mnist-dws": 0.9880, "mnist-dws-folded": 0.9880}
	for name, top1 := range want {
		if got := rows[name].Float.Top1; got == nil || *got != top1 {
			t.Errorf("%s: float top-1 %v, ONNX Runtime %.4f", name, got, top1)
		}
	}
	g := rows["broken-garbage"]
	if g == nil || g.Status != report.StatusFailed || !strings.Contains(g.Error, "mnist/garbage.onnx") {
		t.Errorf("garbage model: %+v", g)
	}
	f := rows["broken-fancy-op"]
	if f == nil || f.Status != report.StatusFailed || !strings.Contains(f.Error, "FancyOp") || !strings.Contains(f.Error, "mnist/fancy.onnx") {
		t.Errorf("unsupported-op model: %+v", f)
	}

	// The failed models are in the dead-letter file.
	dl, err := os.ReadFile(filepath.Join(out, "dead-letter.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(dl)), "\n"); err != nil || len(lines) != 2 ||
		!strings.Contains(lines[0], `"kind":"model","model":"broken-fancy-op"`) || !strings.Contains(lines[1], `"model":"broken-garbage"`) {
		t.Errorf("dead-letter.jsonl: %q (%v)", dl, err)
	}
	// Beam metrics read back after the run, also in run.json.
	if m := res.Metrics; m["evaluation_images"].Value != 4*2000 || m["calibration_images"].Value != 4*1000 ||
		m["failed_models"].Value != 2 || m["int8_batch_us"].Count == 0 || m["model_bytes"].Count != 5 { // the unsupported-op model parses
		t.Errorf("metrics %+v", m)
	}
	if info, err := transforms.ReadRunInfo(context.Background(), out, res.RunID); err != nil || info.Metrics["evaluation_images"].Value != 8000 || info.Seconds <= 0 {
		t.Errorf("run.json %+v (%v)", info, err)
	}
	// Reports are on disk, also under the run's folder.
	first := readOutputs(t, out)
	if run := first[path.Join("runs", res.RunID, "report.json")]; !bytes.Equal(run, first["report.json"]) {
		t.Errorf("runs/%s/report.json differs from report.json", res.RunID)
	}
	same := func(what string) {
		t.Helper()
		again := readOutputs(t, out)
		for k, v := range first {
			if !bytes.Equal(v, again[k]) {
				t.Errorf("%s: %s differs from the first run's", what, k)
			}
		}
	}
	// A rerun with nothing changed reuses every complete model (the failed
	// ones run again) and gives byte-identical outputs.
	res2, err := (&QuantizeZoo{Zoo: zooDir, Out: out}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mnist-dws", "mnist-dws-folded", "mnist-lenet", "mnist-mlp"}; !slices.Equal(res2.Reused, want) {
		t.Errorf("second run reused %v, want %v", res2.Reused, want)
	}
	if m := res2.Metrics; m["reused_models"].Value != 4 || m["evaluation_images"].Value != 0 {
		t.Errorf("second run's metrics %+v", m)
	}
	same("second run")
	if latest, _ := os.ReadFile(filepath.Join(out, "LATEST")); string(latest) != res2.RunID+"\n" {
		t.Errorf("LATEST %q, want run %s", latest, res2.RunID)
	}
	// --force runs everything again, to the same bytes.
	res3, err := (&QuantizeZoo{Zoo: zooDir, Out: out, Force: true}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res3.Reused) != 0 {
		t.Errorf("forced run reused %v", res3.Reused)
	}
	same("forced run")
	// A quantized model that changed since its row was measured is
	// measured again; the others are still reused.
	mlp := filepath.Join(out, "models", "mnist-mlp.int8.onnx")
	if err := os.WriteFile(mlp, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	res4, err := (&QuantizeZoo{Zoo: zooDir, Out: out}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mnist-dws", "mnist-dws-folded", "mnist-lenet"}; !slices.Equal(res4.Reused, want) {
		t.Errorf("run after changing a quantized model reused %v, want %v", res4.Reused, want)
	}
	same("run after changing a quantized model")
	// Other settings are other results: nothing is reused.
	res5, err := (&QuantizeZoo{Zoo: zooDir, Out: t.TempDir(), EvalSamples: 500}).Run(context.Background())
	if err != nil || len(res5.Reused) != 0 {
		t.Errorf("fresh folder: reused %v (%v)", res5.Reused, err)
	}
	res6, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 500}).Run(context.Background())
	if err != nil || len(res6.Reused) != 0 {
		t.Errorf("other evaluation settings: reused %v (%v)", res6.Reused, err)
	}
	for _, k := range []string{"report.md", "summary.csv", "index.html"} {
		if _, ok := first[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
}

// readOutputs reads every file under dir except the per-run bookkeeping
// (LATEST and runs/<id>/run.json, which name the run).
func readOutputs(t *testing.T, dir string) map[string][]byte {
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Name() == "LATEST" || info.Name() == "run.json" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestQuantizeZooS3 reads the zoo from and writes the outputs to an
// S3-protocol server started in the test.
func TestQuantizeZooS3(t *testing.T) {
	ctx := context.Background()
	base := storagetest.StartS3(t)
	zooURL, err := storage.Join(base, "zoo")
	if err != nil {
		t.Fatal(err)
	}
	outURL, err := storage.Join(base, "runs/1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := storage.Open(ctx, zooURL)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(local); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"zoo.yaml", "mnist/mnist-dws-folded.onnx", "mnist/mnist-mlp.onnx",
		"demo-data/demo-train-images-idx3-ubyte.gz", "demo-data/demo-train-labels-idx1-ubyte.gz",
		"demo-data/demo-t10k-images-idx3-ubyte.gz", "demo-data/demo-t10k-labels-idx1-ubyte.gz"} {
		data, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if rel == "zoo.yaml" {
			// Keep two models; the others are not uploaded.
			data = []byte(strings.Split(string(data), "  - name: mnist-lenet")[0] + `  - name: mnist-mlp
    file: mnist/mnist-mlp.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
  - name: mnist-dws-folded
    file: mnist/mnist-dws-folded.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
`)
		}
		if err := b.WriteAtomic(ctx, rel, data, ""); err != nil {
			t.Fatal(err)
		}
	}
	res, err := (&QuantizeZoo{Zoo: zooURL, Out: outURL, CalibSamples: 200, EvalSamples: 300, ShardSize: 100}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 2 || res.Failed != 0 {
		t.Fatalf("%d ok, %d failed: %+v", res.OK, res.Failed, res.Report.Models)
	}
	ob, err := storage.Open(ctx, outURL)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ob.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	run := "runs/" + res.RunID + "/"
	want := []string{"LATEST", "calibration/mnist-dws-folded.json", "calibration/mnist-mlp.json", "dead-letter.jsonl", "index.html", "models/mnist-dws-folded.int8.onnx", "models/mnist-mlp.int8.onnx", "report.json", "report.md",
		"results/mnist-dws-folded.json", "results/mnist-mlp.json", run + "dead-letter.jsonl", run + "index.html", run + "report.json", run + "report.md", run + "run.json", run + "summary.csv", "summary.csv"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("outputs %v, want %v", keys, want)
	}
	for _, m := range res.Report.Models {
		if m.Float.Samples != 300 {
			t.Errorf("%s: %d evaluation samples, want 300", m.Name, m.Float.Samples)
		}
	}
}

// TestQuantizeZooSchemeAndFormat runs the job with a non-default scheme and
// output format and checks that the quantized files and the report follow.
func TestQuantizeZooSchemeAndFormat(t *testing.T) {
	zooDir := unpackDemoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	job := &QuantizeZoo{Zoo: zooDir, Out: out, CalibSamples: 200, EvalSamples: 300, ShardSize: 100,
		Quantize: transforms.QuantizeOptions{Scheme: "u8s8-tensor", Format: "qoperator", AllowContribOps: true}}
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 4 || res.Failed != 0 {
		t.Fatalf("%d ok, %d failed", res.OK, res.Failed)
	}
	for _, m := range res.Report.Models {
		if m.Scheme != "u8s8-tensor" || m.Format != "qoperator" {
			t.Errorf("%s: scheme %q format %q", m.Name, m.Scheme, m.Format)
		}
		if d := *m.Float.Top1 - *m.Int8.Top1; d > 0.01 {
			t.Errorf("%s: int8 top-1 %.2f points below float", m.Name, 100*d)
		}
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(m.Int8.Model)))
		if err != nil {
			t.Fatal(err)
		}
		qm, err := onnx.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		ops := qm.Graph.OpCounts()
		if ops["QLinearConv"]+ops["QLinearMatMul"] == 0 || ops["Conv"]+ops["Gemm"]+ops["MatMul"] != 0 {
			t.Errorf("%s: not a QOperator model: %v", m.Name, ops)
		}
	}
}

func TestQuantizeZooConfigErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte("models: [{name: x, file: ../x.onnx, dataset: d}]\n"), 0o644)
	table := []struct {
		name string
		job  QuantizeZoo
		want string
	}{
		{"no zoo", QuantizeZoo{Out: dir}, "no zoo"},
		{"no out", QuantizeZoo{Zoo: dir}, "no output"},
		{"bad runner", QuantizeZoo{Zoo: dir, Out: dir, Runner: "Prism"}, "unknown runner"},
		{"bad scheme", QuantizeZoo{Zoo: dir, Out: dir, Quantize: transforms.QuantizeOptions{Scheme: "u4"}}, `scheme "u4"`},
		{"bad format", QuantizeZoo{Zoo: dir, Out: dir, Quantize: transforms.QuantizeOptions{Format: "tflite"}}, `format "tflite"`},
		{"missing manifest", QuantizeZoo{Zoo: filepath.Join(dir, "nowhere"), Out: dir}, "nowhere"},
		{"bad manifest", QuantizeZoo{Zoo: dir, Out: dir}, "escapes the zoo"},
		{"bad method", QuantizeZoo{Zoo: dir, Out: dir, Calibration: "median"}, "unknown method"},
		{"bad percentile", QuantizeZoo{Zoo: dir, Out: dir, Calibration: "percentile", Percentile: 101}, "percentile"},
		{"percentile without method", QuantizeZoo{Zoo: dir, Out: dir, Percentile: 99.9}, "--percentile"},
	}
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.job.Run(ctx)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrConfig mentioning %q", err, c.want)
			}
		})
	}
}
