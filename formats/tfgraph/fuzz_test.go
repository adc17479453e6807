package tfgraph

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/internal/zootest"
)

// convSeed is a small NHWC network touching most converters.
func convSeed(f *testing.F) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	b := newBuilder()
	b.placeholder("x", 1, 5, 5, 2)
	w, _ := b.randConst(r, "w", 1, 3, 3, 2, 2)
	dw, _ := b.randConst(r, "dw", 1, 3, 3, 2, 1)
	c, _ := b.randConst(r, "c", 1, 2)
	b.node("Conv2D", "conv", []string{"x", w}, attrMap{"strides": nhwc(1, 1), "padding": aS("SAME")})
	b.node("DepthwiseConv2dNative", "dwconv", []string{"conv", dw}, attrMap{"strides": nhwc(2, 2), "padding": aS("VALID")})
	b.node("FusedBatchNorm", "bn", []string{"dwconv", c, c, c, c}, attrMap{"is_training": aB(false)})
	b.node("Relu6", "r6", []string{"bn"}, nil)
	b.node("AvgPool", "pool", []string{"r6"}, attrMap{"ksize": nhwc(2, 2), "strides": nhwc(1, 1), "padding": aS("SAME")})
	b.node("ConcatV2", "cat", []string{"pool", "r6", b.constI("axis", true, 3)}, nil)
	b.node("Pad", "pad", []string{"cat", b.constI("p", false, 0, 0, 1, 1, 1, 1, 0, 0)}, nil)
	b.node("Mean", "mean", []string{"pad", b.constI("axes", false, 1, 2)}, nil)
	b.node("Reshape", "flat", []string{"mean", b.constI("shape", false, 1, -1)}, nil)
	b.node("Softmax", "out", []string{"flat"}, nil)
	return b.bytes(f)
}

// quantSeed is a small quantize_graph --mode=eightbit style graph.
func quantSeed(f *testing.F) []byte {
	qt := aType(tfpb.DataType_DT_QUINT8)
	b := newBuilder()
	b.placeholder("x", 1, 3, 3, 1)
	lo, hi := b.rangeOf("r", "x")
	b.node("QuantizeV2", "xq", []string{"x", lo, hi}, attrMap{"T": qt})
	b.constQ("w", []int{2, 2, 1, 2}, []byte{0, 64, 128, 255, 1, 2, 3, 4})
	b.node("QuantizedConv2D", "conv", []string{"xq", "w", "xq:1", "xq:2", b.constF("wmin", nil, []float32{-1}), b.constF("wmax", nil, []float32{1})},
		attrMap{"strides": nhwc(1, 1), "padding": aS("VALID")})
	b.requantize("req", "conv")
	b.node("QuantizedRelu", "relu", []string{"req", "req:1", "req:2"}, nil)
	b.node("Dequantize", "y", []string{"relu", "relu:1", "relu:2"}, attrMap{"mode": aS("MIN_FIRST")})
	return b.bytes(f)
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// is a valid IR graph.
func FuzzDecode(f *testing.F) {
	f.Add(tiny().bytes(f), "")
	f.Add(convSeed(f), "")
	f.Add(convSeed(f), "conv:0")
	f.Add(quantSeed(f), "")
	if root := zootest.Root(); root != "" {
		if b, err := os.ReadFile(filepath.Join(root, "models", "tf", "fc-layers-frozen.pb")); err == nil {
			f.Add(b, "")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, input string) {
		var opt Options
		if input != "" {
			opt.Inputs = []string{input}
		}
		m, err := Decode(data, opt)
		if err != nil {
			return
		}
		if err := m.Graph.Validate(); err != nil {
			t.Fatalf("decoded graph does not validate: %v", err)
		}
	})
}
