package quantize

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

func TestQuantizeStructure(t *testing.T) {
	cases := []struct {
		name  string
		model func() (*graph.Model, map[string]qmath.Range)
		ops   []string
		fused map[string]int
		nodes map[string]int
	}{
		{"conv+relu", func() (*graph.Model, map[string]qmath.Range) { return convModel("Relu") },
			[]string{"QuantizeLinear", "DequantizeLinear", "DequantizeLinear", "Mul", "DequantizeLinear", "Conv", "QuantizeLinear", "DequantizeLinear"},
			map[string]int{"Relu": 1}, map[string]int{"Conv": 1}},
		{"conv+clip6", func() (*graph.Model, map[string]qmath.Range) { return convModel("Clip") },
			[]string{"QuantizeLinear", "DequantizeLinear", "DequantizeLinear", "Mul", "DequantizeLinear", "Conv", "QuantizeLinear", "DequantizeLinear"},
			map[string]int{"Clip": 1}, map[string]int{"Conv": 1}},
		{"conv alone", func() (*graph.Model, map[string]qmath.Range) { return convModel("") },
			[]string{"QuantizeLinear", "DequantizeLinear", "DequantizeLinear", "Mul", "DequantizeLinear", "Conv", "QuantizeLinear", "DequantizeLinear"},
			map[string]int{}, map[string]int{"Conv": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, r := c.model()
			q, s := mustQuantize(t, m, r)
			if got := opTypes(q.Graph); !slices.Equal(got, c.ops) {
				t.Errorf("ops %v, want %v", got, c.ops)
			}
			if !reflect.DeepEqual(s.FusedActivations, c.fused) || !reflect.DeepEqual(s.QuantizedNodes, c.nodes) {
				t.Errorf("summary %+v", s)
			}
			// The graph output keeps its name and is written by a DQ.
			if prod := q.Graph.Producers()["y"]; prod == nil || prod.OpType != "DequantizeLinear" {
				t.Errorf("graph output y is written by %v", prod)
			}
			// Short names: x is tensor 1, y tensor 2 (its float value f2),
			// w the first weight, b the first bias.
			conv := nodeByName(q.Graph, "conv")
			if !slices.Equal(conv.Outputs, []string{"f2"}) || !slices.Equal(conv.Inputs, []string{"d1", "w1d", "b1d"}) {
				t.Errorf("conv reads %v writes %v", conv.Inputs, conv.Outputs)
			}
			for _, n := range q.Graph.Nodes {
				if n != conv && n.Name != "" {
					t.Errorf("added node %s has a name", n.Label())
				}
			}
			if q.Opset() != 13 {
				t.Errorf("opset %d", q.Opset())
			}
		})
	}
}

func TestWeightAndBias(t *testing.T) {
	cases := []struct {
		name   string
		build  func(b *builder)
		weight string
		axis   int
		bias   string
	}{
		{"conv", func(b *builder) {
			b.randInit("w", 4, 3, 2, 2)
			b.randInit("bias", 4)
			b.node("Conv", "n", []string{"x", "w", "bias"}, []string{"y"}, nil)
		}, "w", 0, "bias"},
		{"gemm transB=1", func(b *builder) {
			b.randInit("w", 5, 6)
			b.randInit("bias", 5)
			b.node("Gemm", "n", []string{"x", "w", "bias"}, []string{"y"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
		}, "w", 0, "bias"},
		{"gemm transB=0", func(b *builder) {
			b.randInit("w", 6, 5)
			b.randInit("bias", 5)
			b.node("Gemm", "n", []string{"x", "w", "bias"}, []string{"y"}, nil)
		}, "w", 1, "bias"},
		{"matmul", func(b *builder) {
			b.randInit("w", 6, 7)
			b.node("MatMul", "n", []string{"x", "w"}, []string{"y"}, nil)
		}, "w", 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(13, "x")
			c.build(b)
			// Give one channel a wide spread and one all zeros.
			w := b.m.Graph.Initializers[c.weight]
			forEachChannel(w.Shape, c.axis, func(ch, i int) {
				switch ch {
				case 1:
					w.F32[i] *= 100
				case 2:
					w.F32[i] = 0
				}
			})
			m := b.output("y")
			q, s := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: -1, Max: 3}, "y": {Min: -10, Max: 10}})
			g := q.Graph
			node := nodeByName(g, "n")
			dq := producerOf(g, node, 1)
			if dq == nil || dq.OpType != "DequantizeLinear" || dq.AttrInt("axis", 1) != int64(c.axis) {
				t.Fatalf("weight DQ %+v", dq)
			}
			if _, ok := dq.Attrs["axis"]; ok == (c.axis == 1) {
				t.Errorf("weight DQ attributes %v: axis must be written unless it is the default 1", dq.Attrs)
			}
			// Conv weights have no zero point (0 is the default); Gemm and
			// MatMul weights keep an all-zero one for ONNX Runtime's QGemm.
			if c.name == "conv" && len(dq.Inputs) != 2 {
				t.Fatalf("weight DQ inputs %v, want no zero point", dq.Inputs)
			}
			if c.name != "conv" {
				wz := g.Initializers[dq.Input(2)]
				if wz == nil || wz.DType != tensor.Int8 || !wz.Shape.Equal(tensor.Shape{w.Shape[c.axis]}) || slices.ContainsFunc(wz.I8, func(v int8) bool { return v != 0 }) {
					t.Fatalf("weight DQ inputs %v, zero point %v", dq.Inputs, wz)
				}
			}
			wq, ws := g.Initializers[dq.Inputs[0]], g.Initializers[dq.Inputs[1]]
			n := w.Shape[c.axis]
			if wq.DType != tensor.Int8 || !wq.Shape.Equal(w.Shape) || ws.DType != tensor.Float32 || !ws.Shape.Equal(tensor.Shape{n}) {
				t.Fatalf("weight tensors %v%v %v%v", wq.DType, wq.Shape, ws.DType, ws.Shape)
			}
			if ws.F32[2] != 1 {
				t.Errorf("all-zero channel scale %v, want 1", ws.F32[2])
			}
			forEachChannel(w.Shape, c.axis, func(ch, i int) {
				sc := ws.F32[ch]
				if wq.I8[i] < -127 {
					t.Fatalf("weight %d below -127", wq.I8[i])
				}
				if d := math.Abs(float64(float32(wq.I8[i])*sc - w.F32[i])); d > float64(sc)/2*(1+1e-6) {
					t.Fatalf("channel %d element %d: error %g > scale/2 = %g", ch, i, d, sc/2)
				}
			})
			if _, ok := g.Initializers[c.weight]; ok {
				t.Error("float weight still present")
			}
			if c.bias == "" {
				return
			}
			bdq := producerOf(g, node, 2)
			bq := g.Initializers[bdq.Inputs[0]]
			if bq.DType != tensor.Int32 || len(bdq.Inputs) != 2 || bdq.AttrInt("axis", 1) != 0 {
				t.Fatalf("bias %v, DQ inputs %v", bq.DType, bdq.Inputs)
			}
			// The bias scale is computed: Mul(input scale, weight scale).
			mul := producerOf(g, bdq, 1)
			xq, _ := qdqOf(t, g, "x")
			if mul == nil || mul.OpType != "Mul" || !slices.Equal(mul.Inputs, []string{xq.Inputs[1], dq.Inputs[1]}) {
				t.Fatalf("bias scale from %+v", mul)
			}
			if g.IsInitializer(bdq.Inputs[1]) {
				t.Error("bias scale stored")
			}
			xs := actParamsOf(t, g, "x").Scale
			bias := m.Graph.Initializers[c.bias]
			for ch := 0; ch < n; ch++ {
				bs := xs * ws.F32[ch] // what Mul computes, in float32
				if want := qmath.QuantizeInt32(bias.F32[ch], bs); bq.I32[ch] != want {
					t.Errorf("bias[%d] = %d, want %d", ch, bq.I32[ch], want)
				}
			}
			if s.WeightBytesAfter >= s.WeightBytesBefore {
				t.Errorf("bytes %d -> %d", s.WeightBytesBefore, s.WeightBytesAfter)
			}
		})
	}
}

func TestPassThroughSharesParams(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 4, 1, 3, 3)
	b.randInit("b", 4)
	b.randInit("fw", 10, 16)
	b.randInit("fb", 10)
	b.node("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, nil)
	b.node("Relu", "relu", []string{"c"}, []string{"r"}, nil)
	b.node("MaxPool", "pool", []string{"r"}, []string{"p"}, map[string]*graph.Attr{"kernel_shape": graph.IntsAttr(2, 2), "strides": graph.IntsAttr(2, 2)})
	b.node("Flatten", "flat", []string{"p"}, []string{"f"}, nil)
	b.node("Gemm", "fc", []string{"f", "fw", "fb"}, []string{"logits"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
	m := b.output("logits")
	// p and f have ranges of their own that must NOT be used.
	r := map[string]qmath.Range{"x": {Min: 0, Max: 1}, "r": {Min: 0, Max: 3}, "p": {Min: 0, Max: 2}, "f": {Min: 0, Max: 1}, "logits": {Min: -8, Max: 9}}
	q, s := mustQuantize(t, m, r)
	g := q.Graph
	pr, pp, pf := actParamsOf(t, g, "r"), actParamsOf(t, g, "p"), actParamsOf(t, g, "f")
	if pr != pp || pr != pf {
		t.Errorf("params r %v p %v f %v, want equal", pr, pp, pf)
	}
	if pool := nodeByName(g, "pool"); pool.Inputs[0] != dqOut(t, g, "r") {
		t.Errorf("pool reads %v", pool.Inputs)
	}
	if fc := nodeByName(g, "fc"); fc.Inputs[0] != dqOut(t, g, "f") || fc.Outputs[0] != "f5" {
		t.Errorf("fc %v -> %v", fc.Inputs, fc.Outputs)
	}
	// Equal parameters share one scale and one zero-point initializer.
	rq, _ := qdqOf(t, g, "r")
	for _, name := range []string{"p", "f"} {
		if nq, _ := qdqOf(t, g, name); !slices.Equal(nq.Inputs[1:], rq.Inputs[1:]) {
			t.Errorf("%q Q reads %v, r's reads %v", name, nq.Inputs, rq.Inputs)
		}
	}
	want := map[string]int{"Conv": 1, "Gemm": 1, "MaxPool": 1, "Flatten": 1}
	if !reflect.DeepEqual(s.QuantizedNodes, want) {
		t.Errorf("quantized nodes %v", s.QuantizedNodes)
	}
	if len(s.FloatActivations) != 0 {
		t.Errorf("float activations %v", s.FloatActivations)
	}
	// Only one Q per tensor.
	count := map[string]int{}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" {
			count[n.Inputs[0]]++
		}
	}
	for k, v := range count {
		if v != 1 {
			t.Errorf("%q has %d QuantizeLinear nodes", k, v)
		}
	}
}

func TestSharedConsumersOneQDQ(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w1", 3, 4)
	b.randInit("w2", 3, 5)
	b.node("MatMul", "m1", []string{"x", "w1"}, []string{"a"}, nil)
	b.node("MatMul", "m2", []string{"x", "w2"}, []string{"c"}, nil)
	m := b.output("a", "c")
	q, _ := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: -1, Max: 1}, "a": {Min: -2, Max: 2}, "c": {Min: -3, Max: 3}})
	n := 0
	for _, node := range q.Graph.Nodes {
		if node.OpType == "QuantizeLinear" && node.Inputs[0] == "x" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Q nodes on x", n)
	}
	if d := dqOut(t, q.Graph, "x"); nodeByName(q.Graph, "m1").Inputs[0] != d || nodeByName(q.Graph, "m2").Inputs[0] != d {
		t.Error("consumers do not share the DQ output")
	}
}

func TestClipNotFused(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi float32
		r      qmath.Range
		fused  bool
	}{
		{"relu6", 0, 6, qmath.Range{Min: 0, Max: 6}, true},
		{"symmetric", -1, 1, qmath.Range{Min: -1, Max: 1}, true},
		{"positive lower bound", 0.5, 6, qmath.Range{Min: 0.5, Max: 6}, false},
		{"negative upper", -6, -1, qmath.Range{Min: -6, Max: -1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, r := convModel("Clip")
			m.Graph.Initializers["lo"] = tensor.ScalarFloat32(c.lo)
			m.Graph.Initializers["hi"] = tensor.ScalarFloat32(c.hi)
			r["y"] = c.r
			q, s := mustQuantize(t, m, r)
			hasClip := slices.Contains(opTypes(q.Graph), "Clip")
			if hasClip == c.fused || (s.FusedActivations["Clip"] == 1) != c.fused {
				t.Errorf("fused %v, ops %v", !hasClip, opTypes(q.Graph))
			}
		})
	}
}

func TestMissingRange(t *testing.T) {
	for _, drop := range []string{"x", "y"} {
		m, r := convModel("Relu")
		delete(r, drop)
		_, _, err := Quantize(m, r, Options{})
		if err == nil || !strings.Contains(err.Error(), `"`+drop+`"`) {
			t.Errorf("without %q: error %v", drop, err)
		}
	}
	if _, _, err := Quantize(convModelOnly(t), nil, Options{Scheme: "bogus"}); err == nil {
		t.Error("unknown scheme accepted")
	}
}

func convModelOnly(t *testing.T) *graph.Model { m, _ := convModel(""); return m }

func TestDeterministicAndInputUnchanged(t *testing.T) {
	m, r := convModel("Relu")
	before := m.Clone()
	wBefore := m.Graph.Initializers["w"].Clone()
	q1, s1 := mustQuantize(t, m, r)
	q2, s2 := mustQuantize(t, m, r)
	if !reflect.DeepEqual(q1, q2) || !reflect.DeepEqual(s1, s2) {
		t.Fatal("two runs differ")
	}
	if !reflect.DeepEqual(m, before) || !m.Graph.Initializers["w"].Equal(wBefore) {
		t.Fatal("input model was changed")
	}
	// Quantizing the prepared model gives the same result.
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	q3, _ := mustQuantize(t, p, r)
	if !reflect.DeepEqual(q1, q3) {
		t.Fatal("Quantize(Prepare(m)) differs from Quantize(m)")
	}
}
