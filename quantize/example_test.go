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
	w := q.Graph.Initializers["W_quantized"]
	fmt.Println("W int8:", w.I8, "scales:", q.Graph.Initializers["W_scale"].F32)
	fmt.Println("fused:", sum.FusedActivations, "quantized:", sum.QuantizedNodes)
	// Output:
	// QuantizeLinear   [x x_scale x_zero_point] -> [x_quantized]
	// DequantizeLinear [x_quantized x_scale x_zero_point] -> [x_dequantized]
	// DequantizeLinear [W_quantized W_scale W_zero_point] -> [W_dequantized]
	// DequantizeLinear [b_quantized b_scale] -> [b_dequantized]
	// Gemm             [x_dequantized W_dequantized b_dequantized] -> [y_float]
	// QuantizeLinear   [y_float y_scale y_zero_point] -> [y_quantized]
	// DequantizeLinear [y_quantized y_scale y_zero_point] -> [y]
	// W int8: [64 -127 32 127 0 -32] scales: [0.007874016 0.015748031]
	// fused: map[Relu:1] quantized: map[Gemm:1]
}
