package graph

import (
	"testing"

	"github.com/eightbitml/eightbit/tensor"
)

func TestInferShapes(t *testing.T) {
	w := tensor.New(tensor.Float32, tensor.Shape{8, 3, 3, 3})
	fc := tensor.New(tensor.Float32, tensor.Shape{10, 512})
	g := &Graph{
		Inputs: []ValueInfo{{Name: "x", DType: tensor.Float32, Shape: []Dim{{Value: -1, Param: "N"}, {Value: 3}, {Value: 32}, {Value: 32}}}},
		Initializers: map[string]*tensor.Tensor{"w": w, "fc": fc,
			"shape": tensor.FromInt64(tensor.Shape{2}, []int64{0, -1})},
		Nodes: []*Node{
			{OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]*Attr{"pads": IntsAttr(1, 1, 1, 1), "strides": IntsAttr(2, 2)}},
			{OpType: "MaxPool", Inputs: []string{"c"}, Outputs: []string{"p"}, Attrs: map[string]*Attr{"kernel_shape": IntsAttr(2, 2), "strides": IntsAttr(2, 2)}},
			{OpType: "Reshape", Inputs: []string{"p", "shape"}, Outputs: []string{"r"}},
			{OpType: "Gemm", Inputs: []string{"r", "fc"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"transB": IntAttr(1)}},
			{OpType: "Shape", Inputs: []string{"y"}, Outputs: []string{"s"}},
		},
	}
	sh := InferShapes(g, 13, nil)
	for name, want := range map[string]string{"c": "[N,8,16,16]", "p": "[N,8,8,8]", "r": "[N,512]", "y": "[N,10]", "s": "[2]"} {
		if got := sh.Values[name].ShapeString(); got != want {
			t.Errorf("%s: shape %s, want %s", name, got, want)
		}
	}
	if d := sh.Data["s"]; len(d) != 2 || d[0].Param != "N" || !d[1].Known || d[1].Value != 10 {
		t.Errorf("Shape contents %+v, want [N, 10]", d)
	}
}

// TestInferIntegerOps checks that the integer ops take the shapes of the
// float ops they compute and the types of their output zero points.
func TestInferIntegerOps(t *testing.T) {
	scalar := func(dt tensor.DType) *tensor.Tensor { return tensor.New(dt, tensor.Shape{}) }
	g := &Graph{
		Inputs: []ValueInfo{{Name: "x", DType: tensor.Uint8, Shape: []Dim{{Value: 1}, {Value: 3}, {Value: 8}, {Value: 8}}}},
		Initializers: map[string]*tensor.Tensor{
			"w": tensor.New(tensor.Int8, tensor.Shape{4, 3, 3, 3}), "b": tensor.New(tensor.Int8, tensor.Shape{256, 5}),
			"s": scalar(tensor.Float32), "zu": scalar(tensor.Uint8), "zi": scalar(tensor.Int8), "zw": scalar(tensor.Int8),
			"shape": tensor.FromInt64(tensor.Shape{2}, []int64{1, 256}),
		},
		Nodes: []*Node{
			{OpType: "QLinearConv", Inputs: []string{"x", "s", "zu", "w", "s", "zw", "s", "zi"}, Outputs: []string{"c"}, Attrs: map[string]*Attr{"pads": IntsAttr(1, 1, 1, 1)}},
			{OpType: "ConvInteger", Inputs: []string{"x", "w"}, Outputs: []string{"ci"}, Attrs: map[string]*Attr{"strides": IntsAttr(2, 2)}},
			{OpType: "QLinearGlobalAveragePool", Domain: "com.microsoft", Inputs: []string{"c", "s", "zi", "s", "zi"}, Outputs: []string{"p"}},
			{OpType: "QLinearAdd", Domain: "com.microsoft", Inputs: []string{"c", "s", "zi", "p", "s", "zi", "s"}, Outputs: []string{"a"}},
			{OpType: "Reshape", Inputs: []string{"c", "shape"}, Outputs: []string{"r"}},
			{OpType: "QLinearMatMul", Inputs: []string{"r", "s", "zi", "b", "s", "zw", "s", "zi"}, Outputs: []string{"m"}},
			{OpType: "MatMulInteger", Inputs: []string{"r", "b"}, Outputs: []string{"mi"}},
		},
	}
	sh := InferShapes(g, 13, nil)
	for name, want := range map[string]string{
		"c": "int8 [1,4,8,8]", "ci": "int32 [1,4,3,3]", "p": "int8 [1,4,1,1]", "a": "uint8 [1,4,8,8]",
		"m": "int8 [1,5]", "mi": "int32 [1,5]",
	} {
		v := sh.Values[name]
		if got := v.DType.String() + " " + v.ShapeString(); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestInferShapesNodeWithoutOutputs: a node with no outputs (which a model
// may declare) is skipped, whatever its op's rule expects.
func TestInferShapesNodeWithoutOutputs(t *testing.T) {
	g := &Graph{
		Inputs: []ValueInfo{{Name: "x", DType: tensor.Float32, Shape: []Dim{{Value: 2}, {Value: 3}}}},
		Nodes:  []*Node{},
	}
	for op := range shapeRules {
		g.Nodes = append(g.Nodes, &Node{OpType: op, Inputs: []string{"x", "x"}})
	}
	sh := InferShapes(g, 13, nil)
	if len(sh.Values) != 1 {
		t.Errorf("values %v, want only the input", sh.Values)
	}
}
