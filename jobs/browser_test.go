package jobs

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/browsertest"
)

// TestJobReportInChromium runs the demo quantize-zoo job with speed
// measured and opens the index.html it wrote in headless Chromium: no
// console warnings, errors or blocked fetches, one per-layer chart per
// model with a bar per measured layer, and float and int8 throughput
// plotted for every model. The screenshot is saved as job-index.png under
// $EIGHTBIT_ARTIFACTS (default: a new temporary folder).
func TestJobReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job")
	}
	zooDir := unpackDemoZoo(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := (&QuantizeZoo{Zoo: zooDir, Out: out, EvalSamples: 500, MeasureSpeed: true}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	layers := 0
	for _, m := range res.Report.Models {
		layers += len(m.Layers)
		if m.Float == nil || m.Float.ImagesPerSec == nil || m.Int8 == nil || m.Int8.ImagesPerSec == nil {
			t.Errorf("%s: no throughput measured", m.Name)
		}
	}
	p := browsertest.Open(t, filepath.Join(out, "runs", res.RunID, "index.html"), "#throughput")
	charts := p.Count("figure.layer-chart")
	bars := p.Count("figure.layer-chart svg rect")
	float, int8 := p.Count("#throughput rect.sfloat"), p.Count("#throughput rect.sint8")
	shot, size := p.Screenshot("job-index.png")
	t.Logf("screenshot: %s (%d bytes); %d charts, %d layer bars", shot, size, charts, bars)
	if problems := p.Problems(); len(problems) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(problems, "\n"))
	}
	n := len(res.Report.Models)
	if n != 4 || charts != n {
		t.Errorf("%d per-layer charts for %d models", charts, n)
	}
	if bars != layers || layers == 0 {
		t.Errorf("%d layer bars, the report has %d layers", bars, layers)
	}
	if float != n || int8 != n {
		t.Errorf("throughput chart: %d float and %d int8 points for %d models", float, int8, n)
	}
	if size < 1000 {
		t.Errorf("screenshot of %d bytes", size)
	}
}
