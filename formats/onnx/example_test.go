package onnx_test

import (
	"fmt"
	"log"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Build a one-node model, write it as ONNX bytes and read it back.
func Example() {
	m := &graph.Model{
		ProducerName: "example",
		Opsets:       map[string]int64{"": 13},
		Graph: &graph.Graph{
			Name: "scale",
			Inputs: []graph.ValueInfo{{Name: "x", DType: tensor.Float32,
				Shape: []graph.Dim{{Value: -1, Param: "batch"}, {Value: 2}}}},
			Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
			Initializers: map[string]*tensor.Tensor{
				"k": tensor.FromFloat32(tensor.Shape{2}, []float32{0.5, 2}),
			},
			Nodes: []*graph.Node{{Name: "mul", OpType: "Mul", Inputs: []string{"x", "k"}, Outputs: []string{"y"}}},
		},
	}
	data, err := onnx.Encode(m)
	if err != nil {
		log.Fatal(err)
	}
	back, err := onnx.Decode(data)
	if err != nil {
		log.Fatal(err)
	}
	g := back.Graph
	fmt.Println("IR version:", back.IRVersion, "opset:", back.Opset())
	fmt.Println("input:", g.Inputs[0].Name, g.Inputs[0].ShapeString())
	fmt.Println("constant k:", g.Initializers["k"].F32)
	fmt.Println("node:", g.Nodes[0].Label())
	// Output:
	// IR version: 8 opset: 13
	// input: x [batch,2]
	// constant k: [0.5 2]
	// node: Mul "mul"
}
