package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

func f32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.FromFloat32(shape, v) }

func randF32(r *rand.Rand, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = float32(r.NormFloat64())
	}
	return t
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestGemmSmall(t *testing.T) {
	// [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	c := make([]float32, 4)
	Gemm(false, false, 2, 2, 2, a, 2, b, 2, c, 2, false)
	near(t, "AB", c, []float32{19, 22, 43, 50}, 0)
	Gemm(true, true, 2, 2, 2, a, 2, b, 2, c, 2, false) // Aᵀ·Bᵀ
	near(t, "AtBt", c, []float32{23, 31, 34, 46}, 0)
	y, err := GemmOpWith(nil, f32(tensor.Shape{2, 2}, a...), f32(tensor.Shape{2, 2}, b...), f32(tensor.Shape{2}, 1, -1), false, true, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 2·A·Bᵀ + 3·[1 -1]: A·Bᵀ = [17 23; 39 53]
	near(t, "GemmOp", y.F32, []float32{37, 43, 81, 103}, 0)
}

func naiveGemm(ta, tb bool, m, n, k int, a, b []float32) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av, bv := a[i*k+p], b[p*n+j]
				if ta {
					av = a[p*m+i]
				}
				if tb {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*n+j] = float32(s)
		}
	}
	return c
}

func TestGemmRandomAndThreadIndependent(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, sz := range [][3]int{{1, 7, 5}, {2, 3, 300}, {5, 9, 3}, {67, 130, 513}, {200, 150, 260}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a := randF32(r, tensor.Shape{m * k}).F32
				b := randF32(r, tensor.Shape{k * n}).F32
				lda, ldb := k, n
				if ta {
					lda = m
				}
				if tb {
					ldb = k
				}
				c := make([]float32, m*n)
				Gemm(ta, tb, m, n, k, a, lda, b, ldb, c, n, false)
				near(t, "gemm", c, naiveGemm(ta, tb, m, n, k, a, b), 1e-4)
				old := MaxThreads
				MaxThreads = 1
				c1 := make([]float32, m*n)
				Gemm(ta, tb, m, n, k, a, lda, b, ldb, c1, n, false)
				MaxThreads = old
				for i := range c {
					if c[i] != c1[i] {
						t.Fatalf("gemm %v: result depends on goroutine count", sz)
					}
				}
			}
		}
	}
}

// naiveConv is the direct definition of ONNX Conv (2-D) in float64.
func naiveConv(x, w, b *tensor.Tensor, g *Geometry, group int) []float32 {
	M := w.Shape[0]
	cg, mg := g.C/group, M/group
	y := make([]float32, g.N*M*g.OH*g.OW)
	for n := 0; n < g.N; n++ {
		for m := 0; m < M; m++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var s float64
					if b != nil {
						s = float64(b.F32[m])
					}
					for c := 0; c < cg; c++ {
						ic := (m/mg)*cg + c
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih, iw := oh*g.SH-g.PadT+kh*g.DH, ow*g.SW-g.PadL+kw*g.DW
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								s += float64(x.F32[((n*g.C+ic)*g.H+ih)*g.W+iw]) * float64(w.F32[((m*cg+c)*g.KH+kh)*g.KW+kw])
							}
						}
					}
					y[((n*M+m)*g.OH+oh)*g.OW+ow] = float32(s)
				}
			}
		}
	}
	return y
}

type convCase struct {
	n, c, h, w, m, kh, kw, group int
	p                            ConvParams
	bias                         bool
}

func convCases(r *rand.Rand) []convCase {
	cases := []convCase{
		{1, 1, 5, 5, 1, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}, false},
		{2, 3, 7, 6, 4, 3, 3, 1, ConvParams{Strides: []int{2, 2}, Pads: []int{1, 0, 1, 2}}, true},
		{1, 4, 9, 9, 4, 3, 3, 4, ConvParams{Pads: []int{1, 1, 1, 1}}, true},                      // depthwise
		{1, 4, 9, 8, 8, 3, 3, 4, ConvParams{Strides: []int{2, 1}, Dilations: []int{1, 2}}, true}, // multiplier 2
		{1, 6, 8, 8, 4, 1, 1, 2, ConvParams{}, true},                                             // grouped 1x1
		{1, 3, 10, 7, 5, 5, 3, 1, ConvParams{Dilations: []int{2, 2}, Pads: []int{2, 1, 2, 1}}, false},
		{1, 2, 7, 7, 3, 3, 3, 1, ConvParams{AutoPad: "SAME_UPPER", Strides: []int{2, 2}}, true},
		{1, 2, 6, 6, 3, 4, 4, 1, ConvParams{AutoPad: "SAME_LOWER"}, true},
		{1, 2, 6, 5, 3, 3, 2, 1, ConvParams{AutoPad: "VALID", Strides: []int{1, 2}}, true},
		{1, 8, 6, 6, 8, 3, 3, 8, ConvParams{Strides: []int{2, 2}, Pads: []int{0, 0, 1, 1}}, false},
	}
	for i := 0; i < 20; i++ {
		group := 1 + r.Intn(3)
		c := group * (1 + r.Intn(3))
		m := group * (1 + r.Intn(3))
		kh, kw := 1+r.Intn(3), 1+r.Intn(3)
		p := ConvParams{
			Strides:   []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Pads:      []int{r.Intn(2), r.Intn(3), r.Intn(2), r.Intn(2)},
		}
		cases = append(cases, convCase{1 + r.Intn(2), c, 6 + r.Intn(6), 5 + r.Intn(7), m, kh, kw, group, p, r.Intn(2) == 0})
	}
	return cases
}

func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i, tc := range convCases(r) {
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
		g, _ := ResolveGeometry(x.Shape, []int{tc.kh, tc.kw}, tc.p)
		if !y.Shape.Equal(g.OutShape(tc.m)) {
			t.Fatalf("case %d: shape %v", i, y.Shape)
		}
		near(t, "conv", y.F32, naiveConv(x, w, b, g, tc.group), 1e-4)
	}
}

func TestConvKnown(t *testing.T) {
	// ONNX Conv example: 5x5 ramp, 3x3 ones kernel, pads 1.
	x := tensor.New(tensor.Float32, tensor.Shape{1, 1, 5, 5})
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	w := f32(tensor.Shape{1, 1, 3, 3}, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	y, err := Conv(x, w, nil, ConvParams{Pads: []int{1, 1, 1, 1}, Strides: []int{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "conv strides", y.F32, []float32{12, 27, 24, 63, 108, 81, 72, 117, 84}, 0)
	// SAME_UPPER with stride 2 on 5x5 with 3x3 gives 3x3, pads (1,1).
	g, _ := ResolveGeometry(x.Shape, []int{3, 3}, ConvParams{AutoPad: "SAME_UPPER", Strides: []int{2, 2}})
	if g.OH != 3 || g.PadT != 1 || g.PadB != 1 {
		t.Fatalf("SAME_UPPER geometry %+v", g)
	}
	// SAME_LOWER with an even kernel puts the extra pad at the beginning.
	g, _ = ResolveGeometry(tensor.Shape{1, 1, 4, 4}, []int{2, 2}, ConvParams{AutoPad: "SAME_LOWER"})
	if g.PadT != 1 || g.PadB != 0 {
		t.Fatalf("SAME_LOWER geometry %+v", g)
	}
}

func TestPools(t *testing.T) {
	x := f32(tensor.Shape{1, 1, 4, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	y, _ := MaxPool(x, PoolParams{ConvParams: ConvParams{KernelShape: []int{2, 2}, Strides: []int{2, 2}}})
	near(t, "maxpool", y.F32, []float32{6, 8, 14, 16}, 0)
	// ceil_mode: 3x3 windows with stride 2 on 4x4 give 2x2.
	y, _ = MaxPool(x, PoolParams{ConvParams: ConvParams{KernelShape: []int{3, 3}, Strides: []int{2, 2}, CeilMode: true}})
	near(t, "maxpool ceil", y.F32, []float32{11, 12, 15, 16}, 0)
	y, _ = AveragePool(x, PoolParams{ConvParams: ConvParams{KernelShape: []int{3, 3}, Strides: []int{2, 2}, CeilMode: true}})
	near(t, "avgpool ceil", y.F32, []float32{6, 7.5, 12, 13.5}, 0)
	p := PoolParams{ConvParams: ConvParams{KernelShape: []int{2, 2}, Pads: []int{1, 1, 1, 1}, Strides: []int{2, 2}}}
	y, _ = AveragePool(x, p)
	near(t, "avgpool exclude pad", y.F32, []float32{1, 2.5, 4, 7, 8.5, 10, 13, 14.5, 16}, 0)
	p.CountIncludePad = true
	y, _ = AveragePool(x, p)
	near(t, "avgpool include pad", y.F32, []float32{0.25, 1.25, 1, 3.5, 8.5, 5, 3.25, 7.25, 4}, 0)
	y, _ = MaxPool(x, PoolParams{ConvParams: ConvParams{KernelShape: []int{2, 2}, Dilations: []int{2, 2}}})
	near(t, "maxpool dilations", y.F32, []float32{11, 12, 15, 16}, 0)
	y, _ = GlobalAveragePool(x)
	near(t, "gap", y.F32, []float32{8.5}, 0)
	u := tensor.FromUint8(tensor.Shape{1, 1, 2, 2}, []uint8{3, 200, 7, 9})
	yu, _ := MaxPool(u, PoolParams{ConvParams: ConvParams{KernelShape: []int{2, 2}}})
	if yu.U8[0] != 200 {
		t.Fatalf("uint8 maxpool %v", yu.U8)
	}
}

func TestElementwise(t *testing.T) {
	a := f32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6)
	for _, tc := range []struct {
		op   BinaryOp
		b    *tensor.Tensor
		want []float32
	}{
		{OpAdd, f32(tensor.Shape{3}, 10, 20, 30), []float32{11, 22, 33, 14, 25, 36}},
		{OpSub, f32(tensor.Shape{2, 1}, 1, 2), []float32{0, 1, 2, 2, 3, 4}},
		{OpMul, f32(nil, 2), []float32{2, 4, 6, 8, 10, 12}},
		{OpDiv, f32(tensor.Shape{1, 2, 3}, 1, 2, 3, 4, 5, 6), []float32{1, 1, 1, 1, 1, 1}},
	} {
		y, err := Binary(tc.op, a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		near(t, tc.op.String(), y.F32, tc.want, 0)
	}
	// [3,1] + [1,2] broadcasts to [3,2] (both sides).
	y, _ := Binary(OpAdd, f32(tensor.Shape{3, 1}, 1, 2, 3), f32(tensor.Shape{1, 2}, 10, 20))
	if !y.Shape.Equal(tensor.Shape{3, 2}) {
		t.Fatal(y.Shape)
	}
	near(t, "both broadcast", y.F32, []float32{11, 21, 12, 22, 13, 23}, 0)
	i, _ := Binary(OpDiv, tensor.FromInt64(tensor.Shape{2}, []int64{7, -7}), tensor.FromInt64(nil, []int64{2}))
	if i.I64[0] != 3 || i.I64[1] != -3 {
		t.Fatal(i.I64)
	}
	if _, err := Binary(OpAdd, a, f32(tensor.Shape{2}, 1, 2)); err == nil {
		t.Fatal("bad broadcast accepted")
	}
	r, _ := Relu(f32(tensor.Shape{3}, -1, 0, 2))
	near(t, "relu", r.F32, []float32{0, 0, 2}, 0)
	c, _ := Clip(f32(tensor.Shape{3}, -1, 3, 7), 0, 6)
	near(t, "clip", c.F32, []float32{0, 3, 6}, 0)
	bn, _ := BatchNormWith(nil, f32(tensor.Shape{1, 2, 1, 1}, 1, 2), f32(tensor.Shape{2}, 1, 2), f32(tensor.Shape{2}, 0, 1), f32(tensor.Shape{2}, 1, 0), f32(tensor.Shape{2}, 4, 1), 0)
	near(t, "batchnorm", bn.F32, []float32{0, 5}, 1e-7)
}

func TestSoftmax(t *testing.T) {
	x := f32(tensor.Shape{2, 2}, 0, float32(math.Log(3)), 5, 5)
	y, _ := Softmax(x, -1, false, false)
	near(t, "softmax", y.F32, []float32{0.25, 0.75, 0.5, 0.5}, 1e-6)
	y, _ = Softmax(x, 0, true, false) // coerced: whole tensor is one row
	var s float32
	for _, v := range y.F32 {
		s += v
	}
	near(t, "coerced sum", []float32{s}, []float32{1}, 1e-6)
	l, _ := Softmax(x, 1, false, true)
	near(t, "logsoftmax", l.F32, []float32{float32(math.Log(0.25)), float32(math.Log(0.75)), float32(math.Log(0.5)), float32(math.Log(0.5))}, 1e-6)
}

func TestShapeOps(t *testing.T) {
	x := f32(tensor.Shape{2, 3, 4}, make([]float32, 24)...)
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	s, err := ReshapeShape(x.Shape, []int64{0, -1}, false)
	if err != nil || !s.Equal(tensor.Shape{2, 12}) {
		t.Fatal(s, err)
	}
	if _, err := ReshapeShape(tensor.Shape{0, 3}, []int64{0, 3}, true); err != nil {
		t.Fatal(err)
	}
	tr, _ := Transpose(x, []int64{2, 0, 1})
	if !tr.Shape.Equal(tensor.Shape{4, 2, 3}) || tr.F32[1] != 4 || tr.F32[3] != 12 || tr.F32[6] != 1 {
		t.Fatalf("transpose %v %v", tr.Shape, tr.F32[:8])
	}
	f, _ := Flatten(x, -1)
	if !f.Shape.Equal(tensor.Shape{6, 4}) {
		t.Fatal(f.Shape)
	}
	c, _ := Concat([]*tensor.Tensor{f32(tensor.Shape{2, 1}, 1, 2), f32(tensor.Shape{2, 2}, 3, 4, 5, 6)}, 1)
	near(t, "concat", c.F32, []float32{1, 3, 4, 2, 5, 6}, 0)
	gth, _ := Gather(f32(tensor.Shape{3, 2}, 1, 2, 3, 4, 5, 6), tensor.FromInt64(tensor.Shape{2}, []int64{-1, 0}), 0)
	near(t, "gather", gth.F32, []float32{5, 6, 1, 2}, 0)
	sq, _ := Squeeze(f32(tensor.Shape{1, 3, 1}, 1, 2, 3), nil)
	us, _ := Unsqueeze(sq, []int64{0, -1})
	if !sq.Shape.Equal(tensor.Shape{3}) || !us.Shape.Equal(tensor.Shape{1, 3, 1}) {
		t.Fatal(sq.Shape, us.Shape)
	}
	p, _ := Pad(f32(tensor.Shape{2, 2}, 1, 2, 3, 4), []int64{1, 0, 0, 1}, 9)
	near(t, "pad", p.F32, []float32{9, 9, 9, 1, 2, 9, 3, 4, 9}, 0)
	ct, _ := Cast(f32(tensor.Shape{3}, 1.7, -1.7, 300), tensor.Int64)
	if ct.I64[0] != 1 || ct.I64[1] != -1 || ct.I64[2] != 300 {
		t.Fatal(ct.I64)
	}
	sh := ShapeOf(x, 1, 0, false)
	if len(sh.I64) != 2 || sh.I64[0] != 3 {
		t.Fatal(sh.I64)
	}
	mm, _ := MatMul(f32(tensor.Shape{2, 1, 2}, 1, 2, 3, 4), f32(tensor.Shape{2}, 1, 1))
	if !mm.Shape.Equal(tensor.Shape{2, 1}) {
		t.Fatal(mm.Shape)
	}
	near(t, "matmul vec", mm.F32, []float32{3, 7}, 0)
	bm, _ := MatMul(f32(tensor.Shape{2, 1, 2}, 1, 2, 3, 4), f32(tensor.Shape{1, 2, 1}, 1, 10))
	near(t, "matmul batch", bm.F32, []float32{21, 43}, 0)
}

func TestQuantizeDequantize(t *testing.T) {
	x := f32(tensor.Shape{1, 2, 2}, 0.5, 1.5, -2, 1000)
	s := f32(tensor.Shape{2}, 1, 2)
	z := tensor.FromUint8(tensor.Shape{2}, []uint8{10, 128})
	q, err := QuantizeLinear(x, s, z, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Half to even: 0.5→0, 1.5→2; -2/2 = -1; 1000/2 saturates.
	if string(q.U8) != string([]uint8{10, 12, 127, 255}) {
		t.Fatalf("quantize %v", q.U8)
	}
	d, _ := DequantizeLinear(q, s, z, 1)
	near(t, "dequantize", d.F32, []float32{0, 2, -2, 254}, 0)
	qi, _ := QuantizeLinear(f32(tensor.Shape{2}, -300, 2.5), f32(nil, 1), tensor.FromInt8(nil, []int8{0}), 1)
	if qi.I8[0] != -128 || qi.I8[1] != 2 {
		t.Fatal(qi.I8)
	}
	di, _ := DequantizeLinear(tensor.FromInt32(tensor.Shape{2}, []int32{-3, 5}), f32(nil, 0.5), nil, 1)
	near(t, "dequantize int32", di.F32, []float32{-1.5, 2.5}, 0)
}

func TestRequantizeEdges(t *testing.T) {
	for _, tc := range []struct {
		acc  int32
		mult float32
		zp   int32
		want int32
	}{
		{5, 0.5, 0, 2},        // 2.5 → 2 (half to even)
		{7, 0.5, 0, 4},        // 3.5 → 4
		{-3, 1, 0, 0},         // saturates at 0
		{1000, 1, 0, 255},     // saturates at 255
		{-1000, 1, 255, 0},    // zero point 255, saturate low
		{10, 1, 255, 255},     // zero point 255, saturate high
		{-1, 0.5, 255, 255},   // -0.5 rounds to 0 (even)
		{-3, 0.5, 255, 253},   // -1.5 → -2 → 253
		{1 << 30, 1, 0, 255},  // huge
		{-1 << 31, 1, 0, 0},   // most negative
		{100, 0.01, 128, 129}, // 1.0 → 1
	} {
		want := tc.want
		if got := qmath.Requantize(tc.acc, tc.mult, tc.zp, 0, 255); got != want {
			t.Errorf("Requantize(%d, %g, %d) = %d, want %d", tc.acc, tc.mult, tc.zp, got, want)
		}
	}
}

func randQ(r *rand.Rand, shape tensor.Shape) (*tensor.Tensor, *tensor.Tensor) {
	x := tensor.New(tensor.Uint8, shape)
	for i := range x.U8 {
		x.U8[i] = uint8(r.Intn(256))
	}
	w := tensor.New(tensor.Int8, shape)
	for i := range w.I8 {
		w.I8[i] = int8(r.Intn(255) - 127)
	}
	return x, w
}

func TestQConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i, tc := range convCases(r) {
		tc.p.Group = tc.group
		x, _ := randQ(r, tensor.Shape{tc.n, tc.c, tc.h, tc.w})
		_, w := randQ(r, tensor.Shape{tc.m, tc.c / tc.group, tc.kh, tc.kw})
		p := QConvParams{ConvParams: tc.p, XZeroPoint: int32(r.Intn(256))}
		p.ZeroPoint = int32(r.Intn(256))
		for m := 0; m < tc.m; m++ {
			p.Multiplier = append(p.Multiplier, float32(r.Float64()*0.01))
			if i%3 == 0 {
				p.WZeroPoint = append(p.WZeroPoint, int32(r.Intn(21)-10))
			}
		}
		if i%4 == 1 {
			p.Min, p.Max = p.ZeroPoint, 255 // fused ReLU
		}
		var bias []int32
		if tc.bias {
			for m := 0; m < tc.m; m++ {
				bias = append(bias, int32(r.Intn(20001)-10000))
			}
		}
		ref, err := qconvReference(x, w, bias, p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := qconv(x, w, bias, p)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(ref) {
			t.Fatalf("case %d: QConv differs from QConvReference", i)
		}
	}
}

func TestQConvKnown(t *testing.T) {
	// 1x1 conv of x = [0, 10, 20, 255] (zx 10) with w = 2, bias 4, mult 0.5, zy 3:
	// acc = 4 + 2(x−10) → [-16, 4, 24, 494] → ×0.5 → [-8, 2, 12, 247] + 3 → saturate.
	x := tensor.FromUint8(tensor.Shape{1, 1, 2, 2}, []uint8{0, 10, 20, 255})
	w := tensor.FromInt8(tensor.Shape{1, 1, 1, 1}, []int8{2})
	p := QConvParams{XZeroPoint: 10, Requant: Requant{Multiplier: []float32{0.5}, ZeroPoint: 3}}
	y, err := qconvReference(x, w, []int32{4}, p)
	if err != nil {
		t.Fatal(err)
	}
	if string(y.U8) != string([]uint8{0, 5, 15, 250}) {
		t.Fatalf("got %v", y.U8)
	}
	// Padding reads the zero point: a 3x3 ones kernel over a single pixel.
	x1 := tensor.FromUint8(tensor.Shape{1, 1, 1, 1}, []uint8{12})
	w1 := tensor.FromInt8(tensor.Shape{1, 1, 3, 3}, []int8{1, 1, 1, 1, 1, 1, 1, 1, 1})
	p1 := QConvParams{ConvParams: ConvParams{Pads: []int{1, 1, 1, 1}}, XZeroPoint: 10, Requant: Requant{Multiplier: []float32{1}}}
	y1, _ := qconv(x1, w1, nil, p1)
	if y1.U8[0] != 2 {
		t.Fatalf("padded conv %v", y1.U8)
	}
}

func TestQMatMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for i, sz := range [][3]int{{1, 10, 16}, {3, 7, 5}, {64, 100, 300}, {5, 1, 9}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, transB := range []bool{false, true} {
			a, _ := randQ(r, tensor.Shape{m, k})
			_, b := randQ(r, tensor.Shape{k, n})
			if transB {
				b.Shape = tensor.Shape{n, k}
			}
			p := QGemmParams{AZeroPoint: int32(r.Intn(256))}
			p.ZeroPoint = int32(r.Intn(256))
			for j := 0; j < n; j++ {
				p.Multiplier = append(p.Multiplier, float32(r.Float64()*0.005))
				if i%2 == 0 {
					p.BZeroPoint = append(p.BZeroPoint, int32(r.Intn(11)-5))
				}
			}
			bias := make([]int32, n)
			for j := range bias {
				bias[j] = int32(r.Intn(2001) - 1000)
			}
			ref, err := qmatmulReference(a, b, transB, bias, p)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := QMatMul(a, b, transB, bias, p)
			if !got.Equal(ref) {
				t.Fatalf("%v transB=%v: QMatMul differs from reference", sz, transB)
			}
		}
	}
	// Hand-computed: A = [[1, 3]] (za 1), B = [[2], [-1]], bias 10, mult 1, zy 0:
	// acc = 10 + 0·2 + 2·(−1) = 8.
	y, _ := qmatmulReference(tensor.FromUint8(tensor.Shape{1, 2}, []uint8{1, 3}), tensor.FromInt8(tensor.Shape{2, 1}, []int8{2, -1}), false, []int32{10}, QGemmParams{AZeroPoint: 1, Requant: Requant{Multiplier: []float32{1}}})
	if y.U8[0] != 8 {
		t.Fatal(y.U8)
	}
}

func BenchmarkConv3x3_64x64_56(b *testing.B) {
	r := rand.New(rand.NewSource(5))
	x := randF32(r, tensor.Shape{1, 64, 56, 56})
	w := randF32(r, tensor.Shape{64, 64, 3, 3})
	bias := randF32(r, tensor.Shape{64})
	p := ConvParams{Pads: []int{1, 1, 1, 1}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Conv(x, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQConv3x3_64x64_56(b *testing.B) {
	r := rand.New(rand.NewSource(6))
	x, _ := randQ(r, tensor.Shape{1, 64, 56, 56})
	_, w := randQ(r, tensor.Shape{64, 64, 3, 3})
	p := QConvParams{ConvParams: ConvParams{Pads: []int{1, 1, 1, 1}}, XZeroPoint: 128, Requant: Requant{Multiplier: []float32{0.001}, ZeroPoint: 128}}
	bias := make([]int32, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := qconv(x, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGemm512(b *testing.B) {
	r := rand.New(rand.NewSource(7))
	a := randF32(r, tensor.Shape{512 * 512}).F32
	bb := randF32(r, tensor.Shape{512 * 512}).F32
	c := make([]float32, 512*512)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Gemm(false, false, 512, 512, 512, a, 512, bb, 512, c, 512, false)
	}
}

// TestMaxPoolMatchesReference compares the parallel, bounds-test-free
// MaxPool with maxPoolReference bit for bit on random geometries (kernel
// sizes, strides, dilations, pads, ceil mode) for float32 with NaNs and
// signed zeros, uint8 and int8.
func TestMaxPoolMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for trial := 0; trial < 300; trial++ {
		kh, kw := 1+r.Intn(4), 1+r.Intn(4)
		p := PoolParams{ConvParams: ConvParams{KernelShape: []int{kh, kw},
			Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
			Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Pads:      []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
			CeilMode:  r.Intn(2) == 0}}
		shape := tensor.Shape{1 + r.Intn(2), 1 + r.Intn(40), 1 + r.Intn(30), 1 + r.Intn(30)}
		if trial%10 == 0 {
			shape[1] = 64 // enough work to split over the worker pool
		}
		g, err := ResolveGeometry(shape, p.KernelShape, p.ConvParams)
		if err != nil {
			continue
		}
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Uint8, tensor.Int8} {
			x := tensor.New(dt, shape)
			for i := 0; i < x.Len(); i++ {
				v := r.Intn(256)
				switch dt {
				case tensor.Float32:
					x.F32[i] = float32(v-128) / 16
					switch r.Intn(40) {
					case 0:
						x.F32[i] = float32(math.NaN())
					case 1:
						x.F32[i] = float32(math.Copysign(0, -1))
					case 2:
						x.F32[i] = 0
					}
				case tensor.Uint8:
					x.U8[i] = uint8(v)
				case tensor.Int8:
					x.I8[i] = int8(v - 128)
				}
			}
			got, err := MaxPool(x, p)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			want := tensor.New(dt, got.Shape)
			switch dt {
			case tensor.Float32:
				reference.MaxPool(&g.Window, x.F32, want.F32, float32(math.Inf(-1)))
				for i := range want.F32 {
					if math.Float32bits(want.F32[i]) != math.Float32bits(got.F32[i]) {
						t.Fatalf("trial %d %v %+v: float output %d is %v, want %v", trial, shape, p, i, got.F32[i], want.F32[i])
					}
				}
			case tensor.Uint8:
				reference.MaxPool(&g.Window, x.U8, want.U8, 0)
			case tensor.Int8:
				reference.MaxPool(&g.Window, x.I8, want.I8, -128)
			}
			if !want.Equal(got) && dt != tensor.Float32 {
				t.Fatalf("trial %d %v %+v: %v MaxPool differs from the reference", trial, shape, p, dt)
			}
		}
	}
}

// TestTransposeRandom compares Transpose (which merges axes that stay
// adjacent) with element-by-element indexing on random shapes and
// permutations of rank 1 to 5.
func TestTransposeRandom(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	for trial := 0; trial < 300; trial++ {
		rank := 1 + r.Intn(5)
		shape := make(tensor.Shape, rank)
		for i := range shape {
			shape[i] = 1 + r.Intn(4)
		}
		perm := r.Perm(rank)
		p64 := make([]int64, rank)
		for i, v := range perm {
			p64[i] = int64(v)
		}
		x := tensor.New(tensor.Uint8, shape)
		for i := range x.U8 {
			x.U8[i] = uint8(r.Intn(256))
		}
		y, err := Transpose(x, p64)
		if err != nil {
			t.Fatal(err)
		}
		st, ost := shape.Strides(), y.Shape.Strides()
		for o := range y.U8 {
			src, rem := 0, o
			for i := range perm {
				src += rem / ost[i] * st[perm[i]]
				rem %= ost[i]
			}
			if y.U8[o] != x.U8[src] {
				t.Fatalf("shape %v perm %v: output %d is %d, want %d", shape, perm, o, y.U8[o], x.U8[src])
			}
		}
	}
}
