package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// This file holds the helpers the operator family files (ops_*.go, see
// registry.go) share.

// kernelFunc runs one operator. Absent optional inputs are nil. Kernels
// never modify their inputs; outputs may share an input's data (views).
type kernelFunc func(in []*tensor.Tensor) ([]*tensor.Tensor, error)

func one(t *tensor.Tensor, err error) ([]*tensor.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func need(in []*tensor.Tensor, i int, what string) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("missing input %d (%s)", i, what)
	}
	return in[i], nil
}

// need2 returns the required inputs 0 and 1, named for errors.
func need2(in []*tensor.Tensor, name0, name1 string) (*tensor.Tensor, *tensor.Tensor, error) {
	a, err := need(in, 0, name0)
	if err != nil {
		return nil, nil, err
	}
	b, err := need(in, 1, name1)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

func opt(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func toInts(v []int64) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func convParams(n *graph.Node) kernels.ConvParams {
	return kernels.ConvParams{
		KernelShape: toInts(n.AttrInts("kernel_shape", nil)),
		Strides:     toInts(n.AttrInts("strides", nil)),
		Dilations:   toInts(n.AttrInts("dilations", nil)),
		Pads:        toInts(n.AttrInts("pads", nil)),
		AutoPad:     n.AttrString("auto_pad", "NOTSET"),
		Group:       int(n.AttrInt("group", 1)),
		CeilMode:    n.AttrInt("ceil_mode", 0) != 0,
	}
}

// scalarFloat reads a one-element float tensor (or returns def for nil).
func scalarFloat(t *tensor.Tensor, def float32) (float32, error) {
	if t == nil {
		return def, nil
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("want a scalar, have shape %v", t.Shape)
	}
	return float32(t.Float64At(0)), nil
}

func intsInput(t *tensor.Tensor, what string) ([]int64, error) {
	v, err := t.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// in0 is the common preamble of single-input kernels.
func in0(in []*tensor.Tensor) (*tensor.Tensor, error) { return need(in, 0, "X") }

// nonNil returns the present inputs.
func nonNil(in []*tensor.Tensor) []*tensor.Tensor {
	var xs []*tensor.Tensor
	for _, t := range in {
		if t != nil {
			xs = append(xs, t)
		}
	}
	return xs
}

// optInts reads an optional integer input (nil when absent).
func optInts(in []*tensor.Tensor, i int, what string) ([]int64, error) {
	t := opt(in, i)
	if t == nil {
		return nil, nil
	}
	return intsInput(t, what)
}
