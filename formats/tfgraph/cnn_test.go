package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

// TestClassifier imports the same small convolutional classifier written in
// NHWC and in NCHW and compares it with a float64 reference: Conv2D (SAME,
// stride 1 and an asymmetric SAME with stride 2), BiasAdd, Relu, MaxPool
// VALID, FusedBatchNormV3, Relu6, AvgPool SAME, Mean over H and W, MatMul,
// BiasAdd and Softmax. NHWC must cost exactly one Transpose (at the input).
func TestClassifier(t *testing.T) {
	for _, tc := range []struct {
		format     string
		transposes int
	}{{"NHWC", 1}, {"NCHW", 0}} {
		t.Run(tc.format, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			cf := tc.format == "NCHW"
			fmtAttr := func(at attrMap) attrMap {
				at["data_format"] = aS(tc.format)
				return at
			}
			four := func(h, w int) *tfpb.AttrValue { // strides or ksize in the node's layout
				if cf {
					return aInts(1, 1, int64(h), int64(w))
				}
				return aInts(1, int64(h), int64(w), 1)
			}
			b := newBuilder()
			xs := []int{2, 11, 11, 3}
			if cf {
				xs = []int{2, 3, 11, 11}
			}
			b.placeholder("X", xs...)
			w1, w1v := b.randConst(r, "w1", 0.5, 3, 3, 3, 4)
			b1, b1v := b.randConst(r, "b1", 0.5, 4)
			w2, w2v := b.randConst(r, "w2", 0.5, 2, 2, 4, 6)
			scale, sv := b.randConst(r, "scale", 1, 6)
			offset, ov := b.randConst(r, "offset", 1, 6)
			mean, mv := b.randConst(r, "mean", 0.5, 6)
			varV := make([]float32, 6)
			for i := range varV {
				varV[i] = float32(0.5 + r.Float64())
			}
			variance := b.constF("variance", []int{6}, varV)
			w3, w3v := b.randConst(r, "w3", 1, 6, 5)
			b3, b3v := b.randConst(r, "b3", 1, 5)
			b.node("Identity", "w1/read", []string{w1}, nil)
			b.node("Conv2D", "conv1", []string{"X", "w1/read"}, fmtAttr(attrMap{"strides": four(1, 1), "padding": aS("SAME")}))
			b.node("BiasAdd", "bias1", []string{"conv1", b1}, fmtAttr(attrMap{}))
			b.node("Relu", "relu1", []string{"bias1"}, nil)
			b.node("MaxPool", "pool1", []string{"relu1"}, fmtAttr(attrMap{"ksize": four(2, 2), "strides": four(2, 2), "padding": aS("VALID")}))
			b.node("Conv2D", "conv2", []string{"pool1", w2}, fmtAttr(attrMap{"strides": four(2, 2), "padding": aS("SAME"), "dilations": four(1, 1)}))
			b.node("FusedBatchNormV3", "bn", []string{"conv2", scale, offset, mean, variance}, fmtAttr(attrMap{"epsilon": aF(1e-3), "is_training": aB(false)}))
			b.node("Relu6", "relu6", []string{"bn"}, nil)
			b.node("AvgPool", "pool2", []string{"relu6"}, fmtAttr(attrMap{"ksize": four(3, 3), "strides": four(1, 1), "padding": aS("SAME")}))
			hw := []int32{1, 2}
			if cf {
				hw = []int32{2, 3}
			}
			axes := b.constI("axes", false, hw...)
			b.node("Mean", "gap", []string{"pool2", axes}, attrMap{"keep_dims": aB(false), "Tidx": aType(3)})
			b.node("MatMul", "fc", []string{"gap", w3}, attrMap{"transpose_a": aB(false), "transpose_b": aB(false)})
			b.node("BiasAdd", "logits", []string{"fc", b3}, nil)
			b.node("Softmax", "softmax", []string{"logits"}, nil)

			x := randND(r, 2, 11, 11, 3)
			in := x
			if cf {
				in = x.transpose4(0, 3, 1, 2)
			}
			m, out := run(t, b.bytes(t), Options{}, map[string]*tensor.Tensor{"X": in.tensor()})
			if got := countOps(m, "Transpose"); got != tc.transposes {
				t.Errorf("%d Transpose nodes, want %d", got, tc.transposes)
			}

			y := refConv(x, fromF32([]int{3, 3, 3, 4}, w1v), 1, 1, 1, 1, [4]int{1, 1, 1, 1}, false)
			y = refChannel(y, func(v float64, c int) float64 { return math.Max(v+float64(b1v[c]), 0) })
			y = refPool(y, 2, 2, 2, 2, [4]int{}, false)
			y = refConv(y, fromF32([]int{2, 2, 4, 6}, w2v), 2, 2, 1, 1, [4]int{0, 0, 1, 1}, false)
			y = refChannel(y, func(v float64, c int) float64 {
				v = (v-float64(mv[c]))/math.Sqrt(float64(varV[c])+float64(float32(1e-3)))*float64(sv[c]) + float64(ov[c])
				return math.Min(math.Max(v, 0), 6)
			})
			y = refPool(y, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, true)
			y = refSpatialMean(y)
			y = refMatMul(y, fromF32([]int{6, 5}, w3v))
			y = refChannel(y, func(v float64, c int) float64 { return v + float64(b3v[c]) })
			compare(t, "softmax", out["softmax"], refSoftmax(y), 1e-5)
		})
	}
}
