package quantize

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// builder makes small hand-built models for tests.
type builder struct {
	m   *graph.Model
	rng *rand.Rand
}

func newBuilder(opset int64, inputs ...string) *builder {
	g := &graph.Graph{Name: "test", Initializers: map[string]*tensor.Tensor{}}
	for _, in := range inputs {
		g.Inputs = append(g.Inputs, graph.ValueInfo{Name: in, DType: tensor.Float32})
	}
	return &builder{m: &graph.Model{IRVersion: 8, Opsets: map[string]int64{"": opset}, Graph: g}, rng: rand.New(rand.NewSource(1))}
}

func (b *builder) randInit(name string, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = float32(b.rng.NormFloat64())
	}
	b.m.Graph.Initializers[name] = t
	return t
}

func (b *builder) init(name string, t *tensor.Tensor) { b.m.Graph.Initializers[name] = t }

func (b *builder) node(op, name string, in []string, out []string, attrs map[string]*graph.Attr) *graph.Node {
	n := &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
	b.m.Graph.Nodes = append(b.m.Graph.Nodes, n)
	return n
}

func (b *builder) output(names ...string) *graph.Model {
	for _, o := range names {
		b.m.Graph.Outputs = append(b.m.Graph.Outputs, graph.ValueInfo{Name: o, DType: tensor.Float32})
	}
	return b.m
}

func nodeByName(g *graph.Graph, name string) *graph.Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func opTypes(g *graph.Graph) []string {
	var s []string
	for _, n := range g.Nodes {
		s = append(s, n.OpType)
	}
	return s
}

func mustQuantize(t *testing.T, m *graph.Model, r map[string]qmath.Range) (*graph.Model, *Summary) {
	t.Helper()
	q, s, err := Quantize(m, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return q, s
}

// qdqOf returns the QuantizeLinear and DequantizeLinear nodes of tensor
// name: the Q reads name, or, for a graph output, the DQ writes it.
func qdqOf(t *testing.T, g *graph.Graph, name string) (qn, dq *graph.Node) {
	t.Helper()
	prod, cons := g.Producers(), g.Consumers()
	if p := prod[name]; p != nil && p.OpType == "DequantizeLinear" {
		dq, qn = p, prod[p.Input(0)]
	} else {
		for _, c := range cons[name] {
			if c.OpType == "QuantizeLinear" {
				qn = c
			}
		}
		if qn != nil && len(cons[qn.Outputs[0]]) == 1 {
			dq = cons[qn.Outputs[0]][0]
		}
	}
	if qn == nil || qn.OpType != "QuantizeLinear" || dq == nil || dq.OpType != "DequantizeLinear" {
		t.Fatalf("no QuantizeLinear/DequantizeLinear pair for %q; nodes %v", name, opTypes(g))
	}
	return qn, dq
}

// dqOut returns the dequantized value that readers of tensor name read.
func dqOut(t *testing.T, g *graph.Graph, name string) string {
	t.Helper()
	_, dq := qdqOf(t, g, name)
	return dq.Outputs[0]
}

// producerOf returns the node that writes input i of n.
func producerOf(g *graph.Graph, n *graph.Node, i int) *graph.Node {
	return g.Producers()[n.Input(i)]
}

// actParamsOf returns the scale and zero point feeding the Q node of tensor
// name, checking that its DQ reads the same initializers.
func actParamsOf(t *testing.T, g *graph.Graph, name string) qmath.Params {
	t.Helper()
	n, dq := qdqOf(t, g, name)
	if !slices.Equal(n.Inputs[1:], dq.Inputs[1:]) {
		t.Fatalf("%q: Q reads %v, DQ reads %v, want the same scale and zero point", name, n.Inputs[1:], dq.Inputs[1:])
	}
	s, z := g.Initializers[n.Inputs[1]], g.Initializers[n.Inputs[2]]
	if s.DType != tensor.Float32 || len(s.Shape) != 0 || z.DType != tensor.Uint8 || len(z.Shape) != 0 {
		t.Fatalf("%q: scale %v%v zero point %v%v, want scalar float32 and uint8", name, s.DType, s.Shape, z.DType, z.Shape)
	}
	return qmath.Params{Scale: s.F32[0], ZeroPoint: int32(z.U8[0])}
}

// convModel: x[1,2,5,5] → Conv(w[3,2,3,3], b[3]) → act → y.
func convModel(act string) (*graph.Model, map[string]qmath.Range) {
	b := newBuilder(13, "x")
	b.randInit("w", 3, 2, 3, 3)
	b.randInit("b", 3)
	out := "y"
	if act != "" {
		out = "c"
	}
	b.node("Conv", "conv", []string{"x", "w", "b"}, []string{out}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)})
	switch act {
	case "Relu":
		b.node("Relu", "relu", []string{"c"}, []string{"y"}, nil)
	case "Clip":
		b.init("lo", tensor.ScalarFloat32(0))
		b.init("hi", tensor.ScalarFloat32(6))
		b.node("Clip", "clip", []string{"c", "lo", "hi"}, []string{"y"}, nil)
	}
	return b.output("y"), map[string]qmath.Range{"x": {Min: 0, Max: 1}, "c": {Min: -4, Max: 5}, "y": {Min: 0, Max: 5}}
}
