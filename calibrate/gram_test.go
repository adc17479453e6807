package calibrate

import (
	"math"
	"math/rand"
	"testing"
)

// convSquareMean is the mean over samples and output positions of the
// squared output of group 0, output channel 0, of a convolution of x with
// kernel d (cg×kh×kw), computed the direct way.
func convSquareMean(x []float32, n, c, groups, h, w int, d []float64, win Window) float64 {
	outH, pt := plane(h, win.KH, win.StrideH, win.DilH, win.PadTop, win.PadBottom, win.AutoPad)
	outW, pl := plane(w, win.KW, win.StrideW, win.DilW, win.PadLeft, win.PadRight, win.AutoPad)
	cg := c / groups
	var sum float64
	for s := 0; s < n; s++ {
		for oh := 0; oh < outH; oh++ {
			for ow := 0; ow < outW; ow++ {
				var y float64
				for ch := 0; ch < cg; ch++ {
					for i := 0; i < win.KH; i++ {
						for j := 0; j < win.KW; j++ {
							r, col := oh*win.StrideH-pt+i*win.DilH, ow*win.StrideW-pl+j*win.DilW
							if r >= 0 && r < h && col >= 0 && col < w {
								y += d[(ch*win.KH+i)*win.KW+j] * float64(x[((s*c+ch)*h+r)*w+col])
							}
						}
					}
				}
				sum += y * y
			}
		}
	}
	return sum / float64(n*outH*outW)
}

func TestGramGivesOutputSecondMoment(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		name            string
		c, groups, h, w int
		win             Window
	}{
		{"3x3 pad 1", 3, 1, 6, 5, Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"depthwise stride 2", 4, 4, 7, 7, Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, AutoPad: "SAME_UPPER"}},
		{"grouped 1x1", 6, 2, 4, 4, Window{KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 2
			x := make([]float32, n*tc.c*tc.h*tc.w)
			for i := range x {
				x[i] = float32(rng.NormFloat64() + 0.3)
			}
			g, err := NewGram(tc.c, tc.groups, tc.win, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Add(x, n, tc.h, tc.w); err != nil {
				t.Fatal(err)
			}
			k := g.PatchLen()
			d := make([]float64, k)
			for i := range d {
				d[i] = rng.NormFloat64()
			}
			m := g.Matrix(0)
			var got float64
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					got += d[a] * m[a*k+b] * d[b]
				}
			}
			want := convSquareMean(x, n, tc.c, tc.groups, tc.h, tc.w, d, tc.win)
			if math.Abs(got-want) > 1e-6*(1+want) {
				t.Errorf("Δᵀ·G·Δ = %.9g, mean squared output %.9g", got, want)
			}
		})
	}
}

func TestGramSamplesPositionsMergesAndEncodes(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	win := Window{KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	var parts []*Gram
	for p := 0; p < 5; p++ {
		g, err := NewGram(2, 1, win, 7) // 7 of 64 positions
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 2*8*8)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(p)-2))
		}
		if err := g.Add(x, 1, 8, 8); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, g)
	}
	merge := func(order []int) []byte {
		acc, _ := NewGram(2, 1, win, 7)
		for _, i := range order {
			b, _ := parts[i].MarshalBinary()
			var back Gram
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
	a := merge([]int{0, 1, 2, 3, 4})
	if string(a) != string(merge([]int{4, 2, 0, 3, 1})) {
		t.Error("merging in another order gives other bytes")
	}
	other, _ := NewGram(2, 1, win, 8)
	if parts[0].Merge(other) == nil {
		t.Error("merged observers of different position counts")
	}
	for _, bad := range [][]byte{nil, {9}, a[:len(a)-1], append(append([]byte{}, a...), 1)} {
		var g Gram
		if g.UnmarshalBinary(bad) == nil {
			t.Errorf("UnmarshalBinary(%x) succeeded", bad)
		}
	}
	if _, err := NewGram(5, 2, win, 0); err == nil {
		t.Error("5 channels in 2 groups accepted")
	}
}

func FuzzGramUnmarshal(f *testing.F) {
	g, _ := NewGram(2, 2, Window{KH: 2, KW: 2, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, AutoPad: "VALID"}, 4)
	_ = g.Add(make([]float32, 2*3*3), 1, 3, 3)
	b, _ := g.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Gram
		if g.UnmarshalBinary(data) != nil {
			return
		}
		again, _ := g.MarshalBinary()
		var back Gram
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatal(err)
		}
		if b2, _ := back.MarshalBinary(); string(b2) != string(again) {
			t.Fatal("re-encoding differs")
		}
	})
}
