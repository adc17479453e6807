package jobs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// TestReportDiffOfTwoRuns runs the demo zoo twice, the second time with one
// model's range file changed (every range halved, as a different
// calibration would), and requires `report diff` of the two runs' reports
// to list that model, with its calibration-driven changes, and nothing else.
func TestReportDiffOfTwoRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job twice")
	}
	ctx := context.Background()
	zooDir := unpackDemoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	job := &QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 500}
	first, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, filepath.FromSlash(transforms.CalibFileKey("mnist-mlp")))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := transforms.DecodeCalibFile(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cf.Table.Tensors {
		r := &cf.Table.Tensors[i]
		r.Min, r.Max = r.Min/2, r.Max/2
	}
	if data, err = transforms.EncodeCalibFile(cf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	job.Force = true // the changed range file is reused; the rows must not be
	second, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := report.Diff(first.Report, second.Report)
	md := string(d.Markdown())
	t.Logf("report diff:\n%s", md)
	if len(d.Models) != 1 || d.Models[0].Name != "mnist-mlp" || d.Models[0].Kind != "changed" || d.Unchanged != 3 {
		t.Fatalf("diff lists %+v, %d unchanged; want mnist-mlp changed and 3 unchanged", d.Models, d.Unchanged)
	}
	if len(d.Models[0].Layers) == 0 {
		t.Errorf("no per-layer change for mnist-mlp")
	}
	for _, other := range []string{"mnist-lenet", "mnist-dws"} {
		if strings.Contains(md, other) {
			t.Errorf("diff mentions %s", other)
		}
	}
}
