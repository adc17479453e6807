package kernels

import (
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/tensor"
)

// sameFloats reports whether a and b hold the same values bit for bit (any
// NaN matching any NaN).
func sameFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: [%d] = %v (%#x), want %v (%#x)", what, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
	}
}

func TestF32TapSumMatchesGo(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		for it := 0; it < 300; it++ {
			n := 1 + r.Intn(150)
			taps := 1 + r.Intn(27)
			src := randF32(r, tensor.Shape{n + 200}).F32
			ker := randF32(r, tensor.Shape{taps}).F32
			offs := make([]int, taps)
			for i := range offs {
				offs[i] = r.Intn(201)
			}
			got := make([]float32, n+3)
			want := make([]float32, n+3)
			f32TapSum(got[:n], src, offs, ker)
			f32TapSumGo(want[:n], src, offs, ker)
			sameFloats(t, "tap sum", got, want) // including the untouched tail
		}
	})
}

func TestF32BiasClampMatchesGo(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		inf := float32(math.Inf(1))
		nan := float32(math.NaN())
		specials := []float32{0, negZero, inf, -inf, nan, 6, -6, 1e-40}
		bounds := [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {-1, 1}, {negZero, 0}}
		for it := 0; it < 300; it++ {
			n := 1 + r.Intn(100)
			x := randF32(r, tensor.Shape{n}).F32
			res := randF32(r, tensor.Shape{n}).F32
			for i := range x {
				if r.Intn(4) == 0 {
					x[i] = specials[r.Intn(len(specials))]
				}
				if r.Intn(4) == 0 {
					res[i] = specials[r.Intn(len(specials))]
				}
			}
			if r.Intn(2) == 0 {
				res = nil
			}
			bias := specials[r.Intn(len(specials))]
			if r.Intn(2) == 0 {
				bias = float32(r.NormFloat64())
			}
			b := bounds[r.Intn(len(bounds))]
			got := make([]float32, n+3)
			want := make([]float32, n+3)
			f32BiasClamp(got[:n], x, res, bias, b[0], b[1])
			f32BiasClampGo(want[:n], x, res, bias, b[0], b[1])
			sameFloats(t, "bias clamp", got, want)
			// In place.
			f32BiasClamp(x, x, res, bias, b[0], b[1])
			sameFloats(t, "bias clamp in place", x, want[:n])
		}
	})
}

// TestDepthwiseRowsMatchesReference checks the row-kernel depthwise
// convolution against the direct loops on random geometries: bit for bit,
// also when a weight is not finite (then the loops run).
func TestDepthwiseRowsMatchesReference(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		for it := 0; it < 200; it++ {
			c := 1 + r.Intn(5)
			if it%4 == 0 {
				c = 16 + r.Intn(20)
			}
			kh, kw := 1+r.Intn(5), 1+r.Intn(5)
			p := ConvParams{
				Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
				Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
				Pads:      []int{r.Intn(3), r.Intn(3), r.Intn(3), r.Intn(3)},
				Group:     c,
			}
			x := randF32(r, tensor.Shape{1 + r.Intn(2), c, 3 + r.Intn(40), 3 + r.Intn(40)})
			g, err := ResolveGeometry(x.Shape, []int{kh, kw}, p)
			if err != nil {
				continue
			}
			w := randF32(r, tensor.Shape{c, 1, kh, kw})
			if it%10 == 0 {
				w.F32[r.Intn(len(w.F32))] = float32(math.Inf(1))
			}
			var bias []float32
			if r.Intn(2) == 0 {
				bias = randF32(r, tensor.Shape{c}).F32
			}
			n := g.N * c * g.OH * g.OW
			got, want := make([]float32, n), make([]float32, n)
			depthwiseRows(g, x.F32, w.F32, bias, got, convEpilogue{lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))})
			depthwise(g, x.F32, w.F32, bias, want)
			sameFloats(t, "depthwise", got, want)
		}
	})
}

// TestConvFusedMatchesSeparate checks that ConvFusedWith gives the result
// of Conv, Add and Clip run one after another, bit for bit.
func TestConvFusedMatchesSeparate(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	cases := convCases(r)
	// Rows longer than 32 outputs, which the epilogue reads straight from
	// the wide layout.
	for j := 0; j < 6; j++ {
		p := ConvParams{Strides: []int{1, 1 + j%2}, Pads: []int{1, 1, 1, 1}}
		cases = append(cases, convCase{1, 2 + j%3, 5 + j, 33 + 7*j, 3, 3, 3, 1, p, j%2 == 0})
	}
	for i, tc := range cases {
		if i%3 == 0 {
			// Depthwise.
			tc.m, tc.group = tc.c, tc.c
		}
		tc.p.Group = tc.group
		x := randF32(r, tensor.Shape{tc.n, tc.c, tc.h, tc.w})
		w := randF32(r, tensor.Shape{tc.m, tc.c / tc.group, tc.kh, tc.kw})
		var b *tensor.Tensor
		if tc.bias {
			b = randF32(r, tensor.Shape{tc.m})
		}
		y, err := Conv(x, w, b, tc.p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var res *tensor.Tensor
		want := y
		if r.Intn(2) == 0 {
			res = randF32(r, y.Shape)
			if want, err = Binary(OpAdd, y, res); err != nil {
				t.Fatal(err)
			}
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		switch r.Intn(3) {
		case 1:
			lo = 0
		case 2:
			lo, hi = 0, 0.5
		}
		if want, err = Clip(want, lo, hi); err != nil {
			t.Fatal(err)
		}
		got, err := ConvFusedWith(nil, x, w, b, res, tc.p, lo, hi)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		sameFloats(t, "fused conv", got.F32, want.F32)
	}
}

// TestAveragePoolRowsMatchesReference checks the row-kernel AveragePool
// against the direct loops, bit for bit, on random geometries (ceil mode,
// padding counted or not, NaN and −0 inputs).
func TestAveragePoolRowsMatchesReference(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(5))
		for trial := 0; trial < 300; trial++ {
			kh, kw := 1+r.Intn(4), 1+r.Intn(4)
			p := ConvParams{KernelShape: []int{kh, kw},
				Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
				Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
				Pads:      []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
				CeilMode:  r.Intn(2) == 0}
			shape := tensor.Shape{1 + r.Intn(2), 1 + r.Intn(10), 1 + r.Intn(30), 1 + r.Intn(30)}
			if trial%10 == 0 {
				shape[1] = 64 // enough work to split over the worker pool
			}
			g, err := ResolveGeometry(shape, p.KernelShape, p)
			if err != nil {
				continue
			}
			x := randF32(r, shape)
			for i := range x.F32 {
				switch r.Intn(50) {
				case 0:
					x.F32[i] = float32(math.NaN())
				case 1:
					x.F32[i] = negZero
				}
			}
			countPad := r.Intn(2) == 0
			n := g.N * g.C * g.OH * g.OW
			got, want := make([]float32, n), make([]float32, n)
			averagePoolRows(g, countPad, x.F32, got)
			reference.AveragePool(&g.Window, countPad, x.F32, want)
			sameFloats(t, "average pool", got, want)
		}
	})
}

func TestF32TapMaxMatchesGo(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(6))
		for it := 0; it < 300; it++ {
			n := 1 + r.Intn(150)
			taps := 1 + r.Intn(10)
			src := randF32(r, tensor.Shape{n + 100}).F32
			for i := range src {
				switch r.Intn(20) {
				case 0:
					src[i] = float32(math.NaN())
				case 1:
					src[i] = negZero
				case 2:
					src[i] = 0
				case 3:
					src[i] = float32(math.Inf(-1))
				}
			}
			offs := make([]int, taps)
			for i := range offs {
				offs[i] = r.Intn(101)
			}
			got := make([]float32, n+3)
			want := make([]float32, n+3)
			f32TapMax(got[:n], src, offs)
			f32TapMaxGo(want[:n], src, offs)
			sameFloats(t, "tap max", got, want)
		}
	})
}

// TestTransposeMatchesNaive checks Transpose, whose adjacent axes merge,
// against the index mapping on random shapes and permutations.
func TestTransposeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for trial := 0; trial < 300; trial++ {
		rank := 1 + r.Intn(5)
		shape := make(tensor.Shape, rank)
		for i := range shape {
			shape[i] = 1 + r.Intn(4)
		}
		perm := r.Perm(rank)
		if trial%3 == 0 && rank >= 3 {
			perm = append([]int{0, 2, 1}, perm[3:]...) // channel shuffle with trailing axes in place
			for i := 3; i < rank; i++ {
				perm[i] = i
			}
		}
		x := randF32(r, shape)
		p64 := make([]int64, rank)
		for i, v := range perm {
			p64[i] = int64(v)
		}
		y, err := Transpose(x, p64)
		if err != nil {
			t.Fatal(err)
		}
		st := shape.Strides()
		ost := y.Shape.Strides()
		idx := make([]int, rank)
		for o := range y.F32 {
			rem, src := o, 0
			for d := 0; d < rank; d++ {
				idx[d] = rem / ost[d]
				rem %= ost[d]
				src += idx[d] * st[perm[d]]
			}
			if y.F32[o] != x.F32[src] {
				t.Fatalf("shape %v perm %v: y[%d] = %v, want %v", shape, perm, o, y.F32[o], x.F32[src])
			}
		}
	}
}

func TestF32LRN075MatchesGo(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(8))
		for it := 0; it < 200; it++ {
			n := 1 + r.Intn(100)
			x := randF32(r, tensor.Shape{n}).F32
			sq := randF32(r, tensor.Shape{n}).F32
			for i := range sq {
				sq[i] *= sq[i]
			}
			bias, a := float32(r.Intn(3)), float32(r.Float64())
			got, want := make([]float32, n+3), make([]float32, n+3)
			f32LRN075(got[:n], x, sq, bias, a)
			f32LRN075Go(want[:n], x, sq, bias, a)
			sameFloats(t, "lrn", got, want)
		}
	})
}

// TestLRNBeta075 checks the float32 path of LRN against the float64
// formula.
func TestLRNBeta075(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for it := 0; it < 20; it++ {
		shape := tensor.Shape{1 + r.Intn(2), 1 + r.Intn(12), 1 + r.Intn(9), 1 + r.Intn(9)}
		size := 1 + r.Intn(6)
		alpha, bias := float32(1e-4+r.Float64()), float32(1+r.Intn(2))
		x := randF32(r, shape)
		y, err := LRN(x, size, alpha, 0.75, bias)
		if err != nil {
			t.Fatal(err)
		}
		C, sp := shape[1], shape[2]*shape[3]
		lo, hi := (size-1)/2, size/2
		want := make([]float32, len(x.F32))
		for i := range want {
			c, n := i/sp%C, i/(C*sp)
			var s float64
			for j := max(0, c-lo); j <= min(C-1, c+hi); j++ {
				v := float64(x.F32[(n*C+j)*sp+i%sp])
				s += v * v
			}
			want[i] = float32(float64(x.F32[i]) / math.Pow(float64(bias)+float64(alpha)/float64(size)*s, 0.75))
		}
		near(t, "lrn", y.F32, want, 1e-5)
	}
}

// TestConvFusedBroadcastResidual checks the separate passes taken when the
// residual broadcasts to a larger shape than the convolution's output.
func TestConvFusedBroadcastResidual(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	x := randF32(r, tensor.Shape{1, 3, 5, 5})
	w := randF32(r, tensor.Shape{4, 3, 3, 3})
	res := randF32(r, tensor.Shape{2, 4, 3, 3})
	y, err := Conv(x, w, nil, ConvParams{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Binary(OpAdd, y, res)
	want, _ = Clip(want, 0, 1)
	got, err := ConvFusedWith(nil, x, w, nil, res, ConvParams{}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shape.Equal(want.Shape) {
		t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
	}
	sameFloats(t, "broadcast residual", got.F32, want.F32)
}

// TestConvWideMatchesIm2col checks the wide-layout convolution against
// im2col + Gemm bit for bit, on planes large enough for it to be chosen.
func TestConvWideMatchesIm2col(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	tried := 0
	for it := 0; it < 200 && tried < 40; it++ {
		c, m := 1+r.Intn(6), 2+r.Intn(20) // not 1 and 1: that runs as depthwise
		kh, kw := 1+r.Intn(5), 1+r.Intn(5)
		p := ConvParams{
			Strides:   []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Pads:      []int{r.Intn(3), r.Intn(3), r.Intn(3), r.Intn(3)},
		}
		x := randF32(r, tensor.Shape{1, c, 20 + r.Intn(40), 20 + r.Intn(40)})
		g, err := ResolveGeometry(x.Shape, []int{kh, kw}, p)
		if err != nil || kh*kw == 1 {
			continue
		}
		P := g.OH * g.OW
		if pp := newPaddedPlanes(g); pp.wide*8 > P*9 {
			continue
		}
		tried++
		w := randF32(r, tensor.Shape{m, c, kh, kw})
		b := randF32(r, tensor.Shape{m})
		got, err := Conv(x, w, b, p)
		if err != nil {
			t.Fatal(err)
		}
		kk := c * kh * kw
		col := make([]float32, kk*P)
		im2col(g, c, x.F32, col, 0)
		want := make([]float32, m*P)
		Gemm(false, false, m, P, kk, w.F32, kk, col, P, want, P, false)
		for i := range want {
			want[i] += b.F32[i/P]
		}
		sameFloats(t, "wide conv", got.F32, want)
	}
	if tried < 10 {
		t.Fatalf("only %d geometries took the wide layout", tried)
	}
}

func TestF32Deinterleave2MatchesGo(t *testing.T) {
	cputest.TestAllImplementations(t, frowFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		for _, n := range []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 48, 111, 112, 113, 300} {
			src := randF32(r, tensor.Shape{2*n + 3}).F32
			gotE, gotO := make([]float32, n+3), make([]float32, n+3)
			wantE, wantO := make([]float32, n+3), make([]float32, n+3)
			f32Deinterleave2(gotE, gotO[:n], src)
			for k := 0; k < n; k++ {
				wantE[k], wantO[k] = src[2*k], src[2*k+1]
			}
			sameFloats(t, "even", gotE, wantE) // including the untouched tail
			sameFloats(t, "odd", gotO, wantO)
		}
	})
}
