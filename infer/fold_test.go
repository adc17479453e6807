package infer

import (
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// TestFoldShapeSubgraph checks that Shape → Gather → Unsqueeze → Concat →
// Reshape collapses at compile time: with a symbolic batch the Reshape gets
// the constant target [0, 48] (0 copies the batch), and the program keeps
// only the Reshape and the Relu; it then runs with any batch size.
func TestFoldShapeSubgraph(t *testing.T) {
	i64 := func(v ...int64) *tensor.Tensor { return tensor.FromInt64(tensor.Shape{len(v)}, v) }
	scalar := tensor.FromInt64(nil, []int64{0})
	for _, batch := range []int64{-1, 1} { // symbolic, and fixed (still batch free)
		g := &graph.Graph{
			Inputs:       []graph.ValueInfo{vi("x", tensor.Float32, batch, 3, 4, 4)},
			Outputs:      []graph.ValueInfo{vi("y", tensor.Float32, batch, 48)},
			Initializers: map[string]*tensor.Tensor{"zero": scalar, "one": tensor.FromInt64(nil, []int64{1}), "axes": i64(0), "rest": i64(-1)},
			Nodes: []*graph.Node{
				node("shape", "Shape", []string{"x"}, []string{"s"}, nil),
				node("g0", "Gather", []string{"s", "zero"}, []string{"n"}, nil),
				node("g1", "Gather", []string{"s", "one"}, []string{"c"}, nil),
				node("u0", "Unsqueeze", []string{"n", "axes"}, []string{"nu"}, nil),
				node("cat", "Concat", []string{"nu", "rest"}, []string{"target"}, map[string]*graph.Attr{"axis": graph.IntAttr(0)}),
				node("reshape", "Reshape", []string{"x", "target"}, []string{"r"}, nil),
				node("relu", "Relu", []string{"r"}, []string{"y"}, nil),
				// Dead: nothing reads c.
				node("u1", "Unsqueeze", []string{"c", "axes"}, []string{"cu"}, nil),
			},
		}
		p, err := Compile(&graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n := p.Stats().FloatNodes; n != 2 {
			t.Errorf("batch %d: %d steps left, want 2 (Reshape, Relu)", batch, n)
		}
		for _, n := range []int{1, 2, 5} {
			x := tensor.New(tensor.Float32, tensor.Shape{n, 3, 4, 4})
			for i := range x.F32 {
				x.F32[i] = float32(i%7) - 3
			}
			out, err := p.Run(map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			if !y.Shape.Equal(tensor.Shape{n, 48}) || y.F32[1] != 0 || y.F32[4] != 1 {
				t.Errorf("batch %d: y %v %v", n, y.Shape, y.F32[:6])
			}
		}
	}
}

// TestFoldStaticShape checks that Shape of a value whose dimensions are
// all known becomes a constant even when the batch is symbolic.
func TestFoldStaticShape(t *testing.T) {
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{vi("x", tensor.Float32, -1, 3, 4, 4)},
		Outputs:      []graph.ValueInfo{vi("y", tensor.Float32, -1, 3, 16)},
		Initializers: map[string]*tensor.Tensor{"start": tensor.FromInt64(tensor.Shape{1}, []int64{1}), "end": tensor.FromInt64(tensor.Shape{1}, []int64{2}), "m": tensor.FromInt64(tensor.Shape{2}, []int64{0, -1})},
		Nodes: []*graph.Node{
			node("shape", "Shape", []string{"x"}, []string{"s"}, nil),
			node("slice", "Slice", []string{"s", "start", "end"}, []string{"c"}, nil),
			node("cat", "Concat", []string{"c", "m"}, []string{"t0"}, map[string]*graph.Attr{"axis": graph.IntAttr(0)}),
			// t0 = [3, 0, -1]: reshape to [3, N, 16] then Transpose back.
			node("reshape", "Reshape", []string{"x", "t0"}, []string{"r"}, nil),
			node("tr", "Transpose", []string{"r"}, []string{"y"}, map[string]*graph.Attr{"perm": graph.IntsAttr(1, 0, 2)}),
		},
	}
	p, err := Compile(&graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().FloatNodes; n != 2 {
		t.Errorf("%d steps left, want 2 (Reshape, Transpose)", n)
	}
}
