package graph

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

// smallGraph is y = Relu(MatMul(x, w)) with w of 2×3.
func smallGraph() *Graph {
	return &Graph{
		Inputs:  []ValueInfo{{Name: "x", DType: tensor.Float32, Shape: Dims(tensor.Shape{1, 2})}},
		Outputs: []ValueInfo{{Name: "y", DType: tensor.Float32}},
		Initializers: map[string]*tensor.Tensor{
			"w": tensor.FromFloat32(tensor.Shape{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		},
		Nodes: []*Node{
			{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
		},
	}
}

// TestValidateKinds: every validation error has a kind and names what it
// is about.
func TestValidateKinds(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name   string
		edit   func(g *Graph)
		limits Limits
		kind   failure.Kind
		want   string
	}{
		{"valid", func(g *Graph) {}, Limits{}, "", ""},
		{"dangling input", func(g *Graph) { g.Nodes[1].Inputs[0] = "ghost" }, Limits{}, failure.InvalidModel, `Relu "relu" reads "ghost"`},
		{"cycle", func(g *Graph) { g.Nodes[0].Inputs[0] = "y" }, Limits{}, failure.InvalidModel, "cycle"},
		{"two producers", func(g *Graph) { g.Nodes[1].Outputs[0] = "h" }, Limits{}, failure.InvalidModel, `value "h" is written by both`},
		{"output not produced", func(g *Graph) { g.Outputs[0].Name = "z" }, Limits{}, failure.InvalidModel, `graph output "z"`},
		{"initializer size", func(g *Graph) { g.Initializers["w"].Shape = tensor.Shape{3, 3} }, Limits{}, failure.InvalidModel, `initializer "w"`},
		{"initializer type", func(g *Graph) { g.Initializers["w"].DType = 8 }, Limits{}, failure.Unsupported, `initializer "w"`},
		{"NaN weight", func(g *Graph) { g.Initializers["w"].F32[1] = nan }, Limits{}, failure.NonFinite, `tensor "w": 1 of 6 values are NaN or infinite`},
		{"NaN and Inf weights", func(g *Graph) {
			g.Initializers["w"].F32[1], g.Initializers["w"].F32[4] = nan, -inf
			g.Initializers["v"] = tensor.FromFloat32(tensor.Shape{1}, []float32{inf})
		}, Limits{}, failure.NonFinite, `tensor "v": 1 of 1 values are NaN or infinite (and 1 more tensors`},
		{"Inf constant", func(g *Graph) {
			g.Nodes = append(g.Nodes, &Node{Name: "c", OpType: "Constant", Outputs: []string{"k"},
				Attrs: map[string]*Attr{"value": {Type: AttrTensor, T: tensor.FromFloat32(tensor.Shape{2}, []float32{1, inf})}}})
		}, Limits{}, failure.NonFinite, `tensor "k" (value of Constant "c"): 1 of 2 values`},
		{"NaN value_floats", func(g *Graph) {
			g.Nodes = append(g.Nodes, &Node{OpType: "Constant", Outputs: []string{"k"},
				Attrs: map[string]*Attr{"value_floats": {Type: AttrFloats, Floats: []float32{nan, nan, 0}}}})
		}, Limits{}, failure.NonFinite, `tensor "k" (value of Constant (output "k")): 2 of 3 values`},
		{"too many nodes", func(g *Graph) {}, Limits{MaxNodes: 1}, failure.InvalidModel, "graph has 2 nodes, more than the limit of 1"},
		{"initializer too large", func(g *Graph) {}, Limits{MaxElements: 5}, failure.InvalidModel, `initializer "w" has shape [2 3], more than the limit of 5 elements`},
		{"declared shape of 2^40", func(g *Graph) {
			g.Inputs[0].Shape = Dims(tensor.Shape{1 << 20, 1 << 20})
		}, Limits{}, failure.InvalidModel, `graph input "x" has shape [1048576 1048576]`},
		{"declared shape overflowing int64", func(g *Graph) {
			g.Outputs[0].Shape = []Dim{{Value: 1 << 62}, {Value: 1 << 62}, {Value: 16}}
		}, Limits{}, failure.InvalidModel, `graph output "y" has shape`},
		{"zero-size declared shape", func(g *Graph) {
			g.Outputs[0].Shape = []Dim{{Value: 1 << 62}, {Value: 0}}
		}, Limits{}, "", ""},
		{"ConstantOfShape of 2^40", func(g *Graph) {
			g.Initializers["s"] = tensor.FromInt64(tensor.Shape{2}, []int64{1 << 20, 1 << 20})
			g.Nodes = append(g.Nodes, &Node{Name: "fill", OpType: "ConstantOfShape", Inputs: []string{"s"}, Outputs: []string{"f"}})
		}, Limits{}, failure.InvalidModel, `the output of ConstantOfShape "fill" has shape [1048576 1048576]`},
		{"list attribute too long", func(g *Graph) {
			g.Nodes[1].Attrs = map[string]*Attr{"junk": {Type: AttrInts, Ints: make([]int64, 11)}}
		}, Limits{MaxAttrElements: 10}, failure.InvalidModel, `Relu "relu" attribute "junk" has 11 elements`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := smallGraph()
			tc.edit(g)
			err := g.ValidateLimits(tc.limits)
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s %q", tc.kind, tc.want)
			}
			if got := failure.KindOf(err); got != tc.kind || !errors.Is(err, tc.kind) {
				t.Errorf("kind %s, want %s (%v)", got, tc.kind, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestNonFiniteErrorAs(t *testing.T) {
	g := smallGraph()
	g.Initializers["w"].F32[0] = float32(math.Inf(-1))
	var nf *NonFiniteError
	if err := g.Validate(); !errors.As(err, &nf) || nf.Tensor != "w" || nf.Count != 1 || nf.Total != 6 {
		t.Fatalf("Validate = %v, want a *NonFiniteError for w", err)
	}
}

func TestCheckShapeLimits(t *testing.T) {
	s := &Shapes{Values: map[string]ValueInfo{
		"ok":   {Name: "ok", Shape: Dims(tensor.Shape{10, 10})},
		"sym":  {Name: "sym", Shape: []Dim{{Value: -1, Param: "N"}, {Value: 1 << 40}}},
		"huge": {Name: "huge", Shape: Dims(tensor.Shape{1 << 30, 1 << 30})},
	}}
	err := s.CheckShapeLimits(Limits{})
	if failure.KindOf(err) != failure.InvalidModel || !strings.Contains(err.Error(), `value "huge"`) {
		t.Fatalf("CheckShapeLimits = %v", err)
	}
	delete(s.Values, "huge")
	if err := s.CheckShapeLimits(Limits{}); err != nil {
		t.Fatal(err)
	}
}
