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
