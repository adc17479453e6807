package calibrate

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/qmath"
)

// TestBinImplementations requires the vector binning pass to put every
// value in the same bin as binGo and to report the same stats, on random
// lengths (block tails), both histogram kinds, bin edges, zeros of both
// signs, values outside the range, NaN and infinities.
func TestBinImplementations(t *testing.T) {
	if binVector == nil {
		t.Skip("no vector binning kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(1))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e30, -1e30}
	for trial := 0; trial < 400; trial++ {
		lo, hi := float32(-r.ExpFloat64()), float32(r.ExpFloat64()*3)
		switch trial % 5 {
		case 1:
			lo = 0
		case 2:
			hi = 0
		case 3:
			lo, hi = 0, 0
		}
		h := NewHistogram(qmath.Range{Min: lo, Max: hi}, []int{2, 7, 128, 2048}[trial%4], trial%2 == 1)
		n := 1 + r.Intn(3000)
		vs := make([]float32, n)
		for i := range vs {
			switch r.Intn(10) {
			case 0:
				if trial%3 == 0 {
					vs[i] = specials[r.Intn(len(specials))]
				}
			case 1:
				// A bin edge.
				vs[i] = float32(h.Edge(r.Intn(h.Bins() + 1)))
			default:
				vs[i] = lo + (hi-lo)*float32(r.Float64()*1.2-0.1)
			}
		}
		want := &Histogram{abs: h.abs, neg: h.neg, pos: h.pos, width: h.width, inv: h.inv, counts: make([]int64, h.Bins())}
		got := &Histogram{abs: h.abs, neg: h.neg, pos: h.pos, width: h.width, inv: h.inv, counts: make([]int64, h.Bins())}
		var ws, gs binStats
		want.binGo(vs, 1, &ws)
		got.binBlocks(vs, &gs)
		if !slices.Equal(want.counts, got.counts) {
			t.Fatalf("trial %d (%d values): counts differ", trial, n)
		}
		if ws.nan != gs.nan || ws.zeros != gs.zeros {
			t.Fatalf("trial %d: stats %+v, want %+v", trial, gs, ws)
		}
		if !ws.nan && (ws.min+0 != gs.min+0 || ws.max+0 != gs.max+0) {
			t.Fatalf("trial %d: min/max %v %v, want %v %v", trial, gs.min, gs.max, ws.min, ws.max)
		}
	}
}

// TestScanImplementations requires scan (vector kernel plus Go tail) to
// agree with scanGo on random lengths with zeros, NaN and infinities.
func TestScanImplementations(t *testing.T) {
	if scanVector == nil {
		t.Skip("no vector scan kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(2))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32}
	for trial := 0; trial < 500; trial++ {
		vs := make([]float32, 1+r.Intn(200))
		for i := range vs {
			vs[i] = float32(r.NormFloat64() * 10)
			if r.Intn(20) == 0 {
				vs[i] = specials[r.Intn(len(specials))]
			}
		}
		ref := scanGo(vs)
		got, ok := scan(vs)
		bad := ref.nan || ref.min < -math.MaxFloat32 || ref.max > math.MaxFloat32
		if ok == bad {
			t.Fatalf("trial %d: ok = %v, reference stats %+v", trial, ok, ref)
		}
		if ok && (got.min != ref.min+0 || got.max != ref.max+0 || got.zeros != ref.zeros) {
			t.Fatalf("trial %d: %+v, want %+v", trial, got, ref)
		}
	}
}
