package quantize_test

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

func Example() {
	// A one-layer model: y = Relu(x · Wᵀ + b) with W [2,3].
	g := &graph.Graph{
		Inputs:  []graph.ValueInfo{{Name: "x", DType: tensor.Float32}},
		Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
		Initializers: map[string]*tensor.Tensor{
			"W": tensor.FromFloat32(tensor.Shape{2, 3}, []float32{0.5, -1, 0.25, 2, 0, -0.5}),
			"b": tensor.FromFloat32(tensor.Shape{2}, []float32{0.1, -0.2}),
		},
		Nodes: []*graph.Node{
			{Name: "fc", OpType: "Gemm", Inputs: []string{"x", "W", "b"}, Outputs: []string{"h"},
				Attrs: map[string]*graph.Attr{"transB": graph.IntAttr(1)}},
			{Name: "relu", OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
		},
	}
	m := &graph.Model{IRVersion: 8, Opsets: map[string]int64{"": 13}, Graph: g}

	// Ranges as calibration would have observed them on Prepare(m).
	ranges := map[string]qmath.Range{"x": {Min: -1, Max: 1}, "y": {Min: 0, Max: 3}}
	q, sum, err := quantize.Quantize(m, ranges, quantize.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range q.Graph.Nodes {
		fmt.Printf("%-16s %v -> %v\n", n.OpType, n.Inputs, n.Outputs)
	}
	w := q.Graph.Initializers["w1"]
	fmt.Println("W int8:", w.I8, "scales:", q.Graph.Initializers["w1s"].F32)
	fmt.Println("fused:", sum.FusedActivations, "quantized:", sum.QuantizedNodes)
	// Output:
	// QuantizeLinear   [x s1 z1] -> [q1]
	// DequantizeLinear [q1 s1 z1] -> [d1]
	// DequantizeLinear [w1 w1s w1z] -> [w1d]
	// Mul              [s1 w1s] -> [b1s]
	// DequantizeLinear [b1 b1s] -> [b1d]
	// Gemm             [d1 w1d b1d] -> [f2]
	// QuantizeLinear   [f2 s2 z2] -> [q2]
	// DequantizeLinear [q2 s2 z2] -> [y]
	// W int8: [64 -127 32 127 0 -32] scales: [0.007874016 0.015748031]
	// fused: map[Relu:1] quantized: map[Gemm:1]
}
