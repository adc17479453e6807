package kernels

import (
	"fmt"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// quantAxis returns, for per-tensor (one scale) or per-axis (scale length =
// dim[axis]) quantization of shape, the channel count and the number of
// elements that share one channel in a row (inner size); per-tensor returns
// channels 1.
func quantAxis(shape tensor.Shape, nscale, axis int) (channels, inner int, err error) {
	if nscale == 1 {
		return 1, shape.Size(), nil
	}
	ax, err := normAxis(axis, len(shape))
	if err != nil {
		return 0, 0, err
	}
	if shape[ax] != nscale {
		return 0, 0, fmt.Errorf("%d scales for axis %d of shape %v", nscale, ax, shape)
	}
	return nscale, shape[ax+1:].Size(), nil
}

func zeroPoints(zp *tensor.Tensor, n int) ([]int32, error) {
	out := make([]int32, n)
	if zp == nil {
		return out, nil
	}
	v, err := zp.Int64s()
	if err != nil {
		return nil, err
	}
	if len(v) != n {
		return nil, fmt.Errorf("%d zero points, want %d", len(v), n)
	}
	for i, x := range v {
		out[i] = int32(x)
	}
	return out, nil
}

// QuantizeLinear computes ONNX QuantizeLinear of float32 x:
//
//	y = saturate(round_half_even(x / scale) + zero_point)
//
// (qmath.QuantizeUint8 / QuantizeInt8). scale and zeroPoint hold one value
// (per tensor) or one per index of axis (per axis). The output type is the
// zero point's type, uint8 when zeroPoint is nil.
func QuantizeLinear(x, scale, zeroPoint *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	return QuantizeLinearWith(nil, x, scale, zeroPoint, axis)
}

// QuantizeLinearWith is QuantizeLinear with the output taken from a.
func QuantizeLinearWith(a Alloc, x, scale, zeroPoint *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || scale.DType != tensor.Float32 {
		return nil, fmt.Errorf("QuantizeLinear: want float32 input and scale, have %v and %v", x.DType, scale.DType)
	}
	out := tensor.Uint8
	if zeroPoint != nil {
		out = zeroPoint.DType
	}
	if out != tensor.Uint8 && out != tensor.Int8 {
		return nil, fmt.Errorf("QuantizeLinear: unsupported output type %v", out)
	}
	ch, inner, err := quantAxis(x.Shape, scale.Len(), axis)
	if err != nil {
		return nil, fmt.Errorf("QuantizeLinear: %w", err)
	}
	zps, err := zeroPoints(zeroPoint, scale.Len())
	if err != nil {
		return nil, fmt.Errorf("QuantizeLinear: %w", err)
	}
	y := newOut(a, out, x.Shape)
	yb := y.U8
	if out == tensor.Int8 {
		yb = int8Bytes(y.I8)
	}
	// One row per run of values that share a scale (the whole tensor per
	// tensor).
	for i := 0; inner > 0 && i < len(yb); i += inner {
		c := (i / inner) % ch
		quantizeRow(yb[i:i+inner], x.F32[i:i+inner], newQuantRow(qmath.Params{Scale: scale.F32[c], ZeroPoint: zps[c]}, out == tensor.Int8))
	}
	return y, nil
}

// DequantizeLinear computes ONNX DequantizeLinear of uint8, int8 or int32 x:
//
//	y = float32(x − zero_point) × scale
//
// (qmath.Dequantize), per tensor or per axis as in QuantizeLinear.
func DequantizeLinear(x, scale, zeroPoint *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	return DequantizeLinearWith(nil, x, scale, zeroPoint, axis)
}

// DequantizeLinearWith is DequantizeLinear with the output taken from a.
func DequantizeLinearWith(a Alloc, x, scale, zeroPoint *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	if scale.DType != tensor.Float32 {
		return nil, fmt.Errorf("DequantizeLinear: scale must be float32, have %v", scale.DType)
	}
	if zeroPoint != nil && zeroPoint.DType != x.DType {
		return nil, fmt.Errorf("DequantizeLinear: zero point type %v differs from input type %v", zeroPoint.DType, x.DType)
	}
	ch, inner, err := quantAxis(x.Shape, scale.Len(), axis)
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: %w", err)
	}
	zps, err := zeroPoints(zeroPoint, scale.Len())
	if err != nil {
		return nil, fmt.Errorf("DequantizeLinear: %w", err)
	}
	switch x.DType {
	case tensor.Uint8, tensor.Int8, tensor.Int32:
	default:
		return nil, fmt.Errorf("DequantizeLinear: unsupported input type %v", x.DType)
	}
	y := newOut(a, tensor.Float32, x.Shape)
	switch x.DType {
	case tensor.Uint8, tensor.Int8:
		xb := x.U8
		if x.DType == tensor.Int8 {
			xb = int8Bytes(x.I8)
		}
		for i := 0; inner > 0 && i < len(xb); i += inner {
			c := (i / inner) % ch
			dequantizeRow(y.F32[i:i+inner], xb[i:i+inner], scale.F32[c], zps[c], x.DType == tensor.Int8)
		}
	case tensor.Int32:
		for i, v := range x.I32 {
			c := (i / inner) % ch
			y.F32[i] = qmath.Dequantize(v, qmath.Params{Scale: scale.F32[c], ZeroPoint: zps[c]})
		}
	default:
		return nil, fmt.Errorf("DequantizeLinear: unsupported input type %v", x.DType)
	}
	return y, nil
}

// Requant describes how an int32 accumulator becomes an 8-bit output. In
// the default mode (ONNX Runtime's rule, qmath.Requantize):
//
//	y = clamp(saturate(round_half_even(float32(acc) × Multiplier[c]) + ZeroPoint), Min, Max)
//
// where c is the output channel (Multiplier has one value, or one per
// channel), Multiplier[c] = qmath.RequantizeScale(sx, sw[c], sy), the
// product is one float32 multiplication and saturation is to [0, 255]
// (uint8) or [−128, 127] (int8, Signed). This is the only requantization
// rule the kernels implement (see the package documentation).
//
// Min and Max implement a fused ReLU/Clip as an output clamp (in quantized
// units); Min == Max == 0 means no clamp beyond the type's range.
type Requant struct {
	Multiplier []float32
	ZeroPoint  int32
	Min, Max   int32
	// Signed selects an int8 output instead of uint8.
	Signed bool
}

// bounds returns the output range after the fused clamp.
func (r *Requant) bounds() (int32, int32) {
	lo, hi := int32(qmath.Uint8Min), int32(qmath.Uint8Max)
	if r.Signed {
		lo, hi = qmath.Int8Min, qmath.Int8Max
	}
	if r.Min == 0 && r.Max == 0 {
		return lo, hi
	}
	lo, hi = max(r.Min, lo), min(r.Max, hi)
	if hi < lo {
		hi = lo // an empty clamp interval gives its lower bound
	}
	return lo, hi
}

func (r *Requant) outType() tensor.DType {
	if r.Signed {
		return tensor.Int8
	}
	return tensor.Uint8
}

func (r *Requant) multiplier(c int) float32 {
	if len(r.Multiplier) == 1 {
		return r.Multiplier[0]
	}
	return r.Multiplier[c]
}

func (r *Requant) check(channels int) error {
	if len(r.Multiplier) != 1 && len(r.Multiplier) != channels {
		return fmt.Errorf("%d requantization multipliers for %d output channels", len(r.Multiplier), channels)
	}
	return nil
}

// at8 reads element i of a uint8 or int8 tensor.
func at8(t *tensor.Tensor, i int) int32 {
	if t.DType == tensor.Int8 {
		return int32(t.I8[i])
	}
	return int32(t.U8[i])
}

func is8bit(t *tensor.Tensor) bool { return t.DType == tensor.Uint8 || t.DType == tensor.Int8 }

// QConvParams are the attributes and quantization of an integer
// convolution (QLinearConv / ConvInteger arithmetic).
type QConvParams struct {
	ConvParams
	// XZeroPoint is the zero point of the 8-bit input; padding taps read it.
	XZeroPoint int32
	// WZeroPoint has one zero point, or one per output channel.
	WZeroPoint []int32
	Requant
}

func (p *QConvParams) wzp(m int) int32 {
	switch len(p.WZeroPoint) {
	case 0:
		return 0
	case 1:
		return p.WZeroPoint[0]
	}
	return p.WZeroPoint[m]
}

func qconvSetup(x, w *tensor.Tensor, bias []int32, p *QConvParams, requant bool) (*Geometry, int, error) {
	if !is8bit(x) || !is8bit(w) {
		return nil, 0, fmt.Errorf("integer conv wants 8-bit input and weights, have %v and %v", x.DType, w.DType)
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, 0, fmt.Errorf("weight shape %v does not match input shape %v", w.Shape, x.Shape)
	}
	g, err := ResolveGeometry(x.Shape, []int(w.Shape[2:]), p.ConvParams)
	if err != nil {
		return nil, 0, err
	}
	group := max(p.Group, 1)
	M := w.Shape[0]
	if g.C%group != 0 || M%group != 0 || w.Shape[1]*group != g.C {
		return nil, 0, fmt.Errorf("input channels %d, weight shape %v and group %d do not agree", g.C, w.Shape, group)
	}
	if bias != nil && len(bias) != M {
		return nil, 0, fmt.Errorf("bias has %d values, want %d", len(bias), M)
	}
	if n := len(p.WZeroPoint); n > 1 && n != M {
		return nil, 0, fmt.Errorf("%d weight zero points for %d output channels", n, M)
	}
	if requant {
		if err := p.check(M); err != nil {
			return nil, 0, err
		}
	}
	return g, group, nil
}

// ConvInteger computes ONNX ConvInteger, the int32 accumulators
// Σ (x − zx)·(w − zw[m]) of reference.ConvAcc without bias or
// requantization (p.Requant is ignored), with the fast kernels.
func ConvInteger(x, w *tensor.Tensor, p QConvParams) (*tensor.Tensor, error) {
	p.Requant = Requant{Multiplier: []float32{1}}
	plan, err := NewQConvPlan(w, nil, p)
	if err != nil {
		return nil, err
	}
	return plan.RunInt32(x)
}

// QGemmParams are the quantization of an integer matrix product
// Y = A·B (+ bias) with 8-bit A and B.
type QGemmParams struct {
	AZeroPoint int32
	// BZeroPoint has one value, or one per output column.
	BZeroPoint []int32
	Requant
}

func (p *QGemmParams) bzp(j int) int32 {
	switch len(p.BZeroPoint) {
	case 0:
		return 0
	case 1:
		return p.BZeroPoint[0]
	}
	return p.BZeroPoint[j]
}

func qgemmSetup(a, b *tensor.Tensor, transB bool, bias []int32, p *QGemmParams, requant bool) (m, k, n int, out tensor.Shape, err error) {
	if !is8bit(a) || !is8bit(b) {
		return 0, 0, 0, nil, fmt.Errorf("integer matmul wants 8-bit A and B, have %v and %v", a.DType, b.DType)
	}
	if len(b.Shape) != 2 || len(a.Shape) == 0 {
		return 0, 0, 0, nil, fmt.Errorf("integer matmul wants A of rank >= 1 and 2-D B, have %v and %v", a.Shape, b.Shape)
	}
	k = a.Shape[len(a.Shape)-1]
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, nil, fmt.Errorf("inner dimensions of %v and %v differ (transB=%v)", a.Shape, b.Shape, transB)
	}
	m = a.Shape[:len(a.Shape)-1].Size()
	out = append(a.Shape[:len(a.Shape)-1].Clone(), n)
	if bias != nil && len(bias) != n {
		return 0, 0, 0, nil, fmt.Errorf("bias has %d values, want %d", len(bias), n)
	}
	if nz := len(p.BZeroPoint); nz > 1 && nz != n {
		return 0, 0, 0, nil, fmt.Errorf("%d B zero points for %d columns", nz, n)
	}
	if requant {
		if err := p.check(n); err != nil {
			return 0, 0, 0, nil, err
		}
	}
	return m, k, n, out, nil
}

// QMatMul computes the integer product (ONNX QLinearMatMul arithmetic) of
// 8-bit A [..., K] and 8-bit B [K, N] (B stored [N, K] when transB), with
// optional int32 bias [N], with the fastest implementation the CPU supports
// (see QGemmPlan). Its definition is reference.MatMulAcc followed by
// reference.Requantize with channel j for output (i, j).
func QMatMul(a, b *tensor.Tensor, transB bool, bias []int32, p QGemmParams) (*tensor.Tensor, error) {
	plan, err := NewQGemmPlan(b, transB, bias, p)
	if err != nil {
		return nil, err
	}
	return plan.Run(a)
}

// MatMulInteger computes ONNX MatMulInteger for a 2-D B, the int32
// accumulators Σ_k (A[i,k] − za)·(B[k,j] − zb[j]) of reference.MatMulAcc,
// with the fast kernels.
func MatMulInteger(a, b *tensor.Tensor, p QGemmParams) (*tensor.Tensor, error) {
	p.Requant = Requant{Multiplier: []float32{1}}
	plan, err := NewQGemmPlan(b, false, nil, p)
	if err != nil {
		return nil, err
	}
	return plan.RunInt32(a)
}
