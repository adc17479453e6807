package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Normalizations: batch, instance and local response normalization, and
// the softmax family along an axis.

func init() {
	register(opEntry{alloc: buildBatchNorm}, "BatchNormalization")
	register(opEntry{build: buildInstanceNorm}, "InstanceNormalization")
	register(opEntry{alloc: buildLRN}, "LRN")
	register(opEntry{build: buildSoftmax}, "Softmax", "LogSoftmax")
	register(opEntry{build: buildHardmax}, "Hardmax")
}

func buildBatchNorm(n *graph.Node, opset int64) (allocKernel, error) {
	if opset >= 14 && n.AttrInt("training_mode", 0) != 0 {
		return nil, unsupportedf("training_mode=1")
	}
	if opset < 7 && n.AttrInt("is_test", 0) == 0 {
		return nil, unsupportedf("training mode (is_test=0)")
	}
	for _, o := range n.Outputs[1:] {
		if o != "" {
			return nil, unsupportedf("training outputs (running mean and variance)")
		}
	}
	eps := n.AttrFloat("epsilon", 1e-5)
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		var ts [5]*tensor.Tensor
		for i, name := range []string{"X", "scale", "B", "mean", "var"} {
			t, err := need(in, i, name)
			if err != nil {
				return nil, err
			}
			ts[i] = t
		}
		return one(kernels.BatchNormWith(al, ts[0], ts[1], ts[2], ts[3], ts[4], eps))
	}, nil
}

func buildInstanceNorm(n *graph.Node, _ int64) (kernelFunc, error) {
	eps := n.AttrFloat("epsilon", 1e-5)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, s, err := need2(in, "input", "scale")
		if err != nil {
			return nil, err
		}
		b, err := need(in, 2, "B")
		if err != nil {
			return nil, err
		}
		return one(kernels.InstanceNorm(x, s, b, eps))
	}, nil
}

func buildLRN(n *graph.Node, _ int64) (allocKernel, error) {
	size := int(n.AttrInt("size", 0))
	alpha, beta, bias := n.AttrFloat("alpha", 1e-4), n.AttrFloat("beta", 0.75), n.AttrFloat("bias", 1)
	if size < 1 {
		return nil, fmt.Errorf("size %d", size)
	}
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "X")
		if err != nil {
			return nil, err
		}
		return one(kernels.LRNWith(al, x, size, alpha, beta, bias))
	}, nil
}

// buildSoftmax builds Softmax and LogSoftmax: before opset 13 the input is
// coerced to 2-D at axis (default 1), from 13 on the axis (default -1) is
// a single dimension.
func buildSoftmax(n *graph.Node, opset int64) (kernelFunc, error) {
	def := int64(1)
	if opset >= 13 {
		def = -1
	}
	axis := int(n.AttrInt("axis", def))
	log := n.OpType == "LogSoftmax"
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		return one(kernels.Softmax(x, axis, opset < 13, log))
	}, nil
}

func buildHardmax(n *graph.Node, opset int64) (kernelFunc, error) {
	def := int64(1)
	if opset >= 13 {
		def = -1
	}
	axis := int(n.AttrInt("axis", def))
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		if opset < 13 {
			// Coerced to 2-D: the maximum over all dims from axis.
			r := len(x.Shape)
			a := axis
			if a < 0 {
				a += r
			}
			if a < 0 || a > r {
				return nil, fmt.Errorf("axis %d out of range", axis)
			}
			flat, err := x.Reshaped(tensor.Shape{x.Shape[:a].Size(), x.Shape[a:].Size()})
			if err != nil {
				return nil, err
			}
			y, err := kernels.Hardmax(flat, 1)
			if err != nil {
				return nil, err
			}
			return one(y.Reshaped(x.Shape))
		}
		return one(kernels.Hardmax(x, axis))
	}, nil
}
