package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

// quantizeCodes turns floats into quint8 codes over [min, max] and returns
// the codes, the range and the values TensorFlow dequantizes them to
// (QuantizedToFloat: min rounded to a multiple of the step).
func quantizeCodes(v []float32) ([]byte, float32, float32, []float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	lo, hi = min(lo, 0), max(hi, 0)
	scale := float64(hi-lo) / 255
	minRounded := math.Round(float64(lo)/scale) * scale
	codes := make([]byte, len(v))
	real := make([]float32, len(v))
	for i, x := range v {
		c := math.Round((float64(x) - minRounded) / scale)
		c = math.Max(0, math.Min(255, c))
		codes[i] = byte(c)
		real[i] = float32(minRounded + c*scale)
	}
	return codes, lo, hi, real
}

func (b *builder) constQ(name string, shape []int, codes []byte) string {
	tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_QUINT8, TensorShape: shapeProto(shape...), TensorContent: codes}
	return b.node("Const", name, nil, attrMap{"dtype": aType(tfpb.DataType_DT_QUINT8), "value": aTensor(tp)})
}

// rangeOf adds the Reshape/Min/Max nodes quantize_graph puts before a
// QuantizeV2 to measure its input's range at run time.
func (b *builder) rangeOf(name, x string) (string, string) {
	b.node("Reshape", name+"/reshape", []string{x, b.constI(name+"/flat", false, -1)}, nil)
	dims := b.constI(name+"/dims", false, 0)
	return b.node("Min", name+"/min", []string{name + "/reshape", dims}, attrMap{"keep_dims": aB(false)}),
		b.node("Max", name+"/max", []string{name + "/reshape", dims}, attrMap{"keep_dims": aB(false)})
}

// requantize adds RequantizationRange and Requantize after a 32-bit op.
func (b *builder) requantize(name, x string) string {
	b.node("RequantizationRange", name+"/range", []string{x, x + ":1", x + ":2"}, attrMap{"Tinput": aType(tfpb.DataType_DT_QINT32)})
	return b.node("Requantize", name, []string{x, x + ":1", x + ":2", name + "/range", name + "/range:1"},
		attrMap{"Tinput": aType(tfpb.DataType_DT_QINT32), "out_type": aType(tfpb.DataType_DT_QUINT8)})
}

// TestEightbit imports the graph quantize_graph --mode=eightbit makes of a
// small classifier (QuantizeV2, QuantizedConv2D, RequantizationRange,
// Requantize, QuantizedBiasAdd, QuantizedRelu, QuantizedMaxPool,
// QuantizedAvgPool, QuantizedMatMul, Dequantize). Its float equivalent must
// match the float network run on the dequantized weights to float
// precision: activations are not rounded, weights are dequantized exactly.
// The Min and Max nodes that measure ranges at run time are not imported.
func TestEightbit(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	rnd := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((r.Float64()*2 - 1) * s)
		}
		return v
	}
	w1 := rnd(3*3*2*4, 0.5)
	b1 := rnd(4, 0.5)
	w2 := rnd(4*3, 1)
	w1q, w1lo, w1hi, w1r := quantizeCodes(w1)
	b1q, b1lo, b1hi, b1r := quantizeCodes(b1)
	w2q, w2lo, w2hi, w2r := quantizeCodes(w2)
	qt := aType(tfpb.DataType_DT_QUINT8)

	b := newBuilder()
	b.placeholder("X", 1, 6, 6, 2)
	lo, hi := b.rangeOf("x_range", "X")
	b.node("QuantizeV2", "xq", []string{"X", lo, hi}, attrMap{"T": qt, "mode": aS("MIN_FIRST")})
	b.constQ("w1", []int{3, 3, 2, 4}, w1q)
	scalar := func(name string, v float32) string { return b.constF(name, nil, []float32{v}) }
	b.node("QuantizedConv2D", "conv", []string{"xq", "w1", "xq:1", "xq:2", scalar("w1/min", w1lo), scalar("w1/max", w1hi)},
		attrMap{"Tinput": qt, "Tfilter": qt, "out_type": aType(tfpb.DataType_DT_QINT32), "strides": nhwc(1, 1), "padding": aS("SAME")})
	b.requantize("conv/eightbit", "conv")
	b.constQ("b1", []int{4}, b1q)
	b.node("QuantizedBiasAdd", "bias", []string{"conv/eightbit", "b1", "conv/eightbit:1", "conv/eightbit:2", scalar("b1/min", b1lo), scalar("b1/max", b1hi)},
		attrMap{"T1": qt, "T2": qt, "out_type": aType(tfpb.DataType_DT_QINT32)})
	b.requantize("bias/eightbit", "bias")
	b.node("QuantizedRelu", "relu", []string{"bias/eightbit", "bias/eightbit:1", "bias/eightbit:2"}, attrMap{"Tinput": qt, "out_type": qt})
	b.node("QuantizedMaxPool", "pool", []string{"relu", "relu:1", "relu:2"}, attrMap{"T": qt, "ksize": nhwc(2, 2), "strides": nhwc(2, 2), "padding": aS("VALID")})
	b.node("QuantizedAvgPool", "avg", []string{"pool", "pool:1", "pool:2"}, attrMap{"T": qt, "ksize": nhwc(3, 3), "strides": nhwc(3, 3), "padding": aS("VALID")})
	b.node("Dequantize", "avg/float", []string{"avg", "avg:1", "avg:2"}, attrMap{"T": qt, "mode": aS("MIN_FIRST")})
	b.node("Reshape", "flat", []string{"avg/float", b.constI("flat/shape", false, 1, 4)}, nil)
	flo, fhi := b.rangeOf("flat_range", "flat")
	b.node("QuantizeV2", "flatq", []string{"flat", flo, fhi}, attrMap{"T": qt, "mode": aS("MIN_FIRST")})
	b.constQ("w2", []int{4, 3}, w2q)
	b.node("QuantizedMatMul", "fc", []string{"flatq", "w2", "flatq:1", "flatq:2", scalar("w2/min", w2lo), scalar("w2/max", w2hi)},
		attrMap{"T1": qt, "T2": qt, "Toutput": aType(tfpb.DataType_DT_QINT32)})
	b.requantize("fc/eightbit", "fc")
	b.node("Dequantize", "logits", []string{"fc/eightbit", "fc/eightbit:1", "fc/eightbit:2"}, attrMap{"T": qt, "mode": aS("MIN_FIRST")})
	b.node("Softmax", "softmax", []string{"logits"}, nil)

	x := randND(r, 1, 6, 6, 2)
	m, out := run(t, b.bytes(t), Options{Outputs: []string{"softmax:0", "logits:0"}}, map[string]*tensor.Tensor{"X": x.tensor()})
	for _, n := range m.Graph.Nodes {
		if n.OpType == "ReduceMin" || n.OpType == "ReduceMax" {
			t.Errorf("range measurement %s was imported", n.Name)
		}
	}
	ref := func(w1, b1, w2 []float32) *nd {
		y := refConv(x, fromF32([]int{3, 3, 2, 4}, w1), 1, 1, 1, 1, [4]int{1, 1, 1, 1}, false)
		y = refChannel(y, func(v float64, c int) float64 { return math.Max(v+float64(b1[c]), 0) })
		y = refPool(y, 2, 2, 2, 2, [4]int{}, false)
		y = refPool(y, 3, 3, 3, 3, [4]int{}, true)
		return refMatMul(&nd{shape: []int{1, 4}, d: y.d}, fromF32([]int{4, 3}, w2))
	}
	compare(t, "logits vs dequantized weights", out["logits"], ref(w1r, b1r, w2r), 1e-5)
	compare(t, "softmax vs dequantized weights", out["softmax"], refSoftmax(ref(w1r, b1r, w2r)), 1e-5)
	// Against the original float weights only the weight rounding differs.
	compare(t, "logits vs float weights", out["logits"], ref(w1, b1, w2), 0.05)
}

// TestEightbitErrors checks the float import's limits on quantized graphs.
func TestEightbitErrors(t *testing.T) {
	qt := aType(tfpb.DataType_DT_QUINT8)
	b := newBuilder()
	b.placeholder("X", 1, 2)
	b.node("QuantizeV2", "xq", []string{"X", b.constF("lo", nil, []float32{-1}), b.constF("hi", nil, []float32{1})}, attrMap{"T": qt})
	b.node("Relu", "bad", []string{"xq:1"}, nil)
	_, err := Decode(b.bytes(t), Options{Outputs: []string{"bad"}})
	if !errorsIs(err, ErrUnsupported) || !contains(err, `node "bad"`, `"xq:1"`, "range") {
		t.Fatalf("reading a range as data: %v", err)
	}
	// A constant QuantizeV2 range clips, as the codes saturate there.
	b = newBuilder()
	b.placeholder("X", 1, 3)
	b.node("QuantizeV2", "xq", []string{"X", b.constF("lo", nil, []float32{-1}), b.constF("hi", nil, []float32{1})}, attrMap{"T": qt})
	b.node("Dequantize", "y", []string{"xq", "xq:1", "xq:2"}, attrMap{"T": qt})
	_, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": tensor.FromFloat32(tensor.Shape{1, 3}, []float32{-3, 0.5, 2})})
	if got := out["y"].F32; got[0] != -1 || got[1] != 0.5 || got[2] != 1 {
		t.Fatalf("clipped to %v, want [-1 0.5 1]", got)
	}
}

// TestEightbitConcatAndNorm covers QuantizedConcat (concat_dim, values,
// mins, maxes) and QuantizedBatchNormWithGlobalNormalization with quint8
// constant parameters.
func TestEightbitConcatAndNorm(t *testing.T) {
	qt := aType(tfpb.DataType_DT_QUINT8)
	b := newBuilder()
	b.placeholder("x", 1, 2, 2, 2)
	lo, hi := b.rangeOf("r", "x")
	b.node("QuantizeV2", "xq", []string{"x", lo, hi}, attrMap{"T": qt})
	b.node("QuantizedRelu", "relu", []string{"xq", "xq:1", "xq:2"}, nil)
	b.node("QuantizedConcat", "cat", []string{b.constI("dim", true, 3), "xq", "relu", "xq:1", "relu:1", "xq:2", "relu:2"}, attrMap{"N": aI(2), "T": qt})
	// Parameters of 4 channels as quint8 codes over [0, 2.55]: code c is
	// min_rounded + c*scale = c/100.
	param := func(name string, codes ...byte) []string {
		return []string{b.constQ(name, []int{4}, codes), b.constF(name+"/min", nil, []float32{0}), b.constF(name+"/max", nil, []float32{2.55})}
	}
	in := []string{"cat", "cat:1", "cat:2"}
	in = append(in, param("mean", 0, 10, 20, 30)...)
	in = append(in, param("var", 100, 100, 25, 100)...)
	in = append(in, param("beta", 50, 0, 0, 0)...)
	in = append(in, param("gamma", 100, 200, 100, 100)...)
	b.node("QuantizedBatchNormWithGlobalNormalization", "bn", in, attrMap{"Tinput": qt, "out_type": aType(tfpb.DataType_DT_QINT32),
		"variance_epsilon": aF(0), "scale_after_normalization": aB(true)})
	b.node("Dequantize", "y", []string{"bn", "bn:1", "bn:2"}, attrMap{"T": aType(tfpb.DataType_DT_QINT32), "mode": aS("MIN_FIRST")})

	x := newND(1, 2, 2, 2)
	for i := range x.d {
		x.d[i] = float64(i) - 3.5
	}
	_, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"x": x.tensor()})
	mean, variance, beta, gamma := []float64{0, 0.1, 0.2, 0.3}, []float64{1, 1, 0.25, 1}, []float64{0.5, 0, 0, 0}, []float64{1, 2, 1, 1}
	want := newND(1, 2, 2, 4)
	for p := 0; p < 4; p++ {
		for c := 0; c < 4; c++ {
			v := x.d[p*2+c%2]
			if c >= 2 {
				v = math.Max(v, 0)
			}
			want.d[p*4+c] = (v-mean[c])/math.Sqrt(variance[c])*gamma[c] + beta[c]
		}
	}
	compare(t, "y", out["y"], want, 1e-5)
}
