package kernels

import (
	"fmt"
	"sync"

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
	y := tensor.New(out, x.Shape)
	for i, v := range x.F32 {
		c := (i / inner) % ch
		p := qmath.Params{Scale: scale.F32[c], ZeroPoint: zps[c]}
		if out == tensor.Uint8 {
			y.U8[i] = qmath.QuantizeUint8(v, p)
		} else {
			y.I8[i] = qmath.QuantizeInt8(v, p)
		}
	}
	return y, nil
}

// DequantizeLinear computes ONNX DequantizeLinear of uint8, int8 or int32 x:
//
//	y = float32(x − zero_point) × scale
//
// (qmath.Dequantize), per tensor or per axis as in QuantizeLinear.
func DequantizeLinear(x, scale, zeroPoint *tensor.Tensor, axis int) (*tensor.Tensor, error) {
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
	y := tensor.New(tensor.Float32, x.Shape)
	switch x.DType {
	case tensor.Uint8:
		for i, v := range x.U8 {
			c := (i / inner) % ch
			y.F32[i] = qmath.Dequantize(int32(v), qmath.Params{Scale: scale.F32[c], ZeroPoint: zps[c]})
		}
	case tensor.Int8:
		for i, v := range x.I8 {
			c := (i / inner) % ch
			y.F32[i] = qmath.Dequantize(int32(v), qmath.Params{Scale: scale.F32[c], ZeroPoint: zps[c]})
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

// Requant describes how an int32 accumulator becomes a uint8 output:
//
//	y = clamp(qmath.Requantize(acc, Multiplier[c], ZeroPoint, 0, 255), Min, Max)
//
// where c is the output channel (Multiplier has one value, or one per
// channel) and Multiplier[c] = qmath.RequantizeScale(sx, sw[c], sy). Min and
// Max implement a fused ReLU/Clip; Max == 0 means no clamp (0..255).
type Requant struct {
	Multiplier []float32
	ZeroPoint  int32
	Min, Max   int32
}

func (r *Requant) bounds() (int32, int32) {
	if r.Max == 0 {
		return qmath.Uint8Min, qmath.Uint8Max
	}
	return max(r.Min, qmath.Uint8Min), min(r.Max, qmath.Uint8Max)
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

// QConvParams are the attributes and quantization of an integer
// convolution (ONNX Runtime QLinearConv arithmetic).
type QConvParams struct {
	ConvParams
	// XZeroPoint is the zero point of the uint8 input; padding taps read it.
	XZeroPoint int32
	// WZeroPoint has one int8 zero point, or one per output channel.
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

func qconvSetup(x, w *tensor.Tensor, bias []int32, p *QConvParams) (*Geometry, int, error) {
	if x.DType != tensor.Uint8 || w.DType != tensor.Int8 {
		return nil, 0, fmt.Errorf("integer conv wants uint8 input and int8 weights, have %v and %v", x.DType, w.DType)
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
	if err := p.check(M); err != nil {
		return nil, 0, err
	}
	return g, group, nil
}

// QConvReference is the readable definition of the integer convolution of
// uint8 x [N,C,H,W] with int8 w [M,C/group,kH,kW] and int32 bias [M]
// (nil for none). For every output element of channel m:
//
//	acc = bias[m] + Σ (x − zx)·(w − zw[m])     (int32; padding taps read zx)
//	y   = p.Requant applied to acc             (round half to even, saturate)
func QConvReference(x, w *tensor.Tensor, bias []int32, p QConvParams) (*tensor.Tensor, error) {
	g, group, err := qconvSetup(x, w, bias, &p)
	if err != nil {
		return nil, err
	}
	M := w.Shape[0]
	cg, mg := g.C/group, M/group
	lo, hi := p.bounds()
	y := tensor.New(tensor.Uint8, g.OutShape(M))
	for n := 0; n < g.N; n++ {
		for m := 0; m < M; m++ {
			gr := m / mg
			zw := p.wzp(m)
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var acc int32
					if bias != nil {
						acc = bias[m]
					}
					for c := 0; c < cg; c++ {
						ic := gr*cg + c
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih := oh*g.SH - g.PadT + kh*g.DH
								iw := ow*g.SW - g.PadL + kw*g.DW
								xv := p.XZeroPoint
								if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
									xv = int32(x.U8[((n*g.C+ic)*g.H+ih)*g.W+iw])
								}
								wv := int32(w.I8[((m*cg+c)*g.KH+kh)*g.KW+kw])
								acc += (xv - p.XZeroPoint) * (wv - zw)
							}
						}
					}
					q := qmath.Requantize(acc, p.multiplier(m), p.ZeroPoint, lo, hi)
					y.U8[((n*M+m)*g.OH+oh)*g.OW+ow] = uint8(q)
				}
			}
		}
	}
	return y, nil
}

// QConv computes the same integers as QConvReference, faster: the input is
// unfolded (im2col, padding with the zero point) and centred once per image
// and group, then every output channel accumulates weight × row products.
// Integer addition is associative, so the result is bit-identical to the
// reference whatever the order or the number of goroutines.
func QConv(x, w *tensor.Tensor, bias []int32, p QConvParams) (*tensor.Tensor, error) {
	g, group, err := qconvSetup(x, w, bias, &p)
	if err != nil {
		return nil, err
	}
	M := w.Shape[0]
	cg, mg := g.C/group, M/group
	kk := cg * g.KH * g.KW
	P := g.OH * g.OW
	lo, hi := p.bounds()
	y := tensor.New(tensor.Uint8, g.OutShape(M))
	col := make([]uint8, kk*P)
	colc := make([]int16, kk*P)
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < group; gr++ {
			im2col(g, cg, x.U8[(n*g.C+gr*cg)*g.H*g.W:], col, uint8(p.XZeroPoint))
			for i, v := range col {
				colc[i] = int16(int32(v) - p.XZeroPoint)
			}
			parallelFor(mg, mg*kk*P, func(m0, m1 int) {
				acc := make([]int32, P)
				for mm := m0; mm < m1; mm++ {
					m := gr*mg + mm
					var b int32
					if bias != nil {
						b = bias[m]
					}
					for i := range acc {
						acc[i] = b
					}
					zw := p.wzp(m)
					wrow := w.I8[m*kk : (m+1)*kk]
					for k, wv := range wrow {
						c := int32(wv) - zw
						if c == 0 {
							continue
						}
						src := colc[k*P : (k+1)*P]
						for i, xv := range src {
							acc[i] += c * int32(xv)
						}
					}
					mult := p.multiplier(m)
					out := y.U8[(n*M+m)*P : (n*M+m+1)*P]
					for i, a := range acc {
						out[i] = uint8(qmath.Requantize(a, mult, p.ZeroPoint, lo, hi))
					}
				}
			})
		}
	}
	return y, nil
}

// parallelFor splits [0, n) into contiguous chunks run on up to threads()
// goroutines when work (multiply-adds) is large enough.
func parallelFor(n, work int, fn func(lo, hi int)) {
	nt := threads()
	if work < gemmParallelWork || n < 2 || nt < 2 {
		fn(0, n)
		return
	}
	nt = min(nt, n)
	var wg sync.WaitGroup
	for t := 0; t < nt; t++ {
		lo, hi := t*n/nt, (t+1)*n/nt
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// QGemmParams are the quantization of an integer matrix product
// Y = A·B (+ bias) with uint8 A and int8 B.
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

func qgemmSetup(a, b *tensor.Tensor, transB bool, bias []int32, p *QGemmParams) (m, k, n int, out tensor.Shape, err error) {
	if a.DType != tensor.Uint8 || b.DType != tensor.Int8 {
		return 0, 0, 0, nil, fmt.Errorf("integer matmul wants uint8 A and int8 B, have %v and %v", a.DType, b.DType)
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
	if err := p.check(n); err != nil {
		return 0, 0, 0, nil, err
	}
	return m, k, n, out, nil
}

// QMatMulReference is the readable definition of the integer product of
// uint8 A [..., K] and int8 B [K, N] (B stored [N, K] when transB), with
// optional int32 bias [N]. For every output element (i, j):
//
//	acc = bias[j] + Σ_k (A[i,k] − za)·(B[k,j] − zb[j])   (int32)
//	y   = p.Requant applied to acc, channel j
func QMatMulReference(a, b *tensor.Tensor, transB bool, bias []int32, p QGemmParams) (*tensor.Tensor, error) {
	m, k, n, out, err := qgemmSetup(a, b, transB, bias, &p)
	if err != nil {
		return nil, err
	}
	lo, hi := p.bounds()
	y := tensor.New(tensor.Uint8, out)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc int32
			if bias != nil {
				acc = bias[j]
			}
			for kk := 0; kk < k; kk++ {
				bv := b.I8[kk*n+j]
				if transB {
					bv = b.I8[j*k+kk]
				}
				acc += (int32(a.U8[i*k+kk]) - p.AZeroPoint) * (int32(bv) - p.bzp(j))
			}
			y.U8[i*n+j] = uint8(qmath.Requantize(acc, p.multiplier(j), p.ZeroPoint, lo, hi))
		}
	}
	return y, nil
}

// QMatMul computes the same integers as QMatMulReference, faster: the B zero
// point is applied once per row as zb[j]·Σ_k (A[i,k] − za), and rows are
// split across goroutines for large products (bit-identical results).
func QMatMul(a, b *tensor.Tensor, transB bool, bias []int32, p QGemmParams) (*tensor.Tensor, error) {
	m, k, n, out, err := qgemmSetup(a, b, transB, bias, &p)
	if err != nil {
		return nil, err
	}
	lo, hi := p.bounds()
	y := tensor.New(tensor.Uint8, out)
	parallelFor(m, m*n*k, func(i0, i1 int) {
		acc := make([]int32, n)
		ac := make([]int32, k)
		for i := i0; i < i1; i++ {
			var sumA int32
			for kk, v := range a.U8[i*k : (i+1)*k] {
				ac[kk] = int32(v) - p.AZeroPoint
				sumA += ac[kk]
			}
			for j := range acc {
				acc[j] = 0
				if bias != nil {
					acc[j] = bias[j]
				}
				acc[j] -= p.bzp(j) * sumA
			}
			if transB {
				for j := range acc {
					brow := b.I8[j*k : (j+1)*k]
					var s int32
					for kk, bv := range brow {
						s += ac[kk] * int32(bv)
					}
					acc[j] += s
				}
			} else {
				for kk, av := range ac {
					if av == 0 {
						continue
					}
					brow := b.I8[kk*n : (kk+1)*n]
					for j, bv := range brow {
						acc[j] += av * int32(bv)
					}
				}
			}
			row := y.U8[i*n : (i+1)*n]
			for j, v := range acc {
				row[j] = uint8(qmath.Requantize(v, p.multiplier(j), p.ZeroPoint, lo, hi))
			}
		}
	})
	return y, nil
}
