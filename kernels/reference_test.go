package kernels

import (
	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/tensor"
)

// The tensor-level definitions the engine tests compare with: argument
// checks as the engines do them, then the loops of package reference.

// qconvReference is the integer convolution (ONNX QLinearConv) of
// reference.ConvAcc requantized by reference.Requantize, channel m.
func qconvReference(x, w *tensor.Tensor, bias []int32, p QConvParams) (*tensor.Tensor, error) {
	g, group, err := qconvSetup(x, w, bias, &p, true)
	if err != nil {
		return nil, err
	}
	M := w.Shape[0]
	acc := reference.ConvAcc(&g.Window, group, x, w, bias, p.XZeroPoint, p.WZeroPoint)
	y := tensor.New(p.outType(), g.OutShape(M))
	P := g.OH * g.OW
	lo, hi := p.bounds()
	reference.Requantize(y, acc, func(i int) int { return (i / P) % M }, p.Multiplier, p.ZeroPoint, lo, hi)
	return y, nil
}

// convIntegerReference is ONNX ConvInteger: reference.ConvAcc without bias
// or requantization.
func convIntegerReference(x, w *tensor.Tensor, p QConvParams) (*tensor.Tensor, error) {
	g, group, err := qconvSetup(x, w, nil, &p, false)
	if err != nil {
		return nil, err
	}
	acc := reference.ConvAcc(&g.Window, group, x, w, nil, p.XZeroPoint, p.WZeroPoint)
	return tensor.FromInt32(g.OutShape(w.Shape[0]), acc), nil
}

// qmatmulReference is the integer product (ONNX QLinearMatMul) of
// reference.MatMulAcc requantized by reference.Requantize, channel j.
func qmatmulReference(a, b *tensor.Tensor, transB bool, bias []int32, p QGemmParams) (*tensor.Tensor, error) {
	m, k, n, out, err := qgemmSetup(a, b, transB, bias, &p, true)
	if err != nil {
		return nil, err
	}
	acc := reference.MatMulAcc(a, b, transB, m, k, n, bias, p.AZeroPoint, p.BZeroPoint)
	y := tensor.New(p.outType(), out)
	lo, hi := p.bounds()
	reference.Requantize(y, acc, func(i int) int { return i % n }, p.Multiplier, p.ZeroPoint, lo, hi)
	return y, nil
}

// matmulIntegerReference is ONNX MatMulInteger for a 2-D B:
// reference.MatMulAcc without bias or requantization.
func matmulIntegerReference(a, b *tensor.Tensor, p QGemmParams) (*tensor.Tensor, error) {
	m, k, n, out, err := qgemmSetup(a, b, false, nil, &p, false)
	if err != nil {
		return nil, err
	}
	return tensor.FromInt32(out, reference.MatMulAcc(a, b, false, m, k, n, nil, p.AZeroPoint, p.BZeroPoint)), nil
}

// store8 writes v (already in range) to element i of an 8-bit tensor.
func store8(t *tensor.Tensor, i int, v int32) {
	if t.DType == tensor.Int8 {
		t.I8[i] = int8(v)
	} else {
		t.U8[i] = uint8(v)
	}
}
