//go:build ort

package tfgraph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/orttest"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

// TestQuantizedGraphDefORT imports convolutional classifiers built as
// GraphDefs in NHWC and NCHW (Conv2D, BiasAdd, Relu, DepthwiseConv2dNative,
// FusedBatchNormV3, Relu6, MaxPool, AvgPool, ConcatV2, Mean, MatMul), and
// one behind a label_image-style preprocessing prefix (DecodeJpeg, Cast,
// ResizeBilinear, Sub, Mul) cut at Mul:0. The imported float model, written
// as ONNX, gives ONNX Runtime's outputs within float rounding and the same
// top-1; quantized in the default scheme and in tf-eightbit, ONNX Runtime
// and eightbit's integer executor give at least 99.9% equal output values
// (the rest within one quantization step) and the same top-1 on every
// sample.
func TestQuantizedGraphDefORT(t *testing.T) {
	defer orttest.Start(t)()
	for _, tc := range []struct {
		layout string
		cut    bool
	}{{"NHWC", false}, {"NCHW", false}, {"NHWC", true}} {
		layout, input := tc.layout, "X"
		data, xshape := cnnGraph(t, layout, tc.cut)
		opt := Options{}
		if tc.cut {
			layout, input = "NHWC-cut", "Mul"
			opt = Options{Inputs: []string{"Mul:0"}, Outputs: []string{"logits:0"}}
		}
		m, err := Decode(data, opt)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, 8))
		calib, eval := randInput(r, 64, xshape), randInput(r, 32, xshape)
		p, err := quantize.Prepare(m)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := infer.Compile(p, infer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		obs := calibrate.NewRanges()
		if _, err := fp.RunObserved(map[string]*tensor.Tensor{input: calib}, obs.Observe); err != nil {
			t.Fatal(err)
		}
		// The float import against ONNX Runtime on the same graph.
		floatEnc, err := onnx.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		fres, err := fp.Run(map[string]*tensor.Tensor{input: eval})
		if err != nil {
			t.Fatal(err)
		}
		fours, ftheirs := fres["logits"].F32, orttest.Run(t, floatEnc, input, "logits", eval)
		big, worst := 0.0, 0.0
		for i := range fours {
			big = max(big, math.Abs(float64(ftheirs[i])))
			worst = max(worst, math.Abs(float64(fours[i])-float64(ftheirs[i])))
		}
		if worst > 1e-4*big {
			t.Errorf("%s float: largest difference from ONNX Runtime %g (largest output %g)", layout, worst, big)
		}
		if a, b := top1s(fours, 32), top1s(ftheirs, 32); !slices.Equal(a, b) {
			t.Errorf("%s float: top-1 %v, ONNX Runtime %v", layout, a, b)
		}
		for _, scheme := range []quantize.Scheme{"", "tf-eightbit"} {
			name := string(scheme)
			if name == "" {
				name = "default"
			}
			t.Run(layout+"/"+name, func(t *testing.T) {
				q, _, err := quantize.Quantize(m, obs.Result(), quantize.Options{Scheme: scheme})
				if err != nil {
					t.Fatal(err)
				}
				enc, err := onnx.Encode(q)
				if err != nil {
					t.Fatal(err)
				}
				prog, err := infer.Compile(q, infer.Options{Integer: true})
				if err != nil {
					t.Fatal(err)
				}
				if st := prog.Stats(); st.FloatMACs != 0 {
					t.Errorf("float MACs %d: every Conv and MatMul should run in integer arithmetic", st.FloatMACs)
				}
				res, err := prog.Run(map[string]*tensor.Tensor{input: eval})
				if err != nil {
					t.Fatal(err)
				}
				ours := res["logits"].F32
				theirs := orttest.Run(t, enc, input, "logits", eval)
				step := 0.0
				for _, n := range q.Graph.Nodes {
					if n.OpType == "DequantizeLinear" && n.Outputs[0] == "logits" {
						step = float64(q.Graph.Initializers[n.Input(1)].F32[0])
					}
				}
				same := 0
				for i := range ours {
					if ours[i] == theirs[i] {
						same++
					} else if math.Abs(float64(ours[i])-float64(theirs[i])) > 1.001*step {
						t.Fatalf("output %d: eightbit %v, ONNX Runtime %v (step %v)", i, ours[i], theirs[i], step)
					}
				}
				if share := float64(same) / float64(len(ours)); share < 0.999 {
					t.Errorf("%.2f%% of outputs equal, want >= 99.9%%", 100*share)
				}
				if a, b := top1s(ours, 32), top1s(theirs, 32); !slices.Equal(a, b) {
					t.Errorf("top-1 %v, ONNX Runtime %v", a, b)
				}
				t.Logf("%d of %d outputs equal; ops %v", same, len(ours), q.Graph.OpCounts())
			})
		}
	}
}

// top1s returns the argmax of each of n rows of y.
func top1s(y []float32, n int) []int {
	k := len(y) / n
	out := make([]int, n)
	for s := range out {
		out[s] = tensor.ArgMax(y[s*k : (s+1)*k])
	}
	return out
}

// cnnGraph builds a small classifier in the given layout and returns it
// with the shape of one input image (batch first, batch 1). With cut, the
// classifier reads the output of a JPEG-decoding prefix (NHWC), "Mul".
func cnnGraph(t *testing.T, layout string, cut bool) ([]byte, []int) {
	r := rand.New(rand.NewPCG(3, 4))
	cf := layout == "NCHW"
	at := func(a attrMap) attrMap { a["data_format"] = aS(layout); return a }
	four := func(h, w int) *tfpb.AttrValue {
		if cf {
			return aInts(1, 1, int64(h), int64(w))
		}
		return aInts(1, int64(h), int64(w), 1)
	}
	xs := []int{1, 12, 12, 3}
	if cf {
		xs = []int{1, 3, 12, 12}
	}
	b := newBuilder()
	x := "X"
	if cut {
		b.node("Placeholder", "contents", nil, attrMap{"dtype": aType(tfpb.DataType_DT_STRING), "shape": aShape()})
		b.node("DecodeJpeg", "decode", []string{"contents"}, attrMap{"channels": aI(3)})
		b.node("Cast", "cast", []string{"decode"}, attrMap{"SrcT": aType(tfpb.DataType_DT_UINT8), "DstT": aType(tfpb.DataType_DT_FLOAT)})
		b.node("ExpandDims", "batch", []string{"cast", b.constI("dim", true, 0)}, nil)
		b.node("ResizeBilinear", "resize", []string{"batch", b.constI("size", false, 12, 12)}, nil)
		b.node("Sub", "sub", []string{"resize", b.constF("mean0", nil, []float32{128})}, nil)
		x = b.node("Mul", "Mul", []string{"sub", b.constF("scale0", nil, []float32{1.0 / 128})}, nil)
	} else {
		b.placeholder("X", -1, xs[1], xs[2], xs[3])
	}
	w1, _ := b.randConst(r, "w1", 0.4, 3, 3, 3, 8)
	b1, _ := b.randConst(r, "b1", 0.2, 8)
	dwf, _ := b.randConst(r, "dwf", 0.4, 3, 3, 8, 1)
	scale, _ := b.randConst(r, "scale", 1, 8)
	offset, _ := b.randConst(r, "offset", 0.5, 8)
	mean, _ := b.randConst(r, "mean", 0.2, 8)
	variance := b.constF("variance", []int{8}, []float32{0.6, 0.9, 1.2, 0.7, 1.1, 0.8, 1.3, 1.0})
	w2, _ := b.randConst(r, "w2", 0.4, 1, 1, 8, 8)
	w3, _ := b.randConst(r, "w3", 0.4, 3, 3, 8, 4)
	wf, _ := b.randConst(r, "wf", 0.5, 12, 10)
	bf, _ := b.randConst(r, "bf", 0.2, 10)
	c := int32(3)
	hw := []int32{1, 2}
	if cf {
		c, hw = 1, []int32{2, 3}
	}
	axis := b.constI("axis", true, c)
	axes := b.constI("axes", false, hw...)
	b.node("Conv2D", "conv1", []string{x, w1}, at(attrMap{"strides": four(1, 1), "padding": aS("SAME")}))
	b.node("BiasAdd", "bias1", []string{"conv1", b1}, at(attrMap{}))
	b.node("Relu", "relu1", []string{"bias1"}, nil)
	b.node("DepthwiseConv2dNative", "dw", []string{"relu1", dwf}, at(attrMap{"strides": four(2, 2), "padding": aS("SAME")}))
	b.node("FusedBatchNormV3", "bn", []string{"dw", scale, offset, mean, variance}, at(attrMap{"epsilon": aF(1e-3), "is_training": aB(false)}))
	b.node("Relu6", "relu6", []string{"bn"}, nil)
	b.node("Conv2D", "pw", []string{"relu6", w2}, at(attrMap{"strides": four(1, 1), "padding": aS("VALID")}))
	b.node("Relu", "relu2", []string{"pw"}, nil)
	b.node("MaxPool", "pool", []string{"relu2"}, at(attrMap{"ksize": four(2, 2), "strides": four(1, 1), "padding": aS("SAME")}))
	b.node("Conv2D", "conv3", []string{"pool", w3}, at(attrMap{"strides": four(1, 1), "padding": aS("SAME")}))
	b.node("Relu", "relu3", []string{"conv3"}, nil)
	b.node("AvgPool", "avg", []string{"relu2"}, at(attrMap{"ksize": four(3, 3), "strides": four(1, 1), "padding": aS("SAME")}))
	b.node("ConcatV2", "cat", []string{"relu3", "avg", axis}, attrMap{"N": aI(2)})
	b.node("Mean", "gap", []string{"cat", axes}, attrMap{"keep_dims": aB(false)})
	b.node("MatMul", "fc", []string{"gap", wf}, attrMap{"transpose_a": aB(false), "transpose_b": aB(false)})
	b.node("BiasAdd", "logits", []string{"fc", bf}, nil)
	return b.bytes(t), xs
}

func randInput(r *rand.Rand, n int, shape []int) *tensor.Tensor {
	s := append(tensor.Shape{n}, shape[1:]...)
	x := tensor.New(tensor.Float32, s)
	for i := range x.F32 {
		x.F32[i] = float32(r.Float64()*2 - 0.5)
	}
	return x
}
