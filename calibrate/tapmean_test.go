package calibrate

import (
	"math"
	"math/rand"
	"testing"
)

// convMean is the mean over samples and output positions of output
// channel 0 of a convolution of x (n samples of c×h×w) with weight k
// (c×kh×kw) and no bias, computed the direct way.
func convMean(x []float32, n, c, h, w int, k []float64, win Window) float64 {
	outH, pt := plane(h, win.KH, win.StrideH, win.DilH, win.PadTop, win.PadBottom, win.AutoPad)
	outW, pl := plane(w, win.KW, win.StrideW, win.DilW, win.PadLeft, win.PadRight, win.AutoPad)
	var sum float64
	for s := 0; s < n; s++ {
		for oh := 0; oh < outH; oh++ {
			for ow := 0; ow < outW; ow++ {
				for ch := 0; ch < c; ch++ {
					for i := 0; i < win.KH; i++ {
						for j := 0; j < win.KW; j++ {
							r, col := oh*win.StrideH-pt+i*win.DilH, ow*win.StrideW-pl+j*win.DilW
							if r >= 0 && r < h && col >= 0 && col < w {
								sum += k[(ch*win.KH+i)*win.KW+j] * float64(x[((s*c+ch)*h+r)*w+col])
							}
						}
					}
				}
			}
		}
	}
	return sum / float64(n*outH*outW)
}

func TestTapMeanGivesExpectedConvOutput(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, tc := range []struct {
		name    string
		c, h, w int
		win     Window
	}{
		{"3x3 pad 1", 3, 7, 6, Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"3x3 stride 2 asymmetric", 2, 9, 8, Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, PadLeft: 1, PadBottom: 1}},
		{"5x3 dilated", 2, 11, 9, Window{KH: 5, KW: 3, StrideH: 1, StrideW: 2, DilH: 2, DilW: 1, PadTop: 2, PadBottom: 2}},
		{"same upper", 3, 8, 7, Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, AutoPad: "SAME_UPPER"}},
		{"same lower", 3, 8, 7, Window{KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, AutoPad: "SAME_LOWER"}},
		{"valid", 1, 5, 5, Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 9, AutoPad: "VALID"}},
		{"fully connected", 16, 1, 1, Window{KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 3
			x := make([]float32, n*tc.c*tc.h*tc.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64() + 0.5)
			}
			k := make([]float64, tc.c*tc.win.KH*tc.win.KW)
			for i := range k {
				k[i] = rng.NormFloat64()
			}
			tm := NewTapMean(tc.c, tc.win)
			// Two batches: the observer averages over samples.
			if err := tm.Add(x[:tc.c*tc.h*tc.w], 1, tc.h, tc.w); err != nil {
				t.Fatal(err)
			}
			if err := tm.Add(x[tc.c*tc.h*tc.w:], n-1, tc.h, tc.w); err != nil {
				t.Fatal(err)
			}
			var got float64
			for i, m := range tm.Means() {
				got += k[i] * m
			}
			want := convMean(x, n, tc.c, tc.h, tc.w, k, tc.win)
			if math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("Σ k·mean = %.9g, direct mean output %.9g", got, want)
			}
		})
	}
}

func TestTapMeanMergeIsExactAndEncodes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	win := Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, AutoPad: "NOTSET"}
	const c, h, w = 4, 5, 5
	parts := make([]*TapMean, 6)
	for p := range parts {
		parts[p] = NewTapMean(c, win)
		x := make([]float32, c*h*w)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(p)-2))
		}
		if err := parts[p].Add(x, 1, h, w); err != nil {
			t.Fatal(err)
		}
	}
	merge := func(order []int) []byte {
		acc := NewTapMean(c, win)
		for _, i := range order {
			b, err := parts[i].MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back TapMean
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if err := acc.Merge(&back); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := acc.MarshalBinary()
		return b
	}
	a, b := merge([]int{0, 1, 2, 3, 4, 5}), merge([]int{5, 3, 1, 0, 4, 2})
	if string(a) != string(b) {
		t.Error("merging in another order gives other bytes")
	}
	if err := parts[0].Merge(NewTapMean(c+1, win)); err == nil {
		t.Error("merging different channel counts succeeded")
	}
	for _, bad := range [][]byte{nil, {2}, a[:len(a)-1], append(append([]byte{}, a...), 0)} {
		var tm TapMean
		if err := tm.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%x) succeeded", bad)
		}
	}
	nan := NewTapMean(1, Window{KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1})
	if err := nan.Add([]float32{float32(math.NaN())}, 1, 1, 1); err == nil {
		t.Error("a NaN input was accepted")
	}
}

func FuzzTapMeanUnmarshal(f *testing.F) {
	tm := NewTapMean(2, Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, AutoPad: "SAME_UPPER"})
	_ = tm.Add(make([]float32, 2*4*4), 1, 4, 4)
	b, _ := tm.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var tm TapMean
		if tm.UnmarshalBinary(data) != nil {
			return
		}
		// Varints have more than one encoding; the decoded value survives a
		// round trip.
		again, err := tm.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back TapMean
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatal(err)
		}
		if b2, _ := back.MarshalBinary(); string(b2) != string(again) {
			t.Fatal("re-encoding differs")
		}
	})
}
