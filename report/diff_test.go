package report_test

import (
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

func TestDiff(t *testing.T) {
	a, b := rich(), rich()
	// Speed noise under 10% is not a change.
	*b.Models[0].Int8.ImagesPerSec *= 1.05
	if d := report.Diff(a, b); len(d.Models) != 0 || d.Unchanged != 3 || !strings.Contains(string(d.Markdown()), "No changes.") {
		t.Fatalf("identical runs: %+v\n%s", d, d.Markdown())
	}
	// One model's calibration changed, with its accuracy and one layer.
	lenet := &b.Models[0]
	lenet.Calibration = &report.Calibration{Method: "percentile", Samples: 512, Percentile: 99.9}
	*lenet.Int8.Top1 = 0.9911
	*lenet.Layers[2].SQNRDB = 27.5
	lenet.Layers[2].Clipped = 0.001
	d := report.Diff(a, b)
	md := string(d.Markdown())
	golden(t, "diff.md", d.Markdown())
	if len(d.Models) != 1 || d.Models[0].Name != "lenet" || d.Unchanged != 2 {
		t.Fatalf("diff %+v", d)
	}
	for _, want := range []string{"| calibration | minmax, 512 samples | percentile, 512 samples, percentile 99.9 |",
		"| int8 top-1 | 99.07% | 99.11% |", "| conv2 | 19.40 dB", "1 changed, 0 added, 0 removed, 2 unchanged"} {
		if !strings.Contains(md, want) {
			t.Errorf("diff lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "mlp") || strings.Contains(md, "resnet") {
		t.Errorf("unchanged models listed:\n%s", md)
	}
	// Added and removed models.
	c := rich()
	c.Models = c.Models[1:]
	c.Models[0].Name = "mlp2"
	d = report.Diff(a, c)
	var kinds []string
	for _, m := range d.Models {
		kinds = append(kinds, m.Name+"="+m.Kind)
	}
	if got := strings.Join(kinds, ","); got != "lenet=removed,mlp2=added,mlp<script>alert(1)</script>=removed" {
		t.Fatalf("kinds %s", got)
	}
}
