package infer

import (
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Reductions over axes, and the indices of maxima and minima.

func init() {
	register(opEntry{build: buildReduce}, "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp")
	register(opEntry{build: buildArgMax}, "ArgMax", "ArgMin")
}

func reduceKind(op string) kernels.ReduceOp {
	return map[string]kernels.ReduceOp{
		"ReduceSum": kernels.ReduceSum, "ReduceMean": kernels.ReduceMean, "ReduceMax": kernels.ReduceMax,
		"ReduceMin": kernels.ReduceMin, "ReduceProd": kernels.ReduceProd, "ReduceSumSquare": kernels.ReduceSumSquare,
		"ReduceL1": kernels.ReduceL1, "ReduceL2": kernels.ReduceL2, "ReduceLogSum": kernels.ReduceLogSum,
		"ReduceLogSumExp": kernels.ReduceLogSumExp,
	}[op]
}

// buildReduce builds the Reduce operators: the axes are an attribute,
// and an optional input from opset 18 (ReduceSum: 13).
func buildReduce(n *graph.Node, opset int64) (kernelFunc, error) {
	op := reduceKind(n.OpType)
	keep := n.AttrInt("keepdims", 1) != 0
	noop := n.AttrInt("noop_with_empty_axes", 0) != 0
	attrAxes := n.AttrInts("axes", nil)
	axesInput := (n.OpType == "ReduceSum" && opset >= 13) || opset >= 18
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		axes := attrAxes
		if axesInput {
			if axes, err = optInts(in, 1, "axes"); err != nil {
				return nil, err
			}
		}
		if x.DType == tensor.Bool {
			return nil, unsupportedf("reduction of bool")
		}
		return one(kernels.Reduce(op, x, axes, keep, noop && axesInput))
	}, nil
}

func buildArgMax(n *graph.Node, _ int64) (kernelFunc, error) {
	axis := int(n.AttrInt("axis", 0))
	keep := n.AttrInt("keepdims", 1) != 0
	last := n.AttrInt("select_last_index", 0) != 0
	isMin := n.OpType == "ArgMin"
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		return one(kernels.ArgMax(x, axis, keep, last, isMin))
	}, nil
}
