package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// buildAllocOp prepares the kernels of the hot operators, which take their
// output memory from an arena (see arena.go). ok reports whether n is one
// of them; err is an attribute error as in buildOp.
func buildAllocOp(n *graph.Node, opset int64) (k allocKernel, ok bool, err error) {
	switch n.OpType {
	case "QLinearConv":
		if !isDefaultDomain(n.Domain) {
			return nil, false, nil // com.microsoft's variant: buildOp
		}
		return buildQLinearConv(n), true, nil
	case "QLinearMatMul":
		if !isDefaultDomain(n.Domain) {
			return nil, false, nil
		}
		return buildQLinearMatMul(), true, nil
	case "Conv":
		p := convParams(n)
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, w, err := need2(in, "X", "W")
			if err != nil {
				return nil, err
			}
			return one(kernels.ConvWith(al, x, w, opt(in, 2), p))
		}, true, nil
	case "BatchNormalization":
		if opset >= 14 && n.AttrInt("training_mode", 0) != 0 {
			return nil, true, unsupportedf("training_mode=1")
		}
		if opset < 7 && n.AttrInt("is_test", 0) == 0 {
			return nil, true, unsupportedf("training mode (is_test=0)")
		}
		for _, o := range n.Outputs[1:] {
			if o != "" {
				return nil, true, unsupportedf("training outputs (running mean and variance)")
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
		}, true, nil
	case "Gemm":
		ta, tb := n.AttrInt("transA", 0) != 0, n.AttrInt("transB", 0) != 0
		alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			a, b, err := need2(in, "A", "B")
			if err != nil {
				return nil, err
			}
			return one(kernels.GemmOpWith(al, a, b, opt(in, 2), ta, tb, alpha, beta))
		}, true, nil
	case "MatMul":
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			a, b, err := need2(in, "A", "B")
			if err != nil {
				return nil, err
			}
			return one(kernels.MatMulWith(al, a, b))
		}, true, nil
	case "Add", "Sub", "Mul", "Div":
		// Before opset 7, B broadcasts only with broadcast=1, aligned at
		// axis (default: trailing dimensions, as numpy).
		legacyAxis, hasAxis := -1, false
		if opset < 7 && n.AttrInt("broadcast", 0) != 0 {
			if a, ok := n.Attrs["axis"]; ok && a.Type == graph.AttrInt {
				legacyAxis, hasAxis = int(a.I), true
			}
		}
		op := map[string]kernels.BinaryOp{"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv}[n.OpType]
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			a, b, err := need2(in, "A", "B")
			if err != nil {
				return nil, err
			}
			if hasAxis {
				ax := legacyAxis
				if ax < 0 {
					ax += len(a.Shape)
				}
				if ax < 0 || ax+len(b.Shape) > len(a.Shape) {
					return nil, fmt.Errorf("B of shape %v does not fit A of shape %v at axis %d", b.Shape, a.Shape, legacyAxis)
				}
				s := append(b.Shape.Clone(), make(tensor.Shape, len(a.Shape)-ax-len(b.Shape))...)
				for i := len(b.Shape); i < len(s); i++ {
					s[i] = 1
				}
				if b, err = b.Reshaped(s); err != nil {
					return nil, err
				}
			}
			if a.DType != b.DType {
				return nil, fmt.Errorf("input types %v and %v differ", a.DType, b.DType)
			}
			if a.DType == tensor.Bool {
				return nil, unsupportedf("%s of bool", n.OpType)
			}
			return one(kernels.BinaryWith(al, op, a, b))
		}, true, nil
	case "Relu":
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "X")
			if err != nil {
				return nil, err
			}
			return one(kernels.ReluWith(al, x))
		}, true, nil
	case "Clip":
		attrLo := n.AttrFloat("min", float32(math.Inf(-1)))
		attrHi := n.AttrFloat("max", float32(math.Inf(1)))
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "input")
			if err != nil {
				return nil, err
			}
			lo, hi := attrLo, attrHi
			if opset >= 11 && x.DType != tensor.Float32 {
				return one(kernels.ClipAny(x, opt(in, 1), opt(in, 2)))
			}
			if opset >= 11 {
				if lo, err = scalarFloat(opt(in, 1), float32(math.Inf(-1))); err != nil {
					return nil, fmt.Errorf("min: %w", err)
				}
				if hi, err = scalarFloat(opt(in, 2), float32(math.Inf(1))); err != nil {
					return nil, fmt.Errorf("max: %w", err)
				}
			}
			return one(kernels.ClipWith(al, x, lo, hi))
		}, true, nil
	case "MaxPool", "AveragePool":
		withIndices := n.OpType == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != ""
		storageOrder := int(n.AttrInt("storage_order", 0))
		p := kernels.PoolParams{ConvParams: convParams(n), CountIncludePad: n.AttrInt("count_include_pad", 0) != 0}
		if len(p.KernelShape) == 0 {
			return nil, true, fmt.Errorf("missing kernel_shape")
		}
		maxPool := n.OpType == "MaxPool"
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "X")
			if err != nil {
				return nil, err
			}
			if withIndices {
				y, idx, err := kernels.PoolND(x, p, true, true, storageOrder)
				if err != nil {
					return nil, err
				}
				return []*tensor.Tensor{y, idx}, nil
			}
			if maxPool {
				return one(kernels.MaxPoolWith(al, x, p))
			}
			return one(kernels.AveragePoolWith(al, x, p))
		}, true, nil
	case "LRN":
		size := int(n.AttrInt("size", 0))
		alpha, beta, bias := n.AttrFloat("alpha", 1e-4), n.AttrFloat("beta", 0.75), n.AttrFloat("bias", 1)
		if size < 1 {
			return nil, true, fmt.Errorf("size %d", size)
		}
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "X")
			if err != nil {
				return nil, err
			}
			return one(kernels.LRNWith(al, x, size, alpha, beta, bias))
		}, true, nil
	case "Transpose":
		perm := n.AttrInts("perm", nil)
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "data")
			if err != nil {
				return nil, err
			}
			return one(kernels.TransposeWith(al, x, perm))
		}, true, nil
	case "Concat":
		axis := int(n.AttrInt("axis", 0))
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			xs := make([]*tensor.Tensor, 0, len(in))
			for _, t := range in {
				if t != nil {
					xs = append(xs, t)
				}
			}
			return one(kernels.ConcatWith(al, xs, axis))
		}, true, nil
	case "GlobalAveragePool":
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "X")
			if err != nil {
				return nil, err
			}
			return one(kernels.GlobalAveragePoolWith(al, x))
		}, true, nil
	case "QuantizeLinear", "DequantizeLinear":
		axis := int(n.AttrInt("axis", 1))
		if n.AttrInt("block_size", 0) != 0 {
			return nil, true, unsupportedf("blocked quantization")
		}
		q := n.OpType == "QuantizeLinear"
		return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
			x, s, err := need2(in, "x", "scale")
			if err != nil {
				return nil, err
			}
			if q {
				return one(kernels.QuantizeLinearWith(al, x, s, opt(in, 2), axis))
			}
			return one(kernels.DequantizeLinearWith(al, x, s, opt(in, 2), axis))
		}, true, nil
	}
	return nil, false, nil
}
