package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// The quantized operators of ONNX Runtime's com.microsoft domain (the
// QOperator format with contrib ops), with ONNX Runtime's x86-64
// arithmetic (see kernels.QAdd and qgap). With Options.Integer they are
// 8-bit steps.

func init() {
	registerDomain(msDomain, opEntry{build: buildQLinearAdd, qkind: kindUint8}, "QLinearAdd")
	registerDomain(msDomain, opEntry{build: buildQLinearGlobalAveragePool, qkind: kindUint8}, "QLinearGlobalAveragePool")
}

// contribParams reads the scalar scale and optional zero point at inputs i
// and i+1 of a tensor of type dt.
func contribParams(in []*tensor.Tensor, i int, dt tensor.DType, what string) (qmath.Params, error) {
	s, err := need(in, i, what+" scale")
	if err != nil {
		return qmath.Params{}, err
	}
	if s.DType != tensor.Float32 || s.Len() != 1 || !(s.F32[0] > 0) {
		return qmath.Params{}, fmt.Errorf("%s scale must be one positive float32", what)
	}
	zp, err := zeroPointScalar(opt(in, i+1), dt)
	return qmath.Params{Scale: s.F32[0], ZeroPoint: zp}, err
}

// eightBit checks that t is a uint8 or int8 tensor.
func eightBit(t *tensor.Tensor) error {
	if t.DType != tensor.Uint8 && t.DType != tensor.Int8 {
		return fmt.Errorf("want uint8 or int8, have %v", t.DType)
	}
	return nil
}

// buildQLinearAdd builds QLinearAdd (A, A_scale, A_zero_point, B, B_scale,
// B_zero_point, C_scale, C_zero_point; numpy broadcasting).
func buildQLinearAdd(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		a, err := need(in, 0, "A")
		if err != nil {
			return nil, err
		}
		b, err := need(in, 3, "B")
		if err != nil {
			return nil, err
		}
		if err := eightBit(a); err != nil {
			return nil, err
		}
		if b.DType != a.DType {
			return nil, fmt.Errorf("A is %v, B %v", a.DType, b.DType)
		}
		pa, err := contribParams(in, 1, a.DType, "A")
		if err != nil {
			return nil, err
		}
		pb, err := contribParams(in, 4, a.DType, "B")
		if err != nil {
			return nil, err
		}
		pc, err := contribParams(in, 6, a.DType, "C")
		if err != nil {
			return nil, err
		}
		shape, err := kernels.BroadcastShape(a.Shape, b.Shape)
		if err != nil {
			return nil, err
		}
		var ia, ib []int
		if !a.Shape.Equal(shape) {
			if ia, err = kernels.BroadcastIndex(a.Shape, shape); err != nil {
				return nil, err
			}
		}
		if !b.Shape.Equal(shape) {
			if ib, err = kernels.BroadcastIndex(b.Shape, shape); err != nil {
				return nil, err
			}
		}
		lo, hi := qbounds(a.DType)
		return one(qadd(a, b, shape, ia, ib, kernels.NewQAdd(pa, pb, pc, lo, hi, a.DType == tensor.Int8)), nil)
	}, nil
}

// buildQLinearGlobalAveragePool builds QLinearGlobalAveragePool (X,
// x_scale, x_zero_point, y_scale, y_zero_point; NCHW only).
func buildQLinearGlobalAveragePool(n *graph.Node, _ int64) (kernelFunc, error) {
	if n.AttrInt("channels_last", 0) != 0 {
		return nil, unsupportedf("channels_last")
	}
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if err := eightBit(x); err != nil {
			return nil, err
		}
		if len(x.Shape) < 3 {
			return nil, fmt.Errorf("want X of rank >= 3, have %v", x.Shape)
		}
		px, err := contribParams(in, 1, x.DType, "x")
		if err != nil {
			return nil, err
		}
		py, err := contribParams(in, 3, x.DType, "y")
		if err != nil {
			return nil, err
		}
		return one(qgap(x, px, py, false), nil)
	}, nil
}
