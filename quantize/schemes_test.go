package quantize

import (
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// TestSchemesAndFormats quantizes two zoo models (LeNet; ResNet-8 with
// residual Adds) in every scheme and format, runs them with integer
// kernels on 200 evaluation images and checks top-1 against float (within 2
// points on this small sample) and the integer share of MACs.
func TestSchemesAndFormats(t *testing.T) {
	t.Setenv("EIGHTBIT_QZOO_EVAL", "200")
	for _, zm := range zooModels {
		if zm.name() != "mnist-lenet" && zm.name() != "cifar-resnet8-folded" {
			continue
		}
		t.Run(zm.name(), func(t *testing.T) {
			z := loadZoo(t, zm)
			n := z.eval.im.N
			floatTop1 := top1(top1s(z.runAll(t, z.float, z.eval, nil), n), z.eval.labels)
			for _, s := range Schemes() {
				for _, f := range Formats() {
					_, dec, sum := z.quantizeEnc(t, Options{Scheme: Scheme(s), Format: Format(f)})
					if string(sum.Scheme) != s || string(sum.Format) != f {
						t.Errorf("summary says %s/%s, want %s/%s", sum.Scheme, sum.Format, s, f)
					}
					qp, err := infer.Compile(dec, infer.Options{Integer: true})
					if err != nil {
						t.Fatalf("%s/%s: %v", s, f, err)
					}
					acc := top1(top1s(z.runAll(t, qp, z.eval, nil), n), z.eval.labels)
					share := qp.Stats().MACShare()
					t.Logf("%s %s/%s: float %.1f%%, int8 %.1f%%, integer MACs %.1f%%", zm.name(), s, f, floatTop1, acc, 100*share)
					if floatTop1-acc > 2 {
						t.Errorf("%s/%s: top-1 %.1f%%, float %.1f%%", s, f, acc, floatTop1)
					}
					if f != string(FormatWeightsOnly) && share < 0.95 {
						t.Errorf("%s/%s: %.1f%% integer MACs, want >= 95%%", s, f, 100*share)
					}
				}
			}
		})
	}
}

func TestUnknownSchemeAndFormat(t *testing.T) {
	m, r := convModel("Relu")
	if _, _, err := Quantize(m, r, Options{Scheme: "u4"}); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, _, err := Quantize(m, r, Options{Format: "tflite"}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestExclusions(t *testing.T) {
	m, r := convModel("Relu")
	for _, o := range []Options{{ExcludeOpTypes: []string{"Conv"}}, {ExcludeNodes: []string{"conv"}}} {
		q, _, err := Quantize(m, r, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range q.Graph.Nodes {
			if n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" {
				t.Errorf("%+v: excluded Conv still quantized: %v", o, opTypes(q.Graph))
				break
			}
		}
	}
	// An excluded Relu is not fused: it stays, reading the Conv output.
	q, _, err := Quantize(m, r, Options{ExcludeOpTypes: []string{"Relu"}})
	if err != nil {
		t.Fatal(err)
	}
	if nodeByName(q.Graph, "relu") == nil {
		t.Errorf("excluded Relu was fused: %v", opTypes(q.Graph))
	}
}

func TestRemoveRedundantQDQ(t *testing.T) {
	g := &graph.Graph{Initializers: map[string]*tensor.Tensor{
		"s": tensor.ScalarFloat32(0.5), "z": tensor.FromUint8(tensor.Shape{}, []uint8{3}),
		"s2": tensor.ScalarFloat32(0.25),
	}}
	g.Inputs = []graph.ValueInfo{{Name: "x", DType: tensor.Float32}}
	g.Outputs = []graph.ValueInfo{{Name: "y", DType: tensor.Float32}, {Name: "y2", DType: tensor.Float32}}
	g.Nodes = []*graph.Node{
		{OpType: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"q"}},
		{OpType: "DequantizeLinear", Inputs: []string{"q", "s", "z"}, Outputs: []string{"d"}},
		{OpType: "QuantizeLinear", Inputs: []string{"d", "s", "z"}, Outputs: []string{"q2"}},  // same: removed
		{OpType: "QuantizeLinear", Inputs: []string{"d", "s2", "z"}, Outputs: []string{"q3"}}, // requantize: stays
		{OpType: "DequantizeLinear", Inputs: []string{"q2", "s", "z"}, Outputs: []string{"y"}},
		{OpType: "DequantizeLinear", Inputs: []string{"q3", "s2", "z"}, Outputs: []string{"y2"}},
	}
	removeRedundantQDQ(g)
	var qs int
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" {
			qs++
		}
		if n.Outputs[0] == "y" && n.Inputs[0] != "q" {
			t.Errorf("y reads %q, want the first QuantizeLinear's output", n.Inputs[0])
		}
	}
	if qs != 2 {
		t.Errorf("%d QuantizeLinear nodes left, want 2 (input and requantize): %v", qs, opTypes(g))
	}
}

func TestPrepareFoldsMatMulAddAndConvAdd(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 3, 2, 3, 3)
	b.init("c", tensor.FromFloat32(tensor.Shape{3, 1, 1}, []float32{1, 2, 3}))
	b.node("Conv", "conv", []string{"x", "w"}, []string{"c0"}, nil)
	b.node("Add", "add", []string{"c0", "c"}, []string{"c1"}, nil)
	b.init("shape", tensor.FromInt64(tensor.Shape{2}, []int64{0, -1}))
	b.node("Reshape", "flat", []string{"c1", "shape"}, []string{"f"}, nil)
	b.randInit("w2", 3, 4)
	b.randInit("b2", 4)
	b.node("MatMul", "mm", []string{"f", "w2"}, []string{"m"}, nil)
	b.node("Add", "add2", []string{"m", "b2"}, []string{"y"}, nil)
	m := b.output("y")
	m.Graph.Inputs[0].Shape = graph.Dims(tensor.Shape{1, 2, 3, 3})
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	got := opTypes(p.Graph)
	if len(got) != 3 || got[0] != "Conv" || got[1] != "Reshape" || got[2] != "Gemm" {
		t.Fatalf("prepared ops %v, want [Conv Reshape Gemm]", got)
	}
	// Same results.
	x := tensor.New(tensor.Float32, tensor.Shape{1, 2, 3, 3})
	for i := range x.F32 {
		x.F32[i] = float32(i%7) - 3
	}
	run := func(m *graph.Model) []float32 {
		p, err := infer.Compile(m, infer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		return out["y"].F32
	}
	a, c := run(m), run(p)
	for i := range a {
		if d := a[i] - c[i]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("output %d: %g before, %g after Prepare", i, a[i], c[i])
		}
	}
	_ = qmath.Range{}
}

// TestWeightRangesMSE checks Options.WeightRanges. With 8-bit levels
// clipping pays only when many weights gain finer steps: on a channel of
// 256 K Gaussian weights plus one outlier at 20σ, "mse" saturates the
// outlier (scale at most half of min/max) and the summed squared error of
// the quantized channel falls; a channel without the outlier keeps
// (nearly) its min/max scale; per-tensor int8 weights are covered too; an
// unknown method is an error.
func TestWeightRangesMSE(t *testing.T) {
	const n = 1 << 18
	w := tensor.New(tensor.Float32, tensor.Shape{2, n})
	r := rand.New(rand.NewSource(3))
	for i := range w.F32 {
		w.F32[i] = float32(r.NormFloat64() * 0.05)
	}
	w.F32[7] = 1 // channel 0's outlier
	sse := func(q *tensor.Tensor, ps []qmath.Params, lo, hi int) float64 {
		var e float64
		for i := lo; i < hi; i++ {
			p := ps[0]
			if len(ps) > 1 {
				p = ps[i/n]
			}
			d := float64(w.F32[i]) - float64(p.Scale)*float64(int32(q.I8[i])-p.ZeroPoint)
			e += d * d
		}
		return e
	}
	qmm, minmax := quantizeInt8PerChannel(w, 0, false)
	qmse, mse := quantizeInt8PerChannel(w, 0, true)
	if !(mse[0].Scale <= minmax[0].Scale/2) {
		t.Errorf("channel with an outlier: mse scale %g, min/max %g", mse[0].Scale, minmax[0].Scale)
	}
	if a, b := sse(qmse, mse, 0, n), sse(qmm, minmax, 0, n); !(a < b) {
		t.Errorf("channel with an outlier: squared error %g with mse ranges, %g with min/max", a, b)
	}
	if mse[1].Scale > minmax[1].Scale || mse[1].Scale < minmax[1].Scale/2 {
		t.Errorf("Gaussian channel: mse scale %g, min/max %g", mse[1].Scale, minmax[1].Scale)
	}
	sch, _ := schemeFor(SchemeU8S8Tensor)
	qw, whole := sch.weight(w, 0)
	sch.weightMSE = true
	qwm, wholeMSE := sch.weight(w, 0)
	if !(wholeMSE[0].Scale <= whole[0].Scale/2) {
		t.Errorf("per-tensor: mse scale %g, min/max %g", wholeMSE[0].Scale, whole[0].Scale)
	}
	if a, b := sse(qwm, wholeMSE, 0, 2*n), sse(qw, whole, 0, 2*n); !(a < b) {
		t.Errorf("per-tensor: squared error %g with mse range, %g with min/max", a, b)
	}
	b := newBuilder(13, "x")
	b.randInit("w", 4, 3)
	b.node("MatMul", "n", []string{"x", "w"}, []string{"y"}, nil)
	m := b.output("y")
	if _, _, err := Quantize(m, map[string]qmath.Range{"x": {Min: -1, Max: 1}, "y": {Min: -1, Max: 1}}, Options{WeightRanges: "median"}); err == nil {
		t.Error("unknown weight range method accepted")
	}
}
