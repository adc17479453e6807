package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/browsertest"
)

// TestHTMLInChromium opens index.html in headless Chromium, fails on any
// console message of level warning or error, uncaught exception or log entry
// of level error (a blocked network fetch shows up as one, through the
// page's Content-Security-Policy), counts the per-layer charts and saves a
// screenshot to $EIGHTBIT_ARTIFACTS (or the test's temporary folder).
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
