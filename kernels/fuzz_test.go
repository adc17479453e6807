package kernels

import (
	le "encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/internal/cpu"
	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// The fuzz targets here drive every implementation of the integer kernel
// family (AVX-512 VNNI, AVX2, Go) with shapes, parameters and values taken
// from the fuzzer's bytes and require each result to equal the reference
// kernel's bit for bit. Plain `go test` runs their seeds; docs/fuzzing.md
// says how to fuzz them.

// fuzzBytes reads parameters from fuzz input; past its end it reads zeros.
type fuzzBytes struct {
	b []byte
	i int
}

func (f *fuzzBytes) byte() byte {
	if f.i >= len(f.b) {
		return 0
	}
	f.i++
	return f.b[f.i-1]
}

// intn returns a value in [0, n).
func (f *fuzzBytes) intn(n int) int { return int(f.byte()) % n }

// fill8 makes an 8-bit tensor from the rest of the input, repeated, with
// the bytes shifted by a counter so that short inputs still vary.
func (f *fuzzBytes) fill8(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	rest := f.b[min(f.i, len(f.b)):]
	for i := 0; i < t.Len(); i++ {
		v := byte(i * 37)
		if len(rest) > 0 {
			v += rest[i%len(rest)]
		}
		store8(t, i, int32(v)+map[tensor.DType]int32{tensor.Uint8: 0, tensor.Int8: -128}[dt])
	}
	return t
}

// zp picks a zero point of dt's range, often one of its edges.
func (f *fuzzBytes) zp(dt tensor.DType) int32 {
	v := int32(f.byte())
	switch f.intn(4) {
	case 0:
		v = 0
	case 1:
		v = 255
	}
	if dt == tensor.Int8 {
		v -= 128
	}
	return v
}

// requant picks requantization parameters for channels outputs.
func (f *fuzzBytes) requant(channels int) Requant {
	rq := Requant{Signed: f.intn(2) == 0}
	n := 1
	if f.intn(2) == 0 {
		n = channels
	}
	for i := 0; i < n; i++ {
		// From 2^-20 to about 2^-1: the range real models use.
		rq.Multiplier = append(rq.Multiplier, float32(math.Ldexp(1+float64(f.byte())/256, -1-f.intn(20))))
	}
	rq.ZeroPoint = f.zp(map[bool]tensor.DType{false: tensor.Uint8, true: tensor.Int8}[rq.Signed])
	if f.intn(3) == 0 {
		rq.Min, rq.Max = rq.ZeroPoint, rq.ZeroPoint+int32(f.byte())
	}
	return rq
}

// eachIntegerImpl runs fn with each implementation of the integer family
// selected in turn and the best one selected again afterwards.
func eachIntegerImpl(t *testing.T, fn func(impl string)) {
	t.Helper()
	defer cpu.Reset(integerFamily)
	for _, name := range cpu.Implementations(integerFamily) {
		if err := cpu.Select(integerFamily, name); err != nil {
			t.Fatal(err)
		}
		fn(name)
	}
}

var eightBit = []tensor.DType{tensor.Uint8, tensor.Int8}

// FuzzQConv: QLinearConv through a QConvPlan (dense, grouped and depthwise,
// any stride, dilation and padding) against the reference convolution.
func FuzzQConv(f *testing.F) {
	f.Add([]byte{0, 2, 6, 7, 3, 2, 2, 0, 0, 1, 1, 1, 1, 0, 0, 0, 9, 200, 3})
	f.Add([]byte{1, 7, 9, 9, 7, 2, 2, 1, 1, 0, 0, 1, 1, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 31, 5, 33, 17, 0, 0, 0, 0, 0, 0, 0, 0, 255, 128, 1})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzQConv(t, data) })
}

// fuzzQConv is FuzzQConv's body; it reports whether the input reached the
// comparison.
func fuzzQConv(t *testing.T, data []byte) bool {
	in := &fuzzBytes{b: data}
	xt, wt := eightBit[in.intn(2)], eightBit[in.intn(2)]
	group := 1
	c := 1 + in.intn(40)
	h, w := 1+in.intn(12), 1+in.intn(40)
	m := 1 + in.intn(40)
	kh, kw := 1+in.intn(3), 1+in.intn(3)
	switch in.intn(4) {
	case 0: // depthwise
		group, m = c, c*(1+in.intn(2))
	case 1: // grouped
		g := 1 + in.intn(4)
		group, c, m = g, c*g, m*g
	}
	p := ConvParams{KernelShape: []int{kh, kw},
		Strides:   []int{1 + in.intn(3), 1 + in.intn(3)},
		Dilations: []int{1 + in.intn(2), 1 + in.intn(2)},
		Pads:      []int{in.intn(kh + 1), in.intn(kw + 1), in.intn(kh + 1), in.intn(kw + 1)}}
	qp := QConvParams{ConvParams: p, XZeroPoint: in.zp(xt)}
	qp.Group = group
	switch in.intn(3) {
	case 1:
		qp.WZeroPoint = []int32{in.zp(wt)}
	case 2:
		for i := 0; i < m; i++ {
			qp.WZeroPoint = append(qp.WZeroPoint, in.zp(wt))
		}
	}
	qp.Requant = in.requant(m)
	var bias []int32
	if in.intn(2) == 0 {
		for i := 0; i < m; i++ {
			bias = append(bias, int32(le.LittleEndian.Uint16([]byte{in.byte(), in.byte()}))*int32(1-2*in.intn(2))*8)
		}
	}
	if _, err := ResolveGeometry(tensor.Shape{1, c, h, w}, p.KernelShape, p); err != nil {
		return false
	}
	x := in.fill8(xt, tensor.Shape{1, c, h, w})
	wts := in.fill8(wt, tensor.Shape{m, c / group, kh, kw})
	want, err := qconvReference(x, wts, bias, qp)
	if err != nil {
		return false
	}
	eachIntegerImpl(t, func(impl string) {
		got, err := qconv(x, wts, bias, qp)
		if err != nil {
			t.Fatalf("%s: reference ran, engine failed: %v", impl, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%s: x %v %v, w %v %v, group %d, %+v: %s", impl, xt, x.Shape, wt, wts.Shape, group, qp, firstDiff(want, got))
		}
	})
	return true
}

// FuzzQMatMul: QLinearMatMul and MatMulInteger against the reference
// product, both operand orders, per-tensor and per-column zero points.
func FuzzQMatMul(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 64, 9, 1, 2, 3, 4})
	f.Add([]byte{1, 0, 1, 7, 200, 70, 0, 255, 128, 5})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzQMatMul(t, data) })
}

// fuzzQMatMul is FuzzQMatMul's body; it reports whether the input reached the
// comparison.
func fuzzQMatMul(t *testing.T, data []byte) bool {
	in := &fuzzBytes{b: data}
	at, bt := eightBit[in.intn(2)], eightBit[in.intn(2)]
	transB := in.intn(2) == 0
	m := 1 + in.intn(16)
	k := in.intn(256) + in.intn(4)*256
	n := 1 + in.intn(96)
	p := QGemmParams{AZeroPoint: in.zp(at)}
	if in.intn(2) == 0 {
		p.BZeroPoint = []int32{in.zp(bt)}
	} else {
		for j := 0; j < n; j++ {
			p.BZeroPoint = append(p.BZeroPoint, in.zp(bt))
		}
	}
	p.Requant = in.requant(n)
	var bias []int32
	if in.intn(2) == 0 {
		for j := 0; j < n; j++ {
			bias = append(bias, int32(in.byte())*int32(in.byte())-16384)
		}
	}
	a := in.fill8(at, tensor.Shape{m, k})
	bs := tensor.Shape{k, n}
	if transB {
		bs = tensor.Shape{n, k}
	}
	b := in.fill8(bt, bs)
	want, err := qmatmulReference(a, b, transB, bias, p)
	if err != nil {
		return false
	}
	var wantInt *tensor.Tensor
	if !transB {
		wantInt, _ = matmulIntegerReference(a, b, p)
	}
	eachIntegerImpl(t, func(impl string) {
		got, err := QMatMul(a, b, transB, bias, p)
		if err != nil || !got.Equal(want) {
			t.Fatalf("%s: %v×%v transB %v %+v: QMatMul %v: %s", impl, a.Shape, b.Shape, transB, p, err, firstDiff(want, got))
		}
		if wantInt != nil {
			gi, err := MatMulInteger(a, b, p)
			if err != nil || !gi.Equal(wantInt) {
				t.Fatalf("%s: MatMulInteger %v differs from the reference", impl, err)
			}
		}
	})
	return true
}

// FuzzMaxPool8: uint8 and int8 MaxPool (the vector row kernels and their
// tails) against reference.MaxPool.
func FuzzMaxPool8(f *testing.F) {
	f.Add([]byte{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 3, 9, 100})
	f.Add([]byte{2, 2, 1, 1, 1, 0, 1, 1, 0, 1, 7, 19, 255, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzMaxPool8(t, data) })
}

// fuzzMaxPool8 is FuzzMaxPool8's body; it reports whether the input reached the
// comparison.
func fuzzMaxPool8(t *testing.T, data []byte) bool {
	in := &fuzzBytes{b: data}
	kh, kw := 1+in.intn(4), 1+in.intn(4)
	p := PoolParams{ConvParams: ConvParams{KernelShape: []int{kh, kw},
		Strides:   []int{1 + in.intn(3), 1 + in.intn(3)},
		Dilations: []int{1 + in.intn(2), 1 + in.intn(2)},
		Pads:      []int{in.intn(kh), in.intn(kw), in.intn(kh), in.intn(kw)},
		CeilMode:  in.intn(2) == 0}}
	dt := eightBit[in.intn(2)]
	shape := tensor.Shape{1 + in.intn(2), 1 + in.intn(4), 1 + in.intn(24), 1 + int(in.byte())}
	g, err := ResolveGeometry(shape, p.KernelShape, p.ConvParams)
	if err != nil {
		return false
	}
	x := in.fill8(dt, shape)
	want := tensor.New(dt, g.OutShape(shape[1]))
	if dt == tensor.Uint8 {
		reference.MaxPool(&g.Window, x.U8, want.U8, 0)
	} else {
		reference.MaxPool(&g.Window, x.I8, want.I8, -128)
	}
	eachIntegerImpl(t, func(impl string) {
		got, err := MaxPool(x, p)
		if err != nil {
			t.Fatalf("%s: %v", impl, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%s: %v %v %+v: %s", impl, dt, shape, p, firstDiff(want, got))
		}
	})
	return true
}

// FuzzQuantizeLinear: QuantizeLinear (per tensor and per axis, uint8 and
// int8, any float bits including NaN, ±Inf and subnormals) against
// reference.Quantize, and DequantizeLinear against reference.Dequantize.
func FuzzQuantizeLinear(f *testing.F) {
	f.Add([]byte{0, 3, 0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255})
	f.Add([]byte{1, 1, 10, 205, 204, 76, 61, 1, 0, 0, 0, 255, 255, 127, 127})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzQuantizeLinear(t, data) })
}

// fuzzQuantizeLinear is FuzzQuantizeLinear's body; it reports whether the input reached the
// comparison.
func fuzzQuantizeLinear(t *testing.T, data []byte) bool {
	in := &fuzzBytes{b: data}
	dt := eightBit[in.intn(2)]
	channels := 1 + in.intn(4)
	perAxis := in.intn(2) == 0
	if !perAxis {
		channels = 1
	}
	inner := in.intn(80)
	scales := make([]float32, channels)
	zps := make([]int32, channels)
	for c := range scales {
		// Positive, finite scales as ONNX requires, over a wide range.
		scales[c] = float32(math.Ldexp(1+float64(in.byte())/256, in.intn(40)-30))
		zps[c] = in.zp(dt)
	}
	n := channels * inner
	x := tensor.New(tensor.Float32, tensor.Shape{1, channels, inner})
	rest := data[min(in.i, len(data)):]
	for i := 0; i < n; i++ {
		var b [4]byte
		for j := range b {
			if len(rest) > 0 {
				b[j] = rest[(4*i+j)%len(rest)]
			}
		}
		v := math.Float32frombits(le.LittleEndian.Uint32(b[:]))
		if i%3 == 1 { // keep many values in range
			v = float32(int8(b[0])) * scales[i/max(inner, 1)%channels] * 1.37
		}
		x.F32[i] = v
	}
	scale := tensor.FromFloat32(tensor.Shape{channels}, scales)
	zp := tensor.New(dt, tensor.Shape{channels})
	for c, z := range zps {
		store8(zp, c, z)
	}
	want := tensor.New(dt, x.Shape)
	wb := want.U8
	if dt == tensor.Int8 {
		wb = int8Bytes(want.I8)
	}
	for c := 0; c < channels; c++ {
		reference.Quantize(wb[c*inner:(c+1)*inner], x.F32[c*inner:(c+1)*inner], qmath.Params{Scale: scales[c], ZeroPoint: zps[c]}, dt == tensor.Int8)
	}
	wantF := tensor.New(tensor.Float32, x.Shape)
	for c := 0; c < channels; c++ {
		reference.Dequantize(wantF.F32[c*inner:(c+1)*inner], wb[c*inner:(c+1)*inner], qmath.Params{Scale: scales[c], ZeroPoint: zps[c]}, dt == tensor.Int8)
	}
	eachIntegerImpl(t, func(impl string) {
		got, err := QuantizeLinear(x, scale, zp, 1)
		if err != nil {
			t.Fatalf("%s: %v", impl, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%s: QuantizeLinear %v, scales %v zps %v: %s", impl, dt, scales, zps, firstDiff(want, got))
		}
		gotF, err := DequantizeLinear(want, scale, zp, 1)
		if err != nil {
			t.Fatalf("%s: %v", impl, err)
		}
		if !gotF.Equal(wantF) {
			t.Fatalf("%s: DequantizeLinear %v, scales %v zps %v: %s", impl, dt, scales, zps, firstDiff(wantF, gotF))
		}
	})
	return true
}

// TestFuzzBodiesCompare keeps the fuzz targets meaningful: most random
// inputs must get past the parameter checks to a comparison.
func TestFuzzBodiesCompare(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for name, body := range map[string]func(*testing.T, []byte) bool{
		"QConv": fuzzQConv, "QMatMul": fuzzQMatMul, "MaxPool8": fuzzMaxPool8, "QuantizeLinear": fuzzQuantizeLinear} {
		compared := 0
		for i := 0; i < 40; i++ {
			data := make([]byte, r.Intn(64))
			r.Read(data)
			if body(t, data) {
				compared++
			}
		}
		if compared < 20 {
			t.Errorf("%s: %d of 40 random inputs reached the comparison, want at least 20", name, compared)
		}
	}
}
