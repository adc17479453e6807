package quantize

import (
	"math/rand"
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

// actParamsOf returns the scale and zero point feeding the Q node of tensor
// name.
func actParamsOf(t *testing.T, g *graph.Graph, name string) qmath.Params {
	t.Helper()
	n := nodeByName(g, name+"_QuantizeLinear")
	if n == nil {
		t.Fatalf("no QuantizeLinear for %q; nodes %v", name, opTypes(g))
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
