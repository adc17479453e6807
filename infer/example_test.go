package infer_test

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

func Example() {
	// y = Relu(x · W + b) for x of shape [N, 2] (symbolic batch).
	g := &graph.Graph{
		Inputs:  []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: []graph.Dim{{Param: "N", Value: -1}, {Value: 2}}}},
		Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
		Initializers: map[string]*tensor.Tensor{
			"W": tensor.FromFloat32(tensor.Shape{2, 2}, []float32{1, -1, 2, 1}),
			"b": tensor.FromFloat32(tensor.Shape{2}, []float32{0.5, 0}),
		},
		Nodes: []*graph.Node{
			{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"xw"}},
			{Name: "add", OpType: "Add", Inputs: []string{"xw", "b"}, Outputs: []string{"z"}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"z"}, Outputs: []string{"y"}},
		},
	}
	p, err := infer.Compile(&graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}, infer.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.FromFloat32(tensor.Shape{2, 2}, []float32{1, 1, 3, -1})
	out, err := p.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out["y"].Shape, out["y"].F32)
	// Output: [2,2] [3.5 0 1.5 0]
}
