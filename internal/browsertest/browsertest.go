// Package browsertest opens a page in headless Chromium for tests
// (github.com/chromedp/chromedp): it collects console warnings and errors,
// uncaught exceptions and error log entries, counts elements and saves a
// screenshot. Tests skip when Chromium is missing, and fail under CI=true
// (.ci/run installs it).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is a page loaded in Chromium.
type Page struct {
	t   testing.TB
	ctx context.Context
	mu  sync.Mutex
	// problems are the console warnings and errors, exceptions and error
	// log entries seen so far.
	problems []string
}

// Open loads the local file page in headless Chromium and waits until the
// element matching ready exists. The browser closes when the test ends.
func Open(t testing.TB, page, ready string) *Page {
	t.Helper()
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed (CI=true); .ci/run installs it")
		}
		t.Skip("chromium not installed; apt-get install -y chromium to run this test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 2000),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	p := &Page{t: t, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning ||
				ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.problems = append(p.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			p.problems = append(p.problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				p.problems = append(p.problems, "log "+string(ev.Entry.Level)+": "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("chromium: Log.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("chromium: Runtime.enable: %v", err)
	}
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitReady(ready)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return p
}

// Title returns the document's title.
func (p *Page) Title() string {
	p.t.Helper()
	title, err := chromedp.Run(p.ctx, chromedp.Title())
	if err != nil {
		p.t.Fatalf("chromium: %v", err)
	}
	return title
}

// Count returns how many elements match a CSS selector.
func (p *Page) Count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil {
		p.t.Fatalf("chromium: %v", err)
	}
	return n
}

// ScrollWidth returns document.documentElement.scrollWidth, the width of
// the page's content in CSS pixels: at most the window width (1280) when
// nothing overflows horizontally.
func (p *Page) ScrollWidth() int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		p.t.Fatalf("chromium: %v", err)
	}
	return n
}

// overlapJS lists the pairs of text elements of one svg (of those matching
// the selector) whose rendered boxes (getBoundingClientRect) intersect by
// more than half a pixel both ways.
const overlapJS = `(() => {
  const out = [];
  document.querySelectorAll(SEL).forEach((svg, n) => {
    const name = svg.closest('[id]') ? svg.closest('[id]').id : (svg.closest('figure') && svg.closest('figure').dataset.model) || ('svg ' + n);
    const ts = [...svg.querySelectorAll('text')].map(t => ({t: t.textContent, r: t.getBoundingClientRect()}))
      .filter(x => x.r.width > 0 && x.r.height > 0);
    for (let i = 0; i < ts.length; i++) for (let j = i + 1; j < ts.length; j++) {
      const a = ts[i].r, b = ts[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 0.5 && h > 0.5) out.push(name + ': "' + ts[i].t + '" overlaps "' + ts[j].t + '" (' + w.toFixed(1) + 'x' + h.toFixed(1) + ' px)');
    }
  });
  return out;
})()`

// TextOverlaps returns a line for every pair of text elements of an svg
// matching sel whose rendered boxes intersect; none means no two chart
// labels overlap.
func (p *Page) TextOverlaps(sel string) []string {
	p.t.Helper()
	js := strings.Replace(overlapJS, "SEL", "`"+sel+"`", 1)
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		p.t.Fatalf("chromium: %v", err)
	}
	return out
}

// Screenshot waits briefly for late console events, saves a full-page PNG
// as name under $EIGHTBIT_ARTIFACTS (default: a new folder under the
// system's temporary folder, kept after the test) and returns its path and
// size.
func (p *Page) Screenshot(name string) (string, int) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Sleep(200*time.Millisecond)); err != nil {
		p.t.Fatal(err)
	}
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("chromium: screenshot: %v", err)
	}
	dir := os.Getenv("EIGHTBIT_ARTIFACTS")
	if dir == "" {
		// A folder that outlives the test, so that the logged path can be
		// opened afterwards.
		var err error
		if dir, err = os.MkdirTemp("", "eightbit-screenshots-"); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path, len(shot)
}

// Problems returns the console warnings and errors, exceptions and error
// log entries seen so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}
