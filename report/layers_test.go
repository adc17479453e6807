package report_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

func TestLayerStats(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name        string
		x, y        []float32
		scale       float32
		zp          int32
		qmin, qmax  int32
		sqnr        float64 // 0: absent
		exact       bool
		cos         float64 // 0: absent
		maxAbs      float64
		clipped     float64
		values, bad int64
	}{
		// Σx² = 30, Σ(x−y)² = 0.25: 10·log10(120); Σy² = 26.25, Σxy = 28;
		// range [0.5·(−8−0), 0.5·(7−0)] = [−4, 3.5] clips the 4.
		{"hand", []float32{1, 2, -3, 4}, []float32{1, 2, -3, 3.5}, 0.5, 0, -8, 7,
			20.791812460476248, false, 0.9977753031397176, 0.5, 0.25, 4, 0},
		// Σx² = 4, Σ(x−y)² = 4: 0 dB; y = 0 so no cosine; uint8 range with
		// zp 10 is [0.1·(0−10), 0.1·(255−10)] = [−1, 24.5].
		{"zero int8", []float32{2, 0}, []float32{0, 0}, 0.1, 10, 0, 255,
			0, false, 0, 2, 0, 2, 0},
		{"exact", []float32{0.5, -1}, []float32{0.5, -1}, 0.5, 0, -128, 127,
			0, true, 1, 0, 0, 2, 0},
		// NaN and Inf pairs are skipped; x = −y gives cosine −1 and
		// Σ(x−y)² = 4Σx², 10·log10(1/4).
		{"skip non-finite", []float32{float32(math.NaN()), 1, float32(inf)}, []float32{1, -1, 1}, 1, 0, -1, 1,
			10 * math.Log10(0.25), false, -1, 2, 0, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := report.NewLayerStats("t", "Conv")
			if err := s.Add(tc.x, tc.y, tc.scale, tc.zp, tc.qmin, tc.qmax); err != nil {
				t.Fatal(err)
			}
			l := s.Result()
			if tc.sqnr == 0 && tc.name != "zero int8" {
				if l.SQNRDB != nil {
					t.Errorf("sqnr = %v, want absent", *l.SQNRDB)
				}
			} else if l.SQNRDB == nil || !near(*l.SQNRDB, tc.sqnr) {
				t.Errorf("sqnr = %v, want %v", l.SQNRDB, tc.sqnr)
			}
			if l.Exact != tc.exact {
				t.Errorf("exact = %v", l.Exact)
			}
			if tc.cos == 0 {
				if l.Cosine != nil {
					t.Errorf("cosine = %v, want absent", *l.Cosine)
				}
			} else if l.Cosine == nil || !near(*l.Cosine, tc.cos) {
				t.Errorf("cosine = %v, want %v", l.Cosine, tc.cos)
			}
			if !near(l.MaxAbsErr, tc.maxAbs) || !near(l.Clipped, tc.clipped) || l.Values != tc.values || l.NonFinite != tc.bad {
				t.Errorf("got %+v", l)
			}
			if l.Tensor != "t" || l.Op != "Conv" || l.Scale != float64(tc.scale) || l.ZeroPoint != tc.zp {
				t.Errorf("identity %+v", l)
			}
		})
	}
}

func TestLayerStatsErrors(t *testing.T) {
	s := report.NewLayerStats("a", "Relu")
	if err := s.Add([]float32{1}, nil, 1, 0, 0, 255); err == nil || !strings.Contains(err.Error(), `layer "a"`) {
		t.Fatalf("length mismatch: %v", err)
	}
	if err := s.Add([]float32{1}, []float32{1}, 1, 0, 0, 255); err != nil {
		t.Fatal(err)
	}
	if err := s.Add([]float32{1}, []float32{1}, 2, 0, 0, 255); err == nil {
		t.Fatal("scale change accepted")
	}
	if err := s.Merge(report.NewLayerStats("b", "Relu")); err == nil {
		t.Fatal("merged another tensor")
	}
	if l := report.NewLayerStats("e", "").Result(); l.SQNRDB != nil || l.Exact || l.Cosine != nil || l.Values != 0 {
		t.Fatalf("empty result %+v", l)
	}
}

// TestLayerStatsMergeDeterministic splits the same samples into shards in
// different ways and merges them in different orders: the results must be
// bit for bit the same.
func TestLayerStatsMergeDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type sample struct{ x, y []float32 }
	var samples []sample
	for range 60 {
		n := 1 + rng.IntN(50)
		s := sample{make([]float32, n), make([]float32, n)}
		for i := range n {
			// Magnitudes over many orders so that float64 sums would be
			// order-dependent.
			s.x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
			s.y[i] = s.x[i] + float32(rng.NormFloat64()*1e-3)
		}
		samples = append(samples, s)
	}
	run := func(shards int, seed uint64) report.Layer {
		acc := make([]*report.LayerStats, shards)
		for i := range acc {
			acc[i] = report.NewLayerStats("t", "Gemm")
		}
		order := rand.New(rand.NewPCG(seed, 7)).Perm(len(samples))
		for i, k := range order {
			if err := acc[i%shards].Add(samples[k].x, samples[k].y, 0.01, 3, 0, 255); err != nil {
				t.Fatal(err)
			}
		}
		r := rand.New(rand.NewPCG(seed, 9))
		r.Shuffle(len(acc), func(i, j int) { acc[i], acc[j] = acc[j], acc[i] })
		total := report.NewLayerStats("", "")
		for _, a := range acc {
			if err := total.Merge(a); err != nil {
				t.Fatal(err)
			}
		}
		return total.Result()
	}
	want := run(1, 1)
	for shards, seed := range map[int]uint64{2: 2, 3: 3, 7: 4, 60: 5} {
		if got := run(shards, seed); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d shards: %+v\nwant %+v", shards, got, want)
		}
	}
	if want.Values == 0 || want.SQNRDB == nil {
		t.Fatalf("degenerate %+v", want)
	}
}

func TestExact(t *testing.T) {
	var e report.Exact
	for _, v := range []float64{1e100, 1, -1e100, 5e-324, 5e-324} {
		e.Add(v)
	}
	if got := e.Float64(); got != 1 {
		t.Fatalf("1e100 + 1 − 1e100 + 2·2^-1074 = %v, want 1", got)
	}
	var s report.Exact
	s.Add(5e-324)
	s.Add(5e-324)
	if s.Float64() != 1e-323 {
		t.Fatalf("subnormal sum %v", s.Float64())
	}
	var z report.Exact
	z.Add(-3)
	z.Merge(e)
	if z.Float64() != -2 {
		t.Fatalf("merge %v", z.Float64())
	}
}

func TestRankCulprits(t *testing.T) {
	db := func(v float64) *float64 { return &v }
	layers := []report.Layer{
		{Tensor: "conv2", SQNRDB: db(31), Values: 10},
		{Tensor: "exact", Exact: true, Values: 10},
		{Tensor: "relu_b", SQNRDB: db(12.5), Values: 10},
		{Tensor: "unused", Values: 0},
		{Tensor: "relu_a", SQNRDB: db(12.5), Values: 10},
		{Tensor: "zero_float", Values: 10},
		{Tensor: "bad", SQNRDB: db(-3), Values: 10},
	}
	got := report.RankCulprits(layers)
	want := []string{"bad", "relu_a", "relu_b", "conv2", "zero_float", "exact"}
	if !slices.Equal(got, want) {
		t.Fatalf("RankCulprits = %v, want %v", got, want)
	}
}
