package infer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// epilogueModel: x [N,4,6,6] → Conv a (3x3, pad 1, bias) → BatchNormalization
// → Add x → Relu → Conv b (1x1, no bias) → Sum with Conv c (depthwise 3x3,
// of x) → Clip [0, 1] → y, and the BatchNormalization output of Conv c's
// twin d as a second output (so that its chain stops there).
func epilogueModel(r *rand.Rand) *graph.Model {
	rnd := func(shape ...int) *tensor.Tensor {
		t := tensor.New(tensor.Float32, tensor.Shape(shape))
		for i := range t.F32 {
			t.F32[i] = float32(r.NormFloat64())
		}
		return t
	}
	pos := func(n int) *tensor.Tensor {
		t := rnd(n)
		for i, v := range t.F32 {
			t.F32[i] = 0.5 + float32(math.Abs(float64(v)))
		}
		return t
	}
	pads := map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)}
	dw := map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1), "group": graph.IntAttr(4)}
	g := &graph.Graph{
		Inputs:  []graph.ValueInfo{vi("x", tensor.Float32, -1, 4, 6, 6)},
		Outputs: []graph.ValueInfo{vi("y", tensor.Float32, -1, 4, 6, 6), vi("dn", tensor.Float32, -1, 4, 6, 6)},
		Initializers: map[string]*tensor.Tensor{
			"wa": rnd(4, 4, 3, 3), "ba": rnd(4), "wb": rnd(4, 4, 1, 1), "wc": rnd(4, 1, 3, 3),
			"s": pos(4), "o": rnd(4), "mean": rnd(4), "var": pos(4),
			"lo": tensor.ScalarFloat32(0), "hi": tensor.ScalarFloat32(1),
		},
		Nodes: []*graph.Node{
			node("a", "Conv", []string{"x", "wa", "ba"}, []string{"a"}, pads),
			node("an", "BatchNormalization", []string{"a", "s", "o", "mean", "var"}, []string{"an"}, nil),
			node("res", "Add", []string{"x", "an"}, []string{"res"}, nil),
			node("relu", "Relu", []string{"res"}, []string{"rl"}, nil),
			node("b", "Conv", []string{"rl", "wb"}, []string{"b"}, nil),
			node("c", "Conv", []string{"x", "wc"}, []string{"c"}, dw),
			node("sum", "Sum", []string{"b", "c"}, []string{"sm"}, nil),
			node("clip", "Clip", []string{"sm", "lo", "hi"}, []string{"y"}, nil),
			node("d", "Conv", []string{"x", "wc"}, []string{"d"}, dw),
			node("dn", "BatchNormalization", []string{"d", "s", "o", "mean", "var"}, []string{"dn"}, nil),
		},
	}
	return &graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}
}

// TestFloatEpilogueFusion checks the fused chains against the unfused
// compilation: within float rounding where a BatchNormalization is folded,
// and the steps and node count it should have; RunObserved still reports
// every node output.
func TestFloatEpilogueFusion(t *testing.T) {
	m := epilogueModel(rand.New(rand.NewSource(1)))
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := compile(m, Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	// a+an+res+relu, b+sum+clip (c stays: it is the residual), d+dn.
	if len(p.steps) != 4 || len(plain.steps) != 10 {
		t.Fatalf("%d fused steps (%d unfused), want 4 (10)", len(p.steps), len(plain.steps))
	}
	if p.Stats().FloatNodes != plain.Stats().FloatNodes {
		t.Fatalf("fused program counts %d nodes, want %d", p.Stats().FloatNodes, plain.Stats().FloatNodes)
	}
	for seed := int64(0); seed < 3; seed++ {
		feeds := randomInputs(t, p, 2, seed)
		got, err := p.Run(feeds)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Run(feeds)
		if err != nil {
			t.Fatal(err)
		}
		for name, w := range want {
			g := got[name]
			for i := range w.F32 {
				if d := math.Abs(float64(g.F32[i] - w.F32[i])); d > 1e-5*(1+math.Abs(float64(w.F32[i]))) {
					t.Fatalf("%s[%d] = %v, want %v", name, i, g.F32[i], w.F32[i])
				}
			}
		}
		seen := map[string]bool{}
		if _, err := p.RunObserved(feeds, func(name string, _ *tensor.Tensor) { seen[name] = true }); err != nil {
			t.Fatal(err)
		}
		for _, n := range m.Graph.Nodes {
			if !seen[n.Outputs[0]] {
				t.Fatalf("RunObserved did not report %s", n.Outputs[0])
			}
		}
	}
	if s := p.Stats(); s.FloatMACs != plain.Stats().FloatMACs {
		t.Fatalf("float MACs %d, want %d", s.FloatMACs, plain.Stats().FloatMACs)
	}
}
