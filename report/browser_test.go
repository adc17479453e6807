package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/browsertest"
	"github.com/eightbitml/eightbit/report"
)

// TestHTMLInChromium opens index.html in headless Chromium, fails on any
// console message of level warning or error, uncaught exception or log entry
// of level error (a blocked network fetch shows up as one, through the
// page's Content-Security-Policy), counts the per-layer charts and saves a
// screenshot to $EIGHTBIT_ARTIFACTS (or a new temporary folder).
func TestHTMLInChromium(t *testing.T) {
	r := rich()
	dir := t.TempDir()
	page := filepath.Join(dir, "index.html")
	if err := os.WriteFile(page, r.HTML(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, page, "#throughput")
	title := p.Title()
	charts := p.Count("figure.layer-chart")
	bars := p.Count("figure.layer-chart svg rect")
	placeholders := p.Count("figure.layer-chart .placeholder")
	shotPath, size := p.Screenshot("report-index.png")
	t.Logf("screenshot: %s (%d bytes)", shotPath, size)
	if problems := p.Problems(); len(problems) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(problems, "\n"))
	}
	if !strings.HasPrefix(title, "eightbit report: nightly <b>&</b>") {
		t.Errorf("title %q", title)
	}
	if charts != len(r.Models) {
		t.Errorf("%d per-layer charts, want one per model (%d)", charts, len(r.Models))
	}
	if bars != len(r.Models[0].Layers) || placeholders != len(r.Models)-1 {
		t.Errorf("%d layer bars, %d placeholders", bars, placeholders)
	}
	if size < 1000 {
		t.Errorf("screenshot of %d bytes", size)
	}
}

// TestHostileHTMLLayout opens the index.html of a report with a failed
// model whose error is long, a model with bad samples, a long model name
// and models whose points crowd one corner of the accuracy-size chart, in
// a 1280 px wide window: the page must not scroll horizontally, no two
// texts of a chart may overlap, the failed model's status cell is short
// and its error sits in a collapsible row, and the bad samples are listed.
// The screenshot is saved as report-hostile.png.
func TestHostileHTMLLayout(t *testing.T) {
	r := hostile()
	page := filepath.Join(t.TempDir(), "index.html")
	if err := os.WriteFile(page, r.HTML(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := browsertest.Open(t, page, "#throughput")
	checkLayout(t, p, "report-hostile.png")
	if n := p.Count("tr.detail.failed details.error pre"); n != 2 {
		t.Errorf("%d collapsible error rows, want 2", n)
	}
	if n := p.Count("tr.detail details.bad-samples li"); n != 20+2 {
		t.Errorf("%d bad samples listed, want 22 (20 of one model, 2 of another)", n)
	}
	if n := p.Count("tr.model.failed"); n != 2 {
		t.Errorf("%d failed model rows, want 2", n)
	}
}

// TestReportPageInChromium checks the layout of the index.html named by
// $EIGHTBIT_REPORT_HTML (for example the demo's, after eightbit demo --out
// /tmp/rp-demo) the way TestHostileHTMLLayout does; it is skipped when the
// variable is unset.
func TestReportPageInChromium(t *testing.T) {
	page := os.Getenv("EIGHTBIT_REPORT_HTML")
	if page == "" {
		t.Skip("EIGHTBIT_REPORT_HTML not set")
	}
	p := browsertest.Open(t, page, "body")
	checkLayout(t, p, "report-page.png")
}

// checkLayout fails on browser problems, horizontal overflow at the
// 1280 px window width and overlapping chart texts, and saves a
// screenshot.
func checkLayout(t *testing.T, p *browsertest.Page, shot string) {
	t.Helper()
	width := p.ScrollWidth()
	overlaps := p.TextOverlaps("svg")
	path, size := p.Screenshot(shot)
	t.Logf("screenshot at 1280 px: %s (%d bytes); scrollWidth %d", path, size, width)
	if problems := p.Problems(); len(problems) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(problems, "\n"))
	}
	if width > 1280 {
		t.Errorf("document.documentElement.scrollWidth = %d, want <= 1280 (no horizontal scrolling)", width)
	}
	if len(overlaps) > 0 {
		t.Errorf("overlapping chart texts:\n%s", strings.Join(overlaps, "\n"))
	}
}

// hostile is rich with the rough edges of real zoos: a failed model with a
// long, multi-line error holding an unbroken token, a model with 23 bad
// samples and one with 2, a model with a very long name, and four models of
// nearly equal size and accuracy whose labels compete for the same place.
func hostile() *report.Report {
	f := func(v float64) *float64 { return &v }
	r := rich()
	r.Models[1].BadSamples = []report.BadSample{
		{ID: "test/00017.png", Error: "decode png: unexpected EOF"},
		{ID: "test/00342.png", Error: "label 12 out of range [0,10)"},
	}
	long := "quantize: node /features/features.3/block/block.2/fc1/Conv_output_0_QuantizeLinear: " +
		strings.Repeat("x", 300) + "\n" + strings.Repeat("the scale of input 1 is not finite (NaN) after folding BatchNormalization into Conv; ", 6)
	r.Models = append(r.Models, report.Model{Name: "efficientnet-lite0-int8-calibrated-on-imagenet-val-subset-1000", Status: report.StatusFailed, Error: long, Stage: "quantize", ErrorKind: "non-finite"})
	for i, name := range []string{"dwsep", "dwsep-bn", "dwsep-bn-wide", "dwsep-wide"} {
		d := float64(i) * 0.0004
		m := report.Model{Name: name, Status: report.StatusOK, Dataset: "mnist",
			Float:     &report.Float{Bytes: 90000 + int64(i)*300, Top1: f(0.985 + d), Samples: 2000, ImagesPerSec: f(3000)},
			Int8:      &report.Int8{Bytes: 30000 + int64(i)*100, Top1: f(0.984 + d), Samples: 2000, ImagesPerSec: f(6000)},
			Agreement: f(0.995),
		}
		if name == "dwsep-bn" {
			for k := 0; k < 23; k++ {
				m.BadSamples = append(m.BadSamples, report.BadSample{ID: fmt.Sprintf("shard-%02d/record-%05d", k%3, 1000+k), Error: "truncated TFRecord: want 784 bytes, got 112"})
			}
		}
		r.Models = append(r.Models, m)
	}
	return r
}
