package infer

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

func kindModel(opset int64, edit func(g *graph.Graph)) *graph.Model {
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: graph.Dims(tensor.Shape{1, 2})}},
		Outputs:      []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
		Initializers: map[string]*tensor.Tensor{"w": tensor.FromFloat32(tensor.Shape{2, 2}, []float32{1, 0, 0, 1})},
		Nodes:        []*graph.Node{{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
	}
	if edit != nil {
		edit(g)
	}
	return &graph.Model{IRVersion: 8, Opsets: map[string]int64{"": opset}, Graph: g}
}

// TestCompileErrorKinds: Compile's errors carry their kind, and the
// unsupported ones still match ErrUnsupported.
func TestCompileErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name        string
		m           *graph.Model
		kind        failure.Kind
		unsupported bool
		want        string
	}{
		{"opset 99", kindModel(99, nil), failure.Unsupported, true,
			"the model imports ai.onnx opset 99, newer than 25, the newest opset eightbit knows"},
		{"unknown op", kindModel(13, func(g *graph.Graph) { g.Nodes[0].OpType = "Frobnicate" }), failure.Unsupported, false, `Frobnicate ("mm")`},
		{"NaN weight", kindModel(13, func(g *graph.Graph) { g.Initializers["w"].F32[2] = float32(math.NaN()) }), failure.NonFinite, false,
			`tensor "w": 1 of 4 values are NaN or infinite`},
		{"dangling", kindModel(13, func(g *graph.Graph) { g.Nodes[0].Inputs[1] = "v" }), failure.InvalidModel, false, `reads "v"`},
		{"computed shape of 2^40", kindModel(13, func(g *graph.Graph) {
			g.Initializers["a"] = tensor.FromInt64(tensor.Shape{1}, []int64{1 << 20})
			g.Nodes = append(g.Nodes,
				&graph.Node{Name: "cat", OpType: "Concat", Inputs: []string{"a", "a"}, Outputs: []string{"s"}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: 0}}},
				&graph.Node{Name: "fill", OpType: "ConstantOfShape", Inputs: []string{"s"}, Outputs: []string{"big"}})
			g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "big", DType: tensor.Float32})
		}), failure.InvalidModel, false, `value "big" has shape [1048576 1048576], more than the limit`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.m, Options{})
			if err == nil {
				t.Fatal("compiled")
			}
			if got := failure.KindOf(err); got != tc.kind || !errors.Is(err, tc.kind) {
				t.Errorf("kind %s, want %s: %v", got, tc.kind, err)
			}
			if tc.unsupported && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%v does not match ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	if _, err := Compile(kindModel(MaxOpset, nil), Options{}); err != nil {
		t.Errorf("opset %d: %v", MaxOpset, err)
	}
	if k := failure.KindOf(unsupportedf("x")); k != failure.Unsupported {
		t.Errorf("unsupportedf kind %s", k)
	}
}
