package quantize

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// bnModel: x[1,3,4,4] → Conv 1×1 (w[2,3,1,1], bias optional) → BN → Relu → y.
func bnModel(withBias bool) *graph.Model {
	b := newBuilder(13, "x")
	b.randInit("w", 2, 3, 1, 1)
	in := []string{"x", "w"}
	if withBias {
		b.randInit("cb", 2)
		in = append(in, "cb")
	}
	b.init("gamma", tensor.FromFloat32(tensor.Shape{2}, []float32{1.5, -0.5}))
	b.init("beta", tensor.FromFloat32(tensor.Shape{2}, []float32{0.1, 2}))
	b.init("mean", tensor.FromFloat32(tensor.Shape{2}, []float32{0.3, -1}))
	b.init("var", tensor.FromFloat32(tensor.Shape{2}, []float32{4, 0.25}))
	b.node("Conv", "conv", in, []string{"c"}, nil)
	b.node("BatchNormalization", "bn", []string{"c", "gamma", "beta", "mean", "var"}, []string{"n"}, map[string]*graph.Attr{"epsilon": graph.FloatAttr(1e-3)})
	b.node("Relu", "relu", []string{"n"}, []string{"y"}, nil)
	return b.output("y")
}

// conv1x1BN computes BN(Conv1x1(x)) in float64 for one pixel.
func conv1x1BN(g *graph.Graph, x []float64, bias bool) []float64 {
	w := g.Initializers["w"]
	out := make([]float64, 2)
	for m := 0; m < 2; m++ {
		acc := 0.0
		for c := 0; c < 3; c++ {
			acc += float64(w.F32[m*3+c]) * x[c]
		}
		if bias {
			acc += float64(g.Initializers["cb"].F32[m])
		}
		ga, be := float64(g.Initializers["gamma"].F32[m]), float64(g.Initializers["beta"].F32[m])
		mu, va := float64(g.Initializers["mean"].F32[m]), float64(g.Initializers["var"].F32[m])
		out[m] = (acc-mu)/math.Sqrt(va+float64(float32(1e-3)))*ga + be
	}
	return out
}

func TestFoldBatchNorm(t *testing.T) {
	for _, withBias := range []bool{false, true} {
		m := bnModel(withBias)
		p, err := Prepare(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := opTypes(p.Graph); !slices.Equal(got, []string{"Conv", "Relu"}) {
			t.Fatalf("ops after folding %v", got)
		}
		conv := p.Graph.Nodes[0]
		if conv.Outputs[0] != "n" || len(conv.Inputs) != 3 {
			t.Fatalf("folded conv %v -> %v", conv.Inputs, conv.Outputs)
		}
		for _, gone := range []string{"gamma", "beta", "mean", "var"} {
			if p.Graph.IsInitializer(gone) {
				t.Errorf("BN parameter %q kept", gone)
			}
		}
		if _, ok := m.Graph.Initializers["gamma"]; !ok || len(m.Graph.Nodes) != 3 {
			t.Fatal("input model changed")
		}
		w, b := p.Graph.Initializers[conv.Inputs[1]], p.Graph.Initializers[conv.Inputs[2]]
		for _, x := range [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.5, -2, 3}} {
			want := conv1x1BN(m.Graph, x, withBias)
			for o := 0; o < 2; o++ {
				got := float64(b.F32[o])
				for c := 0; c < 3; c++ {
					got += float64(w.F32[o*3+c]) * x[c]
				}
				if math.Abs(got-want[o]) > 1e-5*(1+math.Abs(want[o])) {
					t.Errorf("bias=%v x=%v channel %d: folded %v, BN %v", withBias, x, o, got, want[o])
				}
			}
		}
		// Idempotent.
		p2, err := Prepare(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Error("Prepare is not idempotent")
		}
		// Quantizing uses the BN output's (folded Conv's) and Relu's names.
		if _, _, err := Quantize(m, map[string]qmath.Range{"x": {Min: 0, Max: 1}, "y": {Min: 0, Max: 4}}, Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFoldBatchNormSkipsSharedConvOutput(t *testing.T) {
	m := bnModel(true)
	m.Graph.Outputs = append(m.Graph.Outputs, graph.ValueInfo{Name: "c"})
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(opTypes(p.Graph), "BatchNormalization") {
		t.Error("folded a BN whose Conv output is also a graph output")
	}
}

func TestPrepareConstantsAndIdentities(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 4, 3)
	b.node("Constant", "k", nil, []string{"lo"}, map[string]*graph.Attr{"value": graph.TensorAttr(tensor.ScalarFloat32(0))})
	b.node("Constant", "k2", nil, []string{"hi"}, map[string]*graph.Attr{"value_float": graph.FloatAttr(6)})
	b.node("Identity", "id1", []string{"w"}, []string{"w2"}, nil)
	b.node("Gemm", "fc", []string{"x", "w2"}, []string{"g"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
	b.node("Clip", "clip", []string{"g", "lo", "hi"}, []string{"c"}, nil)
	b.node("Identity", "id2", []string{"c"}, []string{"y"}, nil)
	m := b.output("y")
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := opTypes(p.Graph); !slices.Equal(got, []string{"Gemm", "Clip"}) {
		t.Fatalf("ops %v", got)
	}
	if fc := nodeByName(p.Graph, "fc"); fc.Inputs[1] != "w" {
		t.Errorf("fc reads %v", fc.Inputs)
	}
	if clip := nodeByName(p.Graph, "clip"); clip.Outputs[0] != "y" || p.Graph.Initializers[clip.Inputs[2]].F32[0] != 6 {
		t.Errorf("clip %v -> %v", clip.Inputs, clip.Outputs)
	}
	q, s := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: -1, Max: 1}, "y": {Min: 0, Max: 6}})
	if s.FusedActivations["Clip"] != 1 || slices.Contains(opTypes(q.Graph), "Clip") {
		t.Errorf("Clip from Constant bounds not fused: %v", opTypes(q.Graph))
	}
}

func TestOpsetUpgrade(t *testing.T) {
	t.Run("clip attrs and softmax", func(t *testing.T) {
		b := newBuilder(9, "x")
		b.randInit("w", 4, 3)
		b.node("Gemm", "fc", []string{"x", "w"}, []string{"g"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
		b.node("Clip", "clip", []string{"g"}, []string{"c"}, map[string]*graph.Attr{"min": graph.FloatAttr(0), "max": graph.FloatAttr(6)})
		b.node("Dropout", "drop", []string{"c"}, []string{"d"}, nil)
		b.node("Softmax", "sm", []string{"d"}, []string{"y"}, nil)
		m := b.output("y")
		q, s := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: -1, Max: 1}, "c": {Min: 0, Max: 6}})
		if s.OpsetBefore != 9 || s.OpsetAfter != 13 || q.Opset() != 13 || m.Opset() != 9 {
			t.Fatalf("opsets %d -> %d", s.OpsetBefore, s.OpsetAfter)
		}
		ops := opTypes(q.Graph)
		if slices.Contains(ops, "Clip") || slices.Contains(ops, "Dropout") || !slices.Contains(ops, "Flatten") || !slices.Contains(ops, "Reshape") {
			t.Errorf("ops %v", ops)
		}
		if sm := nodeByName(q.Graph, "sm"); sm.AttrInt("axis", -1) != 1 {
			t.Errorf("softmax axis %d", sm.AttrInt("axis", -1))
		}
	})
	t.Run("unsupported op", func(t *testing.T) {
		b := newBuilder(1, "x")
		b.node("Pad", "pad", []string{"x"}, []string{"y"}, map[string]*graph.Attr{"paddings": graph.IntsAttr(0, 0, 1, 1)})
		_, _, err := Quantize(b.output("y"), map[string]qmath.Range{}, Options{})
		if err == nil || !strings.Contains(err.Error(), "Pad") {
			t.Errorf("error %v", err)
		}
	})
}

// TestPrepareFoldsParamConstantOfShape: ConstantOfShape nodes of constant
// shape that feed only weights, biases and BatchNormalization parameters
// become initializers (the Conv is then quantized with an int8 weight);
// one that also feeds an activation input stays.
func TestPrepareFoldsParamConstantOfShape(t *testing.T) {
	b := newBuilder(13, "x")
	shape := func(name string, dims ...int64) { b.init(name, tensor.FromInt64(tensor.Shape{len(dims)}, dims)) }
	shape("ws", 2, 3, 1, 1)
	shape("bs", 2)
	shape("xs", 1, 2, 4, 4)
	value := func(v float32) map[string]*graph.Attr {
		return map[string]*graph.Attr{"value": graph.TensorAttr(tensor.FromFloat32(tensor.Shape{1}, []float32{v}))}
	}
	b.node("ConstantOfShape", "w", []string{"ws"}, []string{"w"}, value(0.5))
	b.node("ConstantOfShape", "gamma", []string{"bs"}, []string{"gamma"}, value(2))
	b.node("ConstantOfShape", "zero", []string{"bs"}, []string{"zero"}, nil)
	b.node("ConstantOfShape", "one", []string{"bs"}, []string{"one"}, value(1))
	b.node("ConstantOfShape", "bias", []string{"xs"}, []string{"addend"}, value(0.25))
	b.node("Conv", "conv", []string{"x", "w"}, []string{"c"}, nil)
	b.node("BatchNormalization", "bn", []string{"c", "gamma", "zero", "zero", "one"}, []string{"n"}, nil)
	b.node("Add", "add", []string{"n", "addend"}, []string{"y"}, nil)
	m := b.output("y")
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	ops := opTypes(p.Graph)
	if want := []string{"ConstantOfShape", "Conv", "Add"}; !slices.Equal(ops, want) {
		t.Fatalf("prepared ops %v, want %v", ops, want)
	}
	if w := p.Graph.Initializers[nodeByName(p.Graph, "conv").Input(1)]; w == nil || !w.Shape.Equal(tensor.Shape{2, 3, 1, 1}) {
		t.Fatalf("conv weight %v", w)
	}
	// Float: w 6, gamma 2, zero 2 (read twice), one 2, addend 32.
	// Prepared: w 6, the bias BatchNormalization folded into 2, addend 32.
	if f, p := m.Graph.ParamCount(), p.Graph.ParamCount(); f != 44 || p != 40 {
		t.Errorf("ParamCount %d float, %d prepared; want 44 and 40", f, p)
	}
	q, sum, err := Quantize(m, fakeRanges(p.Graph), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.QuantizedNodes["Conv"] != 1 || q.Graph.OpCounts()["ConstantOfShape"] != 1 {
		t.Errorf("quantized nodes %v, ops %v", sum.QuantizedNodes, q.Graph.OpCounts())
	}
}

// TestPrepareSumsToAdds: Sum nodes become Adds, left to right, with the
// same float results, and a quantized two-input Sum runs as an integer add.
func TestPrepareSumsToAdds(t *testing.T) {
	b := newBuilder(9, "x")
	for _, w := range []string{"w1", "w2", "w3", "w4", "w5", "w6"} {
		b.randInit(w, 3, 3, 1, 1)
	}
	conv := func(name, w, in, out string) { b.node("Conv", name, []string{in, w}, []string{out}, nil) }
	conv("c1", "w1", "x", "a")
	conv("c2", "w2", "x", "b")
	b.node("Sum", "s2", []string{"a", "b"}, []string{"ab"}, nil)
	b.node("Relu", "r", []string{"ab"}, []string{"abr"}, nil)
	conv("c3", "w3", "abr", "y")
	conv("c4", "w4", "x", "d")
	conv("c5", "w5", "x", "e")
	conv("c6", "w6", "x", "f")
	b.node("Sum", "s3", []string{"d", "e", "f"}, []string{"z"}, nil)
	m := b.output("y", "z")
	m.Graph.Inputs[0].Shape = graph.Dims(tensor.Shape{1, 3, 5, 5})
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if ops := opTypes(p.Graph); !slices.Equal(ops, []string{"Conv", "Conv", "Add", "Relu", "Conv", "Conv", "Conv", "Conv", "Add", "Add"}) {
		t.Fatalf("prepared ops %v", ops)
	}
	if n := nodeByName(p.Graph, "s3"); n == nil || n.Outputs[0] != "z" || n.Input(1) != "f" {
		t.Fatalf("the last Add of s3: %+v", n)
	}
	x := tensor.New(tensor.Float32, tensor.Shape{1, 3, 5, 5})
	for i := range x.F32 {
		x.F32[i] = float32(i%7) - 3
	}
	run := func(m *graph.Model, opts infer.Options) (map[string]*tensor.Tensor, infer.Stats) {
		prog, err := infer.Compile(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := prog.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		return out, prog.Stats()
	}
	want, _ := run(m, infer.Options{})
	got, _ := run(p, infer.Options{})
	for _, o := range []string{"y", "z"} {
		if !want[o].Equal(got[o]) {
			t.Errorf("%s: prepared model gives %v, want %v", o, got[o].F32, want[o].F32)
		}
	}
	q, _, err := Quantize(m, fakeRanges(p.Graph), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Six Convs in integer arithmetic, and the Add (+Relu) between c1, c2
	// and c3 on the 8-bit values.
	if _, st := run(q, infer.Options{Integer: true}); st.IntegerNodes != 6 || st.Uint8Nodes != 1 || q.Graph.OpCounts()["Sum"] != 0 {
		t.Errorf("quantized: stats %+v, ops %v", st, q.Graph.OpCounts())
	}
}
