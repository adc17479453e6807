package report

import (
	"fmt"
	"strings"
	"testing"
)

func TestFailureStageAndLines(t *testing.T) {
	table := []struct {
		m                   Model
		stage, status, line string
	}{
		{Model{Name: "a", Status: StatusOK}, "", "ok", ""},
		{Model{Name: "b", Status: StatusFailed, Error: "load: open b.onnx: no such file"}, "load", "failed in load", "b: failed in load: open b.onnx: no such file"},
		{Model{Name: "c", Status: StatusFailed, Error: `unsupported op "LSTM"`}, "", "failed", `c: failed: unsupported op "LSTM"`},
		{Model{Name: "d", Status: StatusFailed, Error: "Node Conv_1: bad\n\tshape"}, "", "failed", "d: failed: Node Conv_1: bad shape"},
		{Model{Name: "e", Status: StatusFailed, Error: "evaluate: " + strings.Repeat("x", 50)}, "evaluate", "failed in evaluate", "e: failed in evaluate: " + strings.Repeat("x", 39) + "…"},
	}
	for _, c := range table {
		if stage, _ := c.m.FailureStage(); stage != c.stage {
			t.Errorf("%s: stage %q, want %q", c.m.Name, stage, c.stage)
		}
		if got := c.m.ShortStatus(); got != c.status {
			t.Errorf("%s: status %q, want %q", c.m.Name, got, c.status)
		}
		if got := c.m.FailureLine(40); got != c.line {
			t.Errorf("%s: line %q, want %q", c.m.Name, got, c.line)
		}
	}
}

func TestBadSamplesLine(t *testing.T) {
	bad := func(n int) []BadSample {
		var bs []BadSample
		for i := 0; i < n; i++ {
			bs = append(bs, BadSample{ID: fmt.Sprintf("s%d", i), Error: "e"})
		}
		return bs
	}
	table := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "1 bad sample left out: s0"},
		{5, "5 bad samples left out: s0, s1, s2, s3, s4"},
		{7, "7 bad samples left out, first: s0, s1, s2, s3, s4"},
	}
	for _, c := range table {
		m := Model{Name: "m", BadSamples: bad(c.n)}
		if got := m.BadSamplesLine(); got != c.want {
			t.Errorf("%d bad: %q, want %q", c.n, got, c.want)
		}
	}
}

// TestPlacer checks the label layout rule: a label takes the first free
// place around its point, clear of fixed texts, markers and earlier
// labels, and within the chart.
func TestPlacer(t *testing.T) {
	bounds := box{0, 0, 640, 320}
	table := []struct {
		name   string
		fixed  []box
		labels []struct {
			s    string
			x, y float64
		}
	}{
		{"alone", nil, []struct {
			s    string
			x, y float64
		}{{"lenet", 100, 100}}},
		{"same point", nil, []struct {
			s    string
			x, y float64
		}{{"mnist-dws", 100, 100}, {"mnist-dws-folded", 100, 100}, {"mnist-dws-wide", 101, 100}}},
		{"right edge", nil, []struct {
			s    string
			x, y float64
		}{{"a-long-model-name", 630, 100}}},
		{"top edge", nil, []struct {
			s    string
			x, y float64
		}{{"top", 100, 2}}},
		{"axis text below", []box{textBox("model size (KiB)", 100, 130, "start")}, []struct {
			s    string
			x, y float64
		}{{"x", 100, 110}, {"y", 100, 110}, {"z", 100, 110}}},
	}
	for _, c := range table {
		p := &placer{bounds: bounds}
		for _, b := range c.fixed {
			p.fixed(b)
		}
		var placed []box
		for _, l := range c.labels {
			lx, ly, _ := p.place(l.s, l.x, l.y)
			b := textBox(l.s, lx, ly, "start")
			if !b.inside(bounds) {
				t.Errorf("%s: %q at %v outside the chart", c.name, l.s, b)
			}
			for _, o := range append(placed, c.fixed...) {
				if b.overlaps(o) {
					t.Errorf("%s: %q at %v overlaps %v", c.name, l.s, b, o)
				}
			}
			placed = append(placed, b)
		}
	}
}
