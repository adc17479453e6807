package kernels

import (
	"fmt"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// The element-wise integer operators. Each has a 256-entry table per
// input, so the exact float32 formula below is evaluated once per possible
// byte value and the tensor is then mapped by table look-up.

// LUT is a 256-entry table mapping a uint8 value to a uint8 value.
type LUT [256]uint8

// NewLUT tabulates a real function f for uint8 input parameters in and
// output parameters out:
//
//	table[q] = QuantizeLinear(f(DequantizeLinear(q, in)), out)
//
// (float32 arithmetic, round half to even, saturate to [0, 255]). Use it
// for Sigmoid, Tanh, HardSwish, Exp, ... on quantized tensors.
func NewLUT(f func(float32) float32, in, out qmath.Params) *LUT {
	var t LUT
	for q := range t {
		t[q] = qmath.QuantizeUint8(f(qmath.Dequantize(int32(q), in)), out)
	}
	return &t
}

// Apply maps every element of a uint8 tensor through the table.
func (t *LUT) Apply(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != tensor.Uint8 {
		return nil, fmt.Errorf("LUT: want uint8, have %v", x.DType)
	}
	y := tensor.New(tensor.Uint8, x.Shape)
	for i, v := range x.U8 {
		y.U8[i] = t[v]
	}
	return y, nil
}

// QLinearAdd adds uint8 tensors with their own parameters (numpy
// broadcasting), as ONNX Runtime's QLinearAdd does, in float32:
//
//	y = saturate(round_half_even(float32(a − za)·(sa/sy) + float32(b − zb)·(sb/sy)) + zy)
func QLinearAdd(a *tensor.Tensor, pa qmath.Params, b *tensor.Tensor, pb qmath.Params, py qmath.Params) (*tensor.Tensor, error) {
	var ta, tb [256]float32
	ra, rb := pa.Scale/py.Scale, pb.Scale/py.Scale
	for q := range ta {
		ta[q] = float32(int32(q)-pa.ZeroPoint) * ra
		tb[q] = float32(int32(q)-pb.ZeroPoint) * rb
	}
	return qbinary(a, b, func(x, y uint8) uint8 {
		return uint8(qmath.Requantize(1, ta[x]+tb[y], py.ZeroPoint, 0, 255))
	})
}

// QLinearMul multiplies uint8 tensors with their own parameters (numpy
// broadcasting), as ONNX Runtime's QLinearMul does:
//
//	y = saturate(round_half_even(float32((a − za)·(b − zb)) · (sa·sb/sy)) + zy)
func QLinearMul(a *tensor.Tensor, pa qmath.Params, b *tensor.Tensor, pb qmath.Params, py qmath.Params) (*tensor.Tensor, error) {
	m := pa.Scale * pb.Scale / py.Scale
	return qbinary(a, b, func(x, y uint8) uint8 {
		return uint8(qmath.Requantize((int32(x)-pa.ZeroPoint)*(int32(y)-pb.ZeroPoint), m, py.ZeroPoint, 0, 255))
	})
}

func qbinary(a, b *tensor.Tensor, f func(x, y uint8) uint8) (*tensor.Tensor, error) {
	if a.DType != tensor.Uint8 || b.DType != tensor.Uint8 {
		return nil, fmt.Errorf("want uint8 operands, have %v and %v", a.DType, b.DType)
	}
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ia, err := BroadcastIndex(a.Shape, shape)
	if err != nil {
		return nil, err
	}
	ib, err := BroadcastIndex(b.Shape, shape)
	if err != nil {
		return nil, err
	}
	y := tensor.New(tensor.Uint8, shape)
	for i := range y.U8 {
		y.U8[i] = f(a.U8[ia[i]], b.U8[ib[i]])
	}
	return y, nil
}

// QConcat concatenates uint8 tensors along axis, requantizing each input to
// the output parameters (ONNX Runtime's QLinearConcat): every input value
// becomes
//
//	QuantizeLinear(DequantizeLinear(x, p_i), py)
//
// through a 256-entry table (the identity when p_i == py).
func QConcat(xs []*tensor.Tensor, ps []qmath.Params, py qmath.Params, axis int) (*tensor.Tensor, error) {
	if len(xs) != len(ps) || len(xs) == 0 {
		return nil, fmt.Errorf("QConcat: %d inputs, %d parameter sets", len(xs), len(ps))
	}
	mapped := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		if x.DType != tensor.Uint8 {
			return nil, fmt.Errorf("QConcat: input %d is %v, want uint8", i, x.DType)
		}
		if ps[i] == py {
			mapped[i] = x
			continue
		}
		t := NewLUT(func(v float32) float32 { return v }, ps[i], py)
		y, _ := t.Apply(x)
		mapped[i] = y
	}
	return Concat(mapped, axis)
}

// QAveragePool averages a uint8 NCHW tensor over pooling windows with
// input parameters px and output parameters py:
//
//	S = Σ (x − zx) over the window's input taps   (padding taps add 0)
//	y = saturate(round_half_even(float32(S) · (sx / sy / count)) + zy)
//
// with the multiplier computed in float32 in that order; count is the
// number of input taps, or the full window size with CountIncludePad.
func QAveragePool(x *tensor.Tensor, px, py qmath.Params, p PoolParams) (*tensor.Tensor, error) {
	if x.DType != tensor.Uint8 {
		return nil, fmt.Errorf("QAveragePool: want uint8, have %v", x.DType)
	}
	g, err := ResolveGeometry(x.Shape, p.KernelShape, p.ConvParams)
	if err != nil {
		return nil, err
	}
	y := tensor.New(tensor.Uint8, g.OutShape(g.C))
	i := 0
	for nc := 0; nc < g.N*g.C; nc++ {
		plane := x.U8[nc*g.H*g.W : (nc+1)*g.H*g.W]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				var s, cnt int32
				for kh := 0; kh < g.KH; kh++ {
					ih := oh*g.SH - g.PadT + kh*g.DH
					for kw := 0; kw < g.KW; kw++ {
						iw := ow*g.SW - g.PadL + kw*g.DW
						if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
							s += int32(plane[ih*g.W+iw]) - px.ZeroPoint
							cnt++
						}
					}
				}
				if p.CountIncludePad {
					cnt = int32(g.KH * g.KW)
				}
				m := float32(0)
				if cnt > 0 {
					m = px.Scale / py.Scale / float32(cnt)
				}
				y.U8[i] = uint8(qmath.Requantize(s, m, py.ZeroPoint, 0, 255))
				i++
			}
		}
	}
	return y, nil
}

// QGlobalAveragePool is QAveragePool over the whole spatial extent
// (count = H·W).
func QGlobalAveragePool(x *tensor.Tensor, px, py qmath.Params) (*tensor.Tensor, error) {
	if x.DType != tensor.Uint8 || len(x.Shape) < 3 {
		return nil, fmt.Errorf("QGlobalAveragePool: want uint8 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	hw := x.Shape[2:].Size()
	nc := x.Shape[0] * x.Shape[1]
	shape := x.Shape.Clone()
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	y := tensor.New(tensor.Uint8, shape)
	m := px.Scale / py.Scale / float32(hw)
	for i := 0; i < nc; i++ {
		var s int32
		for _, v := range x.U8[i*hw : (i+1)*hw] {
			s += int32(v) - px.ZeroPoint
		}
		y.U8[i] = uint8(qmath.Requantize(s, m, py.ZeroPoint, 0, 255))
	}
	return y, nil
}
