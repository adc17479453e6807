package tfgraph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

func nhwc(h, w int) *tfpb.AttrValue { return aInts(1, int64(h), int64(w), 1) }

// TestDepthwise covers DepthwiseConv2dNative (multiplier 2, SAME, stride
// 2), BatchNormWithGlobalNormalization, a dilated VALID Conv2D and an
// EXPLICIT-padded one, ending in a 4-D NHWC output: one Transpose in, one
// out.
func TestDepthwise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := newBuilder()
	b.placeholder("X", 1, 9, 9, 3)
	dw, dwv := b.randConst(r, "dw/filter", 0.5, 3, 3, 3, 2)
	mean, mv := b.randConst(r, "m", 0.5, 6)
	beta, bv := b.randConst(r, "beta", 0.5, 6)
	gamma, gv := b.randConst(r, "gamma", 1, 6)
	varV := make([]float32, 6)
	for i := range varV {
		varV[i] = float32(0.5 + r.Float64())
	}
	variance := b.constF("v", []int{6}, varV)
	w2, w2v := b.randConst(r, "w2", 0.5, 2, 2, 6, 4)
	w3, w3v := b.randConst(r, "w3", 0.5, 3, 2, 4, 3)
	b.node("DepthwiseConv2dNative", "dw", []string{"X", dw}, attrMap{"strides": nhwc(2, 2), "padding": aS("SAME"), "data_format": aS("NHWC")})
	b.node("BatchNormWithGlobalNormalization", "bn", []string{"dw", mean, variance, beta, gamma},
		attrMap{"variance_epsilon": aF(1e-3), "scale_after_normalization": aB(true)})
	b.node("Relu", "relu", []string{"bn"}, nil)
	b.node("Conv2D", "dilated", []string{"relu", w2}, attrMap{"strides": nhwc(1, 1), "dilations": nhwc(2, 2), "padding": aS("VALID")})
	b.node("Conv2D", "explicit", []string{"dilated", w3}, attrMap{"strides": nhwc(1, 2), "padding": aS("EXPLICIT"),
		"explicit_paddings": aInts(0, 0, 1, 2, 0, 1, 0, 0)})

	x := randND(r, 1, 9, 9, 3)
	m, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": x.tensor()})
	if got := countOps(m, "Transpose"); got != 2 {
		t.Errorf("%d Transpose nodes, want 2", got)
	}
	p0, p1 := samePads(9, 3, 2, 1)
	y := refConv(x, fromF32([]int{3, 3, 3, 2}, dwv), 2, 2, 1, 1, [4]int{p0, p0, p1, p1}, true)
	y = refChannel(y, func(v float64, c int) float64 {
		v = (v-float64(mv[c]))/math.Sqrt(float64(varV[c])+float64(float32(1e-3)))*float64(gv[c]) + float64(bv[c])
		return math.Max(v, 0)
	})
	y = refConv(y, fromF32([]int{2, 2, 6, 4}, w2v), 1, 1, 2, 2, [4]int{}, false)
	y = refConv(y, fromF32([]int{3, 2, 4, 3}, w3v), 1, 2, 1, 1, [4]int{1, 0, 2, 1}, false)
	compare(t, "explicit", out["explicit"], y, 1e-5)
}

// TestConcatPadReshape covers ConcatV2 along the channel axis (negative
// axis), Concat (axis first), Pad, MaxPool SAME, Mean with keep_dims,
// Squeeze, and a flatten whose target shape comes from Shape,
// StridedSlice and Pack evaluated at import.
func TestConcatPadReshape(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	b := newBuilder()
	b.placeholder("X", 1, 6, 6, 2)
	wa, wav := b.randConst(r, "wa", 0.5, 1, 1, 2, 3)
	wb, wbv := b.randConst(r, "wb", 0.5, 3, 3, 2, 2)
	b.node("Conv2D", "a", []string{"X", wa}, attrMap{"strides": nhwc(1, 1), "padding": aS("VALID")})
	b.node("Conv2D", "b", []string{"X", wb}, attrMap{"strides": nhwc(1, 1), "padding": aS("SAME")})
	b.node("ConcatV2", "cat", []string{"a", "b", b.constI("cat/axis", true, -1)}, attrMap{"N": aI(2), "Tidx": aType(3)})
	b.node("Concat", "cat2", []string{b.constI("cat2/axis", true, 3), "cat", "a"}, attrMap{"N": aI(2)})
	b.node("Pad", "pad", []string{"cat2", b.constI("paddings", false, 0, 0, 1, 2, 0, 1, 0, 0)}, nil)
	b.node("MaxPool", "pool", []string{"pad"}, attrMap{"ksize": nhwc(3, 3), "strides": nhwc(2, 2), "padding": aS("SAME")})
	b.node("Mean", "mean", []string{"pool", b.constI("mean/axes", false, 1, 2)}, attrMap{"keep_dims": aB(true)})
	b.node("Squeeze", "squeeze", []string{"mean"}, attrMap{"squeeze_dims": aInts(1, 2)})
	// Flatten the pool output: Reshape(pool, Pack(Shape(pool)[0], -1)).
	b.node("Shape", "shape", []string{"pool"}, attrMap{"out_type": aType(tfpb.DataType_DT_INT32)})
	b.node("StridedSlice", "batch", []string{"shape", b.constI("ss/begin", false, 0), b.constI("ss/end", false, 1), b.constI("ss/strides", false, 1)},
		attrMap{"shrink_axis_mask": aI(1), "Index": aType(3)})
	b.node("Pack", "target", []string{"batch", b.constI("minus1", true, -1)}, attrMap{"N": aI(2), "axis": aI(0)})
	b.node("Reshape", "flat", []string{"pool", "target"}, nil)

	x := randND(r, 1, 6, 6, 2)
	m, out := run(t, b.bytes(t), Options{Outputs: []string{"squeeze:0", "flat"}}, map[string]*tensor.Tensor{"X": x.tensor()})
	// One Transpose in; one back before the Reshape.
	if got := countOps(m, "Transpose"); got != 2 {
		t.Errorf("%d Transpose nodes, want 2", got)
	}
	if got := countOps(m, "GlobalAveragePool"); got != 1 {
		t.Errorf("%d GlobalAveragePool nodes, want 1", got)
	}
	ya := refConv(x, fromF32([]int{1, 1, 2, 3}, wav), 1, 1, 1, 1, [4]int{}, false)
	yb := refConv(x, fromF32([]int{3, 3, 2, 2}, wbv), 1, 1, 1, 1, [4]int{1, 1, 1, 1}, false)
	cat := concatC(concatC(ya, yb), ya) // 8 channels
	pad := newND(1, 9, 7, 8)
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			for c := 0; c < 8; c++ {
				*pad.at4(0, i+1, j, c) = *cat.at4(0, i, j, c)
			}
		}
	}
	p0, p1 := samePads(9, 3, 2, 1)
	q0, q1 := samePads(7, 3, 2, 1)
	pool := refPool(pad, 3, 3, 2, 2, [4]int{p0, q0, p1, q1}, false)
	compare(t, "squeeze", out["squeeze"], refSpatialMean(pool), 1e-5)
	flat := &nd{shape: []int{1, len(pool.d)}, d: pool.d}
	compare(t, "flat", out["flat"], flat, 1e-6)
}

// concatC joins two NHWC tensors along C.
func concatC(a, b *nd) *nd {
	n, h, w, ca, cb := a.shape[0], a.shape[1], a.shape[2], a.shape[3], b.shape[3]
	y := newND(n, h, w, ca+cb)
	for i := 0; i < n*h*w; i++ {
		copy(y.d[i*(ca+cb):], a.d[i*ca:(i+1)*ca])
		copy(y.d[i*(ca+cb)+ca:], b.d[i*cb:(i+1)*cb])
	}
	return y
}

// TestPooling compares MaxPool and AvgPool with SAME and VALID padding
// over several input sizes, windows and strides.
func TestPooling(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, op := range []string{"MaxPool", "AvgPool"} {
		for _, pad := range []string{"SAME", "VALID"} {
			for _, size := range []int{5, 6, 7} {
				for _, k := range []int{2, 3} {
					for _, s := range []int{1, 2, 3} {
						name := fmt.Sprintf("%s/%s/in%d/k%d/s%d", op, pad, size, k, s)
						t.Run(name, func(t *testing.T) {
							b := newBuilder()
							b.placeholder("X", 1, size, size+1, 2)
							b.node(op, "pool", []string{"X"}, attrMap{"ksize": nhwc(k, k), "strides": nhwc(s, s), "padding": aS(pad)})
							x := randND(r, 1, size, size+1, 2)
							_, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": x.tensor()})
							var pads [4]int
							if pad == "SAME" {
								pads[0], pads[2] = samePads(size, k, s, 1)
								pads[1], pads[3] = samePads(size+1, k, s, 1)
							}
							compare(t, "pool", out["pool"], refPool(x, k, k, s, s, pads, op == "AvgPool"), 1e-6)
						})
					}
				}
			}
		}
	}
}

// TestElementwise covers Add, AddV2, Sub, Mul, RealDiv, Maximum, Minimum,
// Tanh and Sigmoid on NCHW data with constants of rank 0, 1, 3 and 4 and
// with another run-time tensor.
func TestElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	b := newBuilder()
	b.placeholder("X", 1, 4, 5, 3)
	w, wv := b.randConst(r, "w", 0.5, 1, 1, 3, 3)
	c1, c1v := b.randConst(r, "c1", 1, 3)
	c3, c3v := b.randConst(r, "c3", 1, 1, 5, 3)
	c4, c4v := b.randConst(r, "c4", 1, 1, 4, 5, 3)
	b.node("Conv2D", "conv", []string{"X", w}, attrMap{"strides": nhwc(1, 1), "padding": aS("VALID")})
	b.node("Add", "add", []string{"conv", c1}, nil)
	b.node("Sub", "sub", []string{c3, "add"}, nil)
	b.node("Mul", "mul", []string{"sub", c4}, nil)
	b.node("RealDiv", "div", []string{"mul", b.constF("two", nil, []float32{2})}, nil)
	b.node("Maximum", "max", []string{"div", "conv"}, nil)
	b.node("Minimum", "min", []string{"max", b.constF("cap", nil, []float32{0.75})}, nil)
	b.node("Tanh", "tanh", []string{"min"}, nil)
	b.node("Sigmoid", "sig", []string{"tanh"}, nil)
	b.node("AddV2", "out", []string{"sig", "conv"}, nil)

	x := randND(r, 1, 4, 5, 3)
	m, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": x.tensor()})
	if got := countOps(m, "Transpose"); got != 2 {
		t.Errorf("%d Transpose nodes, want 2", got)
	}
	conv := refConv(x, fromF32([]int{1, 1, 3, 3}, wv), 1, 1, 1, 1, [4]int{}, false)
	y := newND(conv.shape...)
	for i, v := range conv.d {
		c, wi := i%3, i/3%5
		a := v + float64(c1v[c])
		s := float64(c3v[wi*3+c]) - a
		mu := s * float64(c4v[i])
		d := mu / 2
		mx := math.Max(d, v)
		mn := math.Min(mx, float64(float32(0.75)))
		y.d[i] = 1/(1+math.Exp(-math.Tanh(mn))) + v
	}
	compare(t, "out", out["out"], y, 1e-5)
}

// TestMatMul covers transpose_a and transpose_b with constant and run-time
// operands.
func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ ta, tb, constB bool }{
		{false, false, true}, {false, true, true}, {true, false, true}, {true, true, false}, {false, true, false},
	} {
		t.Run(fmt.Sprintf("ta=%v/tb=%v/const=%v", tc.ta, tc.tb, tc.constB), func(t *testing.T) {
			b := newBuilder()
			as := []int{3, 4}
			if tc.ta {
				as = []int{4, 3}
			}
			bs := []int{4, 5}
			if tc.tb {
				bs = []int{5, 4}
			}
			b.placeholder("A", as...)
			bv := randND(r, bs...)
			inputs := map[string]*tensor.Tensor{}
			if tc.constB {
				b.constF("B", bs, bv.tensor().F32)
			} else {
				b.placeholder("B", bs...)
				inputs["B"] = bv.tensor()
			}
			b.node("MatMul", "mm", []string{"A", "B"}, attrMap{"transpose_a": aB(tc.ta), "transpose_b": aB(tc.tb)})
			av := randND(r, as...)
			inputs["A"] = av.tensor()
			_, out := run(t, b.bytes(t), Options{}, inputs)
			tr := func(a *nd, yes bool) *nd {
				if !yes {
					return a
				}
				y := newND(a.shape[1], a.shape[0])
				for i := 0; i < a.shape[0]; i++ {
					for j := 0; j < a.shape[1]; j++ {
						y.d[j*a.shape[0]+i] = a.d[i*a.shape[1]+j]
					}
				}
				return y
			}
			compare(t, "mm", out["mm"], refMatMul(tr(av, tc.ta), tr(bv, tc.tb)), 1e-6)
		})
	}
}

// TestCut imports a label_image-style graph from the tensor after its
// JPEG decoding and resizing prefix: the prefix's op types are not
// supported, and cutting at Mul:0 leaves them out.
func TestCut(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	b := newBuilder()
	b.node("Placeholder", "contents", nil, attrMap{"dtype": aType(tfpb.DataType_DT_STRING), "shape": aShape()})
	b.node("DecodeJpeg", "decode", []string{"contents"}, attrMap{"channels": aI(3)})
	b.node("Cast", "cast", []string{"decode"}, attrMap{"SrcT": aType(tfpb.DataType_DT_UINT8), "DstT": aType(tfpb.DataType_DT_FLOAT)})
	b.node("ExpandDims", "batch", []string{"cast", b.constI("dim", true, 0)}, nil)
	b.node("ResizeBilinear", "resize", []string{"batch", b.constI("size", false, 5, 5)}, nil)
	b.node("Sub", "sub", []string{"resize", b.constF("mean", nil, []float32{128})}, nil)
	b.node("Mul", "Mul", []string{"sub", b.constF("scale", nil, []float32{1.0 / 128})}, nil)
	w, wv := b.randConst(r, "w", 0.5, 3, 3, 3, 4)
	b.node("Conv2D", "conv", []string{"Mul", w}, attrMap{"strides": nhwc(1, 1), "padding": aS("SAME")})
	b.node("Mean", "gap", []string{"conv", b.constI("axes", false, 1, 2)}, nil)
	b.node("Softmax", "softmax", []string{"gap"}, nil)
	b.node("NoOp", "init", []string{"^softmax"}, nil)
	data := b.bytes(t)

	_, err := Decode(data, Options{})
	if !errorsIs(err, ErrUnsupported) || !contains(err, `Cast ("cast")`, `DecodeJpeg ("decode")`, `ResizeBilinear ("resize")`) {
		t.Fatalf("uncut graph: %v; want ErrUnsupported naming every unsupported op and node", err)
	}
	x := randND(r, 1, 5, 5, 3)
	m, out := run(t, data, Options{Inputs: []string{"Mul:0"}, Outputs: []string{"softmax:0"}}, map[string]*tensor.Tensor{"Mul": x.tensor()})
	if len(m.Graph.Inputs) != 1 || m.Graph.Inputs[0].Name != "Mul" || m.Graph.Outputs[0].Name != "softmax" {
		t.Fatalf("inputs %v outputs %v", m.Graph.Inputs, m.Graph.Outputs)
	}
	y := refConv(x, fromF32([]int{3, 3, 3, 4}, wv), 1, 1, 1, 1, [4]int{1, 1, 1, 1}, false)
	compare(t, "softmax", out["softmax"], refSoftmax(refSpatialMean(y)), 1e-5)
}

// TestUnknownSizes imports a placeholder of unknown batch and spatial size:
// SAME padding then becomes ONNX SAME_UPPER, which pads like TensorFlow.
func TestUnknownSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	b := newBuilder()
	b.placeholder("X", -1, -1, -1, 3)
	w, wv := b.randConst(r, "w", 0.5, 3, 2, 3, 2)
	b.node("Conv2D", "conv", []string{"X", w}, attrMap{"strides": nhwc(2, 3), "padding": aS("SAME")})
	b.node("AvgPool", "pool", []string{"conv"}, attrMap{"ksize": nhwc(2, 2), "strides": nhwc(2, 2), "padding": aS("SAME")})
	data := b.bytes(t)
	for _, size := range [][2]int{{7, 8}, {6, 5}} {
		x := randND(r, 2, size[0], size[1], 3)
		m, out := run(t, data, Options{}, map[string]*tensor.Tensor{"X": x.tensor()})
		if m.Graph.Nodes[1].AttrString("auto_pad", "") != "SAME_UPPER" {
			t.Fatalf("conv: %v, want auto_pad SAME_UPPER", m.Graph.Nodes[1].Attrs)
		}
		ph0, ph1 := samePads(size[0], 3, 2, 1)
		pw0, pw1 := samePads(size[1], 2, 3, 1)
		y := refConv(x, fromF32([]int{3, 2, 3, 2}, wv), 2, 3, 1, 1, [4]int{ph0, pw0, ph1, pw1}, false)
		qh0, qh1 := samePads(y.shape[1], 2, 2, 1)
		qw0, qw1 := samePads(y.shape[2], 2, 2, 1)
		compare(t, fmt.Sprint("pool ", size), out["pool"], refPool(y, 2, 2, 2, 2, [4]int{qh0, qw0, qh1, qw1}, true), 1e-5)
	}
}

// TestDynamicFlatten flattens a tensor of unknown batch size: Shape,
// StridedSlice and Pack then run in the IR (Shape, Slice, Squeeze,
// Unsqueeze, Concat) and Reshape reads their result.
func TestDynamicFlatten(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	b := newBuilder()
	b.placeholder("X", -1, 4, 4, 2)
	w, wv := b.randConst(r, "w", 0.5, 1, 1, 2, 3)
	fc, fcv := b.randConst(r, "fc", 0.5, 48, 2)
	b.node("Conv2D", "conv", []string{"X", w}, attrMap{"strides": nhwc(1, 1), "padding": aS("VALID")})
	b.node("Shape", "shape", []string{"conv"}, nil)
	b.node("StridedSlice", "batch", []string{"shape", b.constI("b", false, 0), b.constI("e", false, 1), b.constI("s", false, 1)},
		attrMap{"shrink_axis_mask": aI(1)})
	b.node("Pack", "target", []string{"batch", b.constI("minus1", true, -1)}, nil)
	b.node("Reshape", "flat", []string{"conv", "target"}, nil)
	b.node("MatMul", "out", []string{"flat", fc}, nil)
	x := randND(r, 3, 4, 4, 2)
	_, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": x.tensor()})
	y := refConv(x, fromF32([]int{1, 1, 2, 3}, wv), 1, 1, 1, 1, [4]int{}, false)
	compare(t, "out", out["out"], refMatMul(&nd{shape: []int{3, 48}, d: y.d}, fromF32([]int{48, 2}, fcv)), 1e-5)
}

// TestStridedSliceConst evaluates StridedSlice of constants.
func TestStridedSliceConst(t *testing.T) {
	x := tensor.FromInt32(tensor.Shape{2, 5}, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	for _, tc := range []struct {
		name                string
		begin, end, strides []int64
		bm, em, sm          int64
		shape               []int
		want                []int32
	}{
		{"row", []int64{1}, []int64{2}, []int64{1}, 0, 0, 1, []int{5}, []int32{5, 6, 7, 8, 9}},
		{"columns", []int64{0, 1}, []int64{2, 4}, []int64{1, 2}, 0, 0, 0, []int{2, 2}, []int32{1, 3, 6, 8}},
		{"reverse", []int64{0, -1}, []int64{0, 0}, []int64{1, -1}, 1, 3, 0, []int{2, 5}, []int32{4, 3, 2, 1, 0, 9, 8, 7, 6, 5}},
		{"last element", []int64{-1, -1}, []int64{0, 0}, []int64{1, 1}, 0, 0, 3, []int{}, []int32{9}},
		{"clamped", []int64{0, 3}, []int64{9, 99}, []int64{1, 1}, 0, 0, 0, []int{2, 2}, []int32{3, 4, 8, 9}},
		{"empty", []int64{0, 4}, []int64{2, 1}, []int64{1, 1}, 0, 0, 0, []int{2, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stridedSlice(x, tc.begin, tc.end, tc.strides, tc.bm, tc.em, tc.sm)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Shape.Equal(tensor.Shape(tc.shape)) || len(got.I32) != len(tc.want) {
				t.Fatalf("shape %v %v, want %v %v", got.Shape, got.I32, tc.shape, tc.want)
			}
			for i := range tc.want {
				if got.I32[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got.I32, tc.want)
				}
			}
		})
	}
}
