package quantize

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// The quantizer's op registry: what Quantize does with the nodes of each
// default-domain op type. An op type that is not listed has the default
// role, roleFloat. Adding an op to the quantizer is one entry in this table.

// role is what the quantizer does with a node.
type role uint8

const (
	// roleFloat (the default) keeps the node in float32: it reads the
	// DequantizeLinear of quantized inputs, and its output gets a
	// QuantizeLinear only where a quantized node reads it.
	roleFloat role = iota
	// roleWeighted nodes (Conv, Gemm, MatMul) with a float initializer as
	// weight (input 1) get an int8 weight, an int32 bias where opRole.weight
	// allows one, and Q/DQ pairs on their activation input and output.
	roleWeighted
	// rolePassThrough nodes run on the 8-bit values of their input: the
	// output reuses the quantized input's scale and zero point, which is
	// exact for data movement (Flatten, Reshape, Transpose) and for
	// monotone ops (MaxPool).
	rolePassThrough
	// roleActivation nodes (Relu, Clip) that are the only reader of a
	// weighted node's output fuse into its quantization range.
	roleActivation
	// roleConcat nodes share one set of parameters between their inputs
	// and output (the union of their ranges), so they run on 8-bit values.
	roleConcat
)

// opRole is one entry of the registry.
type opRole struct {
	role role
	// weight (roleWeighted) returns the output-channel axis of weight w of
	// node n and whether n's input 2 may be stored as an int32 bias; ok is
	// false when n is not quantized (it stays float).
	weight func(n *graph.Node, w *tensor.Tensor) (axis int, bias, ok bool, err error)
	// fusesActivation (roleWeighted): a Relu or Clip that is the only
	// reader of the output fuses into the output's quantization.
	fusesActivation bool
}

var opRoles = map[string]opRole{
	"Conv":   {role: roleWeighted, weight: convWeight, fusesActivation: true},
	"Gemm":   {role: roleWeighted, weight: gemmWeight, fusesActivation: true},
	"MatMul": {role: roleWeighted, weight: matMulWeight},

	"MaxPool":   {role: rolePassThrough},
	"Flatten":   {role: rolePassThrough},
	"Reshape":   {role: rolePassThrough},
	"Transpose": {role: rolePassThrough},

	"Relu": {role: roleActivation},
	"Clip": {role: roleActivation},

	"Concat": {role: roleConcat},

	// Add and GlobalAveragePool keep the default role: in QDQ they read
	// dequantized inputs, and where their inputs and output are quantized
	// anyway (residual adds between convolutions) the executor runs them
	// on the 8-bit values; the QOperator format writes them as
	// com.microsoft QLinearAdd and QLinearGlobalAveragePool when
	// Options.AllowContribOps is set (contribGroup).
}

// roleOf returns the registry entry of a node: the default (roleFloat)
// for op types not listed and for nodes of other domains.
func roleOf(n *graph.Node) opRole {
	if n.Domain != "" {
		return opRole{}
	}
	return opRoles[n.OpType]
}

// convWeight: Conv weights [M, C/group, k...] are quantized per output
// channel M (axis 0); the bias is 1-D over M.
func convWeight(n *graph.Node, w *tensor.Tensor) (int, bool, bool, error) {
	if len(w.Shape) < 3 {
		return 0, false, false, fmt.Errorf("quantize: %s: weight %q has shape %v, want [M, C/group, k...]", n.Label(), n.Input(1), w.Shape)
	}
	return 0, n.Input(2) != "", true, nil
}

// gemmWeight: a Gemm weight is 2-D, its output channels on axis 1 (axis 0
// with transB); the bias is stored as int32 only when alpha = beta = 1.
func gemmWeight(n *graph.Node, w *tensor.Tensor) (int, bool, bool, error) {
	if len(w.Shape) != 2 {
		return 0, false, false, fmt.Errorf("quantize: %s: weight %q has shape %v, want 2-D", n.Label(), n.Input(1), w.Shape)
	}
	axis := 1
	if n.AttrInt("transB", 0) != 0 {
		axis = 0
	}
	return axis, n.Input(2) != "" && n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1, true, nil
}

// matMulWeight: a MatMul weight [..., K, N] has its output channels on the
// last axis; a vector weight has none and stays float.
func matMulWeight(_ *graph.Node, w *tensor.Tensor) (int, bool, bool, error) {
	if len(w.Shape) < 2 {
		return 0, false, false, nil
	}
	return len(w.Shape) - 1, false, true, nil
}
