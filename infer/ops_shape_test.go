package infer

import (
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// TestTrilu runs Trilu models on 3×4 and 2×2×3 inputs: the upper and
// lower triangles, diagonals above and below the main one, k beyond the
// matrix, and an integer element type.
func TestTrilu(t *testing.T) {
	x34 := tensor.FromFloat32(tensor.Shape{3, 4}, []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
	})
	x223 := tensor.FromInt64(tensor.Shape{2, 2, 3}, []int64{
		1, 2, 3,
		4, 5, 6,
		-1, -2, -3,
		-4, -5, -6,
	})
	for _, tc := range []struct {
		name  string
		x     *tensor.Tensor
		upper int64 // -1: attribute absent
		k     *int64
		want  []float64
	}{
		{"upper default", x34, -1, nil, []float64{1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}},
		{"upper k=1", x34, 1, ptr(1), []float64{0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12}},
		{"upper k=-1", x34, 1, ptr(-1), []float64{1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}},
		{"upper k beyond", x34, 1, ptr(5), []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"lower", x34, 0, nil, []float64{1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}},
		{"lower k=2", x34, 0, ptr(2), []float64{1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"lower k=-2", x34, 0, ptr(-2), []float64{0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}},
		{"batched int64 upper", x223, 1, nil, []float64{1, 2, 3, 0, 5, 6, -1, -2, -3, 0, -5, -6}},
		{"batched int64 lower k=-1", x223, 0, ptr(-1), []float64{0, 0, 0, 4, 0, 0, 0, 0, 0, -4, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y, err := runTrilu(tc.x, tc.upper, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if y.DType != tc.x.DType || !y.Shape.Equal(tc.x.Shape) {
				t.Fatalf("got %v%v, want %v%v", y.DType, y.Shape, tc.x.DType, tc.x.Shape)
			}
			for i, w := range tc.want {
				if g := y.Float64At(i); g != w {
					t.Fatalf("element %d is %v, want %v (all: %v)", i, g, w, y)
				}
			}
		})
	}
	t.Run("rank 1", func(t *testing.T) {
		_, err := runTrilu(tensor.FromFloat32(tensor.Shape{3}, []float32{1, 2, 3}), 1, nil)
		if err == nil || !strings.Contains(err.Error(), `Trilu "tri"`) || !strings.Contains(err.Error(), "rank >= 2") {
			t.Fatalf("error %v, want one naming the node and the rank", err)
		}
	})
}

func ptr(v int64) *int64 { return &v }

// runTrilu compiles and runs a one-node Trilu model on x; upper < 0 leaves
// the attribute out, a nil k the input.
func runTrilu(x *tensor.Tensor, upper int64, k *int64) (*tensor.Tensor, error) {
	dims := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		dims[i] = int64(d)
	}
	ins := []string{"x"}
	inits := map[string]*tensor.Tensor{}
	if k != nil {
		ins = append(ins, "k")
		inits["k"] = tensor.FromInt64(nil, []int64{*k})
	}
	var attrs map[string]*graph.Attr
	if upper >= 0 {
		attrs = map[string]*graph.Attr{"upper": graph.IntAttr(upper)}
	}
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{vi("x", x.DType, dims...)},
		Outputs:      []graph.ValueInfo{vi("y", x.DType, dims...)},
		Initializers: inits,
		Nodes:        []*graph.Node{node("tri", "Trilu", ins, []string{"y"}, attrs)},
	}
	p, err := Compile(&graph.Model{Opsets: map[string]int64{"": 14}, Graph: g}, Options{})
	if err != nil {
		return nil, err
	}
	out, err := p.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		return nil, err
	}
	return out["y"], nil
}
