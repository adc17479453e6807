package tfgraph

import (
	"math"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

// TestOpTable runs single ops on a [1,2,2,2] input (x[i] = i - 3.5 in NHWC
// order, or the same tensor in NCHW where the op says so) against values
// computed by hand.
func TestOpTable(t *testing.T) {
	c2 := func(b *builder, name string, a, c float32) string { return b.constF(name, []int{2}, []float32{a, c}) }
	for _, tc := range []struct {
		name  string
		build func(b *builder) // adds node "y" reading "x"
		want  func(i int, v float64) float64
	}{
		{"StopGradient", func(b *builder) { b.node("StopGradient", "y", []string{"x"}, nil) },
			func(_ int, v float64) float64 { return v }},
		{"Relu6", func(b *builder) {
			b.node("Mul", "m", []string{"x", b.constF("two", nil, []float32{2})}, nil)
			b.node("Relu6", "y", []string{"m"}, nil)
		}, func(_ int, v float64) float64 { return math.Min(math.Max(2*v, 0), 6) }},
		{"FusedBatchNorm", func(b *builder) {
			b.node("FusedBatchNorm", "y", []string{"x", c2(b, "s", 2, 3), c2(b, "o", 1, -1), c2(b, "m", 0.5, 0), c2(b, "v", 1, 4)},
				attrMap{"epsilon": aF(0), "is_training": aB(false)})
		}, func(i int, v float64) float64 {
			if i%2 == 0 {
				return (v-0.5)*2 + 1
			}
			return v/2*3 - 1
		}},
		{"FusedBatchNormV2 NCHW", func(b *builder) {
			b.node("FusedBatchNormV2", "y", []string{"x", c2(b, "s", 2, 3), c2(b, "o", 1, -1), c2(b, "m", 0.5, 0), c2(b, "v", 1, 4)},
				attrMap{"epsilon": aF(0), "is_training": aB(false), "data_format": aS("NCHW")})
		}, func(i int, v float64) float64 { // channel is axis 1 of [1,2,2,2]
			if i/4 == 0 {
				return (v-0.5)*2 + 1
			}
			return v/2*3 - 1
		}},
		{"BiasAdd NCHW", func(b *builder) {
			b.node("BiasAdd", "y", []string{"x", c2(b, "b", 10, 20)}, attrMap{"data_format": aS("NCHW")})
		}, func(i int, v float64) float64 { return v + 10 + 10*float64(i/4) }},
		{"AvgPool NCHW", func(b *builder) {
			b.node("AvgPool", "p", []string{"x"}, attrMap{"ksize": aInts(1, 1, 2, 2), "strides": aInts(1, 1, 1, 1), "padding": aS("SAME"), "data_format": aS("NCHW")})
			b.node("Sub", "y", []string{"p", "x"}, nil)
		}, func(i int, v float64) float64 { // mean of the window from (h,w) on, within the 2x2 plane
			h, w := i/2%2, i%2
			base := float64(i/4*4) - 3.5
			s, n := 0.0, 0.0
			for a := h; a < 2; a++ {
				for c := w; c < 2; c++ {
					s += base + float64(a*2+c)
					n++
				}
			}
			return s/n - v
		}},
		{"QuantizedRelu6", func(b *builder) {
			qt := aType(tfpb.DataType_DT_QUINT8)
			b.node("QuantizeV2", "q", []string{"x", b.constF("lo", nil, []float32{-4}), b.constF("hi", nil, []float32{2})}, attrMap{"T": qt})
			b.node("QuantizedRelu6", "r", []string{"q", "q:1", "q:2"}, attrMap{"Tinput": qt})
			b.node("QuantizedReshape", "rs", []string{"r", b.constI("shape", false, 1, 2, 2, 2), "r:1", "r:2"}, nil)
			b.node("Dequantize", "y", []string{"rs", "rs:1", "rs:2"}, attrMap{"T": qt})
		}, func(_ int, v float64) float64 { return math.Min(math.Max(math.Min(math.Max(v, -4), 2), 0), 6) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			b.placeholder("x", 1, 2, 2, 2)
			tc.build(b)
			x := newND(1, 2, 2, 2)
			want := newND(1, 2, 2, 2)
			for i := range x.d {
				x.d[i] = float64(i) - 3.5
				want.d[i] = tc.want(i, x.d[i])
			}
			_, out := run(t, b.bytes(t), Options{Outputs: []string{"y"}}, map[string]*tensor.Tensor{"x": x.tensor()})
			compare(t, "y", out["y"], want, 1e-6)
		})
	}
}
