package jobs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// smallZoo unpacks the demo zoo keeping only mnist-mlp and mnist-lenet.
func smallZoo(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(dir); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(dir, "zoo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(man), "  - name: mnist-lenet")
	head += `  - name: mnist-lenet
    file: mnist/mnist-lenet.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
  - name: mnist-mlp
    file: mnist/mnist-mlp.onnx
    dataset: mnist-demo
    preprocess: {divide: 255}
`
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestQuantizeZooDetailGatesAndBadLayer checks the evaluation detail and
// per-layer statistics of a run, then forces one layer's range bad in the
// range file (the next run reuses it: its key still matches) and checks
// that the report ranks that layer first, the gates fail and report diff
// shows that model only.
func TestQuantizeZooDetailGatesAndBadLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the job three times")
	}
	ctx := context.Background()
	zooDir := smallZoo(t)
	out := t.TempDir()
	lenient, zero := 1.0, 0.0
	job := QuantizeZoo{Zoo: zooDir, Out: out, CalibSamples: 200, EvalSamples: 300, ShardSize: 100,
		MaxTop1Drop: &lenient, MinAgreement: &zero}
	res, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 2 || len(res.GateFailures) != 0 {
		t.Fatalf("%d ok, gate failures %v", res.OK, res.GateFailures)
	}
	before := res.Report
	rows := byName(before)
	for name, m := range rows {
		if m.Gates == nil || !m.Gates.Passed {
			t.Errorf("%s: gates %+v", name, m.Gates)
		}
		if m.Float.Top5 == nil || m.Int8.Top5 == nil || *m.Float.Top5 < *m.Float.Top1 {
			t.Errorf("%s: top-5 %v %v", name, m.Float.Top5, m.Int8.Top5)
		}
		d := m.Top1Diff
		if d == nil || d.Samples != 300 || d.Diff != *m.Int8.Top1-*m.Float.Top1 && (d.Diff-(*m.Int8.Top1-*m.Float.Top1))*(d.Diff-(*m.Int8.Top1-*m.Float.Top1)) > 1e-18 {
			t.Errorf("%s: top1_diff %+v", name, d)
		}
		total := 0
		for _, c := range m.PerClass {
			total += c.Samples
		}
		if len(m.PerClass) != 10 || total != 300 {
			t.Errorf("%s: per_class %d classes, %d samples", name, len(m.PerClass), total)
		}
		if m.Params <= 0 || m.MACsPerImage <= 0 || m.IntegerMACShare == nil || *m.IntegerMACShare <= 0.5 {
			t.Errorf("%s: params %d macs %d share %v", name, m.Params, m.MACsPerImage, m.IntegerMACShare)
		}
		if len(m.Layers) == 0 || len(m.Culprits) == 0 || len(m.Culprits) > len(m.Layers) {
			t.Fatalf("%s: %d layers, culprits %v", name, len(m.Layers), m.Culprits)
		}
		for _, l := range m.Layers {
			if l.SQNRDB == nil && !l.Exact || l.LocalSQNRDB == nil && !l.LocalExact {
				t.Errorf("%s: layer %+v without SQNR", name, l)
			}
			if l.Values == 0 || l.Values%300 != 0 {
				t.Errorf("%s: layer %s compared %d values", name, l.Tensor, l.Values)
			}
		}
		t.Logf("%s: %d layers, culprits %v", name, len(m.Layers), m.Culprits)
	}
	for _, k := range []string{"summary.csv", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, k)); err != nil {
			t.Error(err)
		}
	}

	// Force the range of mnist-lenet's best-ranked (last culprit) Conv or
	// Gemm output, a calibrated hidden activation, to a hundredth of its
	// width.
	lenet := rows["mnist-lenet"]
	ops := map[string]string{}
	for _, l := range lenet.Layers {
		ops[l.Tensor] = l.Op
	}
	victim := ""
	for i := len(lenet.Culprits) - 1; i >= 0 && victim == ""; i-- {
		if c := lenet.Culprits[i]; ops[c] == "Conv" || ops[c] == "Gemm" {
			victim = c
		}
	}
	t.Logf("forcing a bad range on %s (%s)", victim, ops[victim])
	file := filepath.Join(out, filepath.FromSlash(transforms.CalibFileKey("mnist-lenet")))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := transforms.DecodeCalibFile(data)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range cf.Table.Tensors {
		if r := &cf.Table.Tensors[i]; r.Name == victim {
			r.Min, r.Max, found = r.Min/100, r.Max/100, true
		}
	}
	if !found {
		t.Fatalf("tensor %q not in the range file", victim)
	}
	if data, err = transforms.EncodeCalibFile(cf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	strict := 0.0
	job.MaxTop1Drop, job.MinAgreement = &strict, &lenient
	// The edited range file is reused (its key still matches); Force runs
	// the models again instead of reusing their rows.
	job.Force = true
	res, err = job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := byName(res.Report)["mnist-lenet"]
	if len(after.Culprits) == 0 || after.Culprits[0] != victim {
		t.Fatalf("culprits %v, want %s first", after.Culprits, victim)
	}
	if after.Gates == nil || after.Gates.Passed || len(res.GateFailures) == 0 {
		t.Errorf("gates %+v, failures %v", after.Gates, res.GateFailures)
	}

	// report diff between the first and the bad run (without gates, which
	// differ by configuration) names mnist-lenet and not mnist-mlp.
	a, b := *before, *res.Report
	for _, r := range []*report.Report{&a, &b} {
		r.Models = append([]report.Model(nil), r.Models...)
		for i := range r.Models {
			r.Models[i].Gates = nil
		}
	}
	d := report.Diff(&a, &b)
	js, _ := json.Marshal(d)
	md := string(d.Markdown())
	t.Logf("diff:\n%s", md)
	if !strings.Contains(md, "mnist-lenet") || strings.Contains(md, "mnist-mlp") {
		t.Errorf("diff:\n%s\n%s", md, js)
	}
}

// TestImageFolderCappedAndBadSamples runs an image-folder zoo with capped
// calibration and evaluation (issue 7: capping works on encoded datasets)
// and checks that the bad samples are listed in the report.
func TestImageFolderCappedAndBadSamples(t *testing.T) {
	local := filepath.Join(t.TempDir(), "zoo")
	upload(t, local, imageFolderFiles(t))
	out := t.TempDir()
	job := QuantizeZoo{Zoo: local, Out: out, CalibSamples: 40, EvalSamples: 100, ShardSize: 30}
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 1 {
		t.Fatalf("%d ok: %+v", res.OK, res.Report.Models)
	}
	m := res.Report.Models[0]
	if m.Calibration == nil || m.Calibration.Samples != 40 || m.Float.Samples != 100 {
		t.Errorf("calibration %+v, %d evaluation samples", m.Calibration, m.Float.Samples)
	}
	if len(m.BadSamples) != 2 || m.Float.Failed != 2 {
		t.Fatalf("bad samples %+v (failed %d), want the corrupt PNG and the label out of range", m.BadSamples, m.Float.Failed)
	}
	joined := m.BadSamples[0].ID + " " + m.BadSamples[1].ID
	if !strings.Contains(joined, "corrupt.png") || !strings.Contains(joined, "12/0000.png") {
		t.Errorf("bad samples %+v", m.BadSamples)
	}
	// They are also in the dead-letter file, a line each.
	dl, err := os.ReadFile(filepath.Join(out, "runs", res.RunID, "dead-letter.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(dl)), "\n"); err != nil || len(lines) != 2 ||
		!strings.Contains(string(dl), `"kind":"sample"`) || !strings.Contains(string(dl), "corrupt.png") {
		t.Errorf("dead-letter.jsonl: %q (%v)", dl, err)
	}
	// A rerun reuses the range file: the digest of the encoded split is
	// stable.
	cal := filepath.Join(out, filepath.FromSlash(transforms.CalibFileKey(m.Name)))
	before, err := os.ReadFile(cal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(cal)
	if string(before) != string(after) {
		t.Error("range file changed between identical runs")
	}
}
