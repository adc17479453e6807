package report_test

import (
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

func TestTop1Diff(t *testing.T) {
	tests := []struct {
		n, b, c        int64
		diff, low, hig float64
		nilWant        bool
	}{
		// d = (2−5)/100; Var = (7 − 9/100)/100²; ±1.96·√Var.
		{n: 100, b: 5, c: 2, diff: -0.03, low: -0.08152133582409951, hig: 0.02152133582409952},
		{n: 1000, b: 0, c: 0, diff: 0, low: 0, hig: 0},
		// Every sample discordant in one direction: Var = (n − n)/n² = 0.
		{n: 4, b: 0, c: 4, diff: 1, low: 1, hig: 1},
		{n: 0, nilWant: true},
		{n: 3, b: 2, c: 2, nilWant: true},
		{n: 3, b: -1, nilWant: true},
	}
	for _, tc := range tests {
		got := report.Top1Diff(tc.n, tc.b, tc.c)
		if tc.nilWant {
			if got != nil {
				t.Errorf("Top1Diff(%d,%d,%d) = %+v, want nil", tc.n, tc.b, tc.c, got)
			}
			continue
		}
		if got == nil || !near(got.Diff, tc.diff) || !near(got.Low, tc.low) || !near(got.High, tc.hig) ||
			got.Samples != tc.n || got.FloatOnly != tc.b || got.Int8Only != tc.c {
			t.Errorf("Top1Diff(%d,%d,%d) = %+v, want %v [%v, %v]", tc.n, tc.b, tc.c, got, tc.diff, tc.low, tc.hig)
		}
	}
}

func TestEvaluateGates(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	r := report.New("", "", "")
	r.Models = []report.Model{
		{Name: "drop", Status: report.StatusOK, Float: &report.Float{Top1: f(0.95)}, Int8: &report.Int8{Top1: f(0.93)}, Agreement: f(0.995)},
		{Name: "at-limit", Status: report.StatusOK, Float: &report.Float{Top1: f(0.9912)}, Int8: &report.Int8{Top1: f(0.9812)}, Agreement: f(0.99)},
		{Name: "gain", Status: report.StatusOK, Float: &report.Float{Top1: f(0.5)}, Int8: &report.Int8{Top1: f(0.6)}, Agreement: f(0.5)},
		{Name: "broken", Status: report.StatusFailed, Error: "x"},
	}
	if got := report.Evaluate(r, report.Gates{}); got != nil || r.Models[0].Gates != nil {
		t.Fatalf("no gates: %v", got)
	}
	got := report.Evaluate(r, report.Gates{MaxTop1Drop: f(0.01), MinAgreement: f(0.99)})
	var msgs []string
	for _, g := range got {
		msgs = append(msgs, g.String())
	}
	want := []string{
		"broken: status: model failed",
		"broken: max_top1_drop: top-1 not measured",
		"broken: min_agreement: agreement not measured",
		"drop: max_top1_drop: top-1 drop 2.00 pp > 1.00 pp",
		"gain: min_agreement: agreement 50.00% < 99.00%",
	}
	if !slices.Equal(msgs, want) {
		t.Fatalf("failures\n%q\nwant\n%q", msgs, want)
	}
	passed := map[string]bool{}
	for _, m := range r.Models {
		if m.Gates == nil || *m.Gates.MaxTop1Drop != 0.01 || *m.Gates.MinAgreement != 0.99 {
			t.Fatalf("%s: gates %+v", m.Name, m.Gates)
		}
		passed[m.Name] = m.Gates.Passed
	}
	if !passed["at-limit"] || passed["drop"] || passed["gain"] || passed["broken"] {
		t.Fatalf("passed %v", passed)
	}
	if _, err := r.JSON(); err != nil {
		t.Fatal(err)
	}
}
