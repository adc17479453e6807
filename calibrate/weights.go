package calibrate

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// WeightRanges returns the range of every channel of a float32 weight
// tensor along axis (for a Conv weight [M, C/g, kH, kW] axis 0, for a Gemm
// weight [K, N] with transB = 0 axis 1). Each range contains zero.
//
// With clip false it is the channel's min/max (what eightbit's quantizer
// uses today). With clip true each channel's range is the symmetric one
// that minimizes the expected squared error of int8 weights with levels
// −127..127 (qmath.SymmetricParams with qmax 127) over a bins-bin histogram
// of the channel's magnitudes (MethodMSE); outlier weights then saturate
// instead of stretching the scale of the whole channel. Weights are small
// and in memory, so both passes run here. NaN and ±Inf are ignored.
//
// The quantizer could call this in place of its min/max; it does not yet.
func WeightRanges(w *tensor.Tensor, axis int, clip bool, bins int) ([]qmath.Range, error) {
	if w == nil || w.DType != tensor.Float32 {
		return nil, fmt.Errorf("calibrate: weight ranges need a float32 tensor")
	}
	if axis < 0 || axis >= len(w.Shape) {
		return nil, fmt.Errorf("calibrate: axis %d of a %d-d weight", axis, len(w.Shape))
	}
	if bins == 0 {
		bins = DefaultBins
	}
	n := w.Shape[axis]
	inner := 1
	for _, d := range w.Shape[axis+1:] {
		inner *= d
	}
	outer := 1
	for _, d := range w.Shape[:axis] {
		outer *= d
	}
	// each calls f with the contiguous runs of channel c.
	each := func(c int, f func([]float32)) {
		for o := 0; o < outer; o++ {
			base := (o*n + c) * inner
			f(w.F32[base : base+inner])
		}
	}
	out := make([]qmath.Range, n)
	for c := 0; c < n; c++ {
		var m MinMax
		each(c, m.Add)
		if !clip {
			out[c] = m.Result()
			continue
		}
		h := NewHistogram(m.Range(), bins, true)
		each(c, h.Add)
		out[c] = weightMSE(h)
	}
	return out, nil
}

// weightMSE is Histogram.mse for symmetric int8 weights with levels
// −127..127.
func weightMSE(h *Histogram) qmath.Range {
	if h.Count() == 0 {
		return qmath.Range{}
	}
	best, bestB := math.Inf(1), len(h.counts)
	for m := 1; m <= len(h.counts); m++ {
		t := float32(h.Edge(m))
		p := qmath.SymmetricParams(qmath.Range{Min: -t, Max: t}, qmath.Int8SymMax)
		if e := h.expectedError(p, -qmath.Int8SymMax, qmath.Int8SymMax, best); e < best {
			best, bestB = e, m
		}
	}
	return h.clamp(0, h.Edge(bestB))
}
