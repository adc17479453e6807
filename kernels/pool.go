package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/tensor"
)

// PoolParams are the attributes of MaxPool and AveragePool.
type PoolParams struct {
	ConvParams
	// CountIncludePad makes AveragePool divide by the full window size
	// (padding included) instead of the number of input values it covers.
	CountIncludePad bool
}

// MaxPool computes ONNX MaxPool over the spatial dimensions of an NCHW or
// NCW tensor. Padding never wins (it counts as −∞). Float32 and uint8 inputs
// are supported; on uint8 the result is exact for any quantization.
func MaxPool(x *tensor.Tensor, p PoolParams) (*tensor.Tensor, error) { return MaxPoolWith(nil, x, p) }

// MaxPoolWith is MaxPool with the output taken from a (inputs of rank
// above 4 allocate from the heap).
func MaxPoolWith(a Alloc, x *tensor.Tensor, p PoolParams) (*tensor.Tensor, error) {
	if len(x.Shape) > 4 && x.DType == tensor.Float32 {
		y, _, err := PoolND(x, p, true, false, 0)
		return y, err
	}
	g, err := ResolveGeometry(x.Shape, p.KernelShape, p.ConvParams)
	if err != nil {
		return nil, err
	}
	switch x.DType {
	case tensor.Float32, tensor.Uint8, tensor.Int8:
	default:
		return nil, fmt.Errorf("MaxPool: unsupported type %v", x.DType)
	}
	y := newOut(a, x.DType, g.OutShape(g.C))
	switch x.DType {
	case tensor.Float32:
		maxPoolRows(g, x.F32, y.F32)
	case tensor.Uint8:
		maxPool8(g, x.U8, y.U8, 0, maxOpsU8())
	case tensor.Int8:
		maxPool8(g, int8Bytes(x.I8), int8Bytes(y.I8), 0x80, maxRowOps{into: maxIntoI8Go, into2: maxInto2I8Go, signed: true})
	default:
		return nil, fmt.Errorf("MaxPool: unsupported type %v", x.DType)
	}
	return y, nil
}

// maxPool is reference.MaxPool, bit for bit, with the planes split over the
// worker pool and the windows that lie inside the input (all but the
// borders) computed without bounds tests. 8-bit inputs take maxPool8.
func maxPool(g *Geometry, x, y []float32, lowest float32) {
	HW, P := g.H*g.W, g.OH*g.OW
	// Outputs whose windows lie inside the input: oh in [oh0, oh1), ow in
	// [ow0, ow1).
	oh0, oh1 := insideRange(g.PadT, g.SH, g.DH, g.KH, g.H, g.OH)
	ow0, ow1 := insideRange(g.PadL, g.SW, g.DW, g.KW, g.W, g.OW)
	parallelFor(g.N*g.C, g.N*g.C*P*g.KH*g.KW, func(c0, c1 int) {
		for nc := c0; nc < c1; nc++ {
			plane := x[nc*HW : (nc+1)*HW]
			out := y[nc*P : (nc+1)*P]
			for oh := 0; oh < g.OH; oh++ {
				row := out[oh*g.OW : (oh+1)*g.OW]
				if oh < oh0 || oh >= oh1 {
					for ow := range row {
						row[ow] = reference.MaxPoolWindow(&g.Window, plane, oh, ow, lowest)
					}
					continue
				}
				for ow := 0; ow < ow0 && ow < g.OW; ow++ {
					row[ow] = reference.MaxPoolWindow(&g.Window, plane, oh, ow, lowest)
				}
				top := (oh*g.SH - g.PadT) * g.W
				for ow := ow0; ow < ow1; ow++ {
					base := top + ow*g.SW - g.PadL
					m := plane[base]
					for kh := 0; kh < g.KH; kh++ {
						r := plane[base+kh*g.DH*g.W:]
						r = r[:(g.KW-1)*g.DW+1]
						for kw := 0; kw < len(r); kw += g.DW {
							if v := r[kw]; v > m || v != v {
								m = v
							}
						}
					}
					row[ow] = m
				}
				for ow := max(ow1, ow0); ow < g.OW; ow++ {
					row[ow] = reference.MaxPoolWindow(&g.Window, plane, oh, ow, lowest)
				}
			}
		}
	})
}

// insideRange returns the outputs [lo, hi) along one axis whose windows
// (k taps of dilation dil from o·stride − pad) lie inside [0, n).
func insideRange(pad, stride, dil, k, n, out int) (lo, hi int) {
	lo = (pad + stride - 1) / stride // first o with o·stride − pad ≥ 0
	hi = out
	for hi > lo && (hi-1)*stride-pad+(k-1)*dil >= n {
		hi--
	}
	return min(lo, out), hi
}

// AveragePool computes ONNX AveragePool on float32 NCHW or NCW input. The
// divisor is the number of window taps inside the input, or, with
// CountIncludePad, inside the input plus its explicit padding (taps that
// ceil_mode adds beyond the padding never count).
func AveragePool(x *tensor.Tensor, p PoolParams) (*tensor.Tensor, error) {
	return AveragePoolWith(nil, x, p)
}

// AveragePoolWith is AveragePool with the output taken from a (inputs of
// rank above 4 allocate from the heap).
func AveragePoolWith(a Alloc, x *tensor.Tensor, p PoolParams) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("AveragePool: unsupported type %v", x.DType)
	}
	if len(x.Shape) > 4 {
		y, _, err := PoolND(x, p, false, false, 0)
		return y, err
	}
	g, err := ResolveGeometry(x.Shape, p.KernelShape, p.ConvParams)
	if err != nil {
		return nil, err
	}
	y := newOut(a, tensor.Float32, g.OutShape(g.C))
	averagePoolRows(g, p.CountIncludePad, x.F32, y.F32)
	return y, nil
}

// averagePoolRows is reference.AveragePool, bit for bit: the taps of each
// plane are summed with f32TapSum (weights 1, so each product
// is the tap itself) on a zero-padded copy of the plane (paddedPlanes);
// the padding adds +0, which leaves the sum unchanged as it starts at +0
// and is never −0. The divisors are the products of per-axis tap counts.
func averagePoolRows(g *Geometry, countPad bool, x, y []float32) {
	count := func(o, stride, pad, dil, k, n, padEnd int) int {
		c := 0
		for kk := 0; kk < k; kk++ {
			i := o*stride - pad + kk*dil
			if (countPad && i >= -pad && i < n+padEnd) || (!countPad && i >= 0 && i < n) {
				c++
			}
		}
		return c
	}
	cw := make([]int, g.OW)
	for ow := range cw {
		cw[ow] = count(ow, g.SW, g.PadL, g.DW, g.KW, g.W, g.PadR)
	}
	ones := make([]float32, g.KH*g.KW)
	for i := range ones {
		ones[i] = 1
	}
	pp := newPaddedPlanes(g)
	planes, P := g.N*g.C, g.OH*g.OW
	parallelFor(planes, planes*P*g.KH*g.KW, func(lo, hi int) {
		bb := getBuf(pp.size + pp.wide)
		defer putBuf(bb)
		src, wide := (*bb)[:pp.size], (*bb)[pp.size:]
		for i := lo; i < hi; i++ {
			if i == lo {
				pp.fill(x[i*g.H*g.W:(i+1)*g.H*g.W], src, 0)
			} else {
				pp.refill(x[i*g.H*g.W:(i+1)*g.H*g.W], src)
			}
			f32TapSum(wide, src, pp.offs, ones)
			for oh := 0; oh < g.OH; oh++ {
				row := y[i*P+oh*g.OW : i*P+(oh+1)*g.OW]
				sums := wide[oh*pp.wq:]
				ch := count(oh, g.SH, g.PadT, g.DH, g.KH, g.H, g.PadB)
				for ow := range row {
					if n := ch * cw[ow]; n == 0 {
						row[ow] = 0
					} else {
						row[ow] = sums[ow] / float32(n)
					}
				}
			}
		}
	})
}

// maxPoolRows is reference.MaxPool on float32, bit for bit: the taps of
// each plane are combined with f32TapMax on a copy of the plane
// padded with −∞ (paddedPlanes), which never replaces a value.
func maxPoolRows(g *Geometry, x, y []float32) {
	pp := newPaddedPlanes(g)
	planes, P := g.N*g.C, g.OH*g.OW
	parallelFor(planes, planes*P*g.KH*g.KW, func(lo, hi int) {
		bb := getBuf(pp.size + pp.wide)
		defer putBuf(bb)
		src, wide := (*bb)[:pp.size], (*bb)[pp.size:]
		for i := lo; i < hi; i++ {
			if i == lo {
				pp.fill(x[i*g.H*g.W:(i+1)*g.H*g.W], src, float32(math.Inf(-1)))
			} else {
				pp.refill(x[i*g.H*g.W:(i+1)*g.H*g.W], src)
			}
			f32TapMax(wide, src, pp.offs)
			pp.compact(y[i*P:(i+1)*P], wide)
		}
	})
}

// GlobalAveragePool averages every channel of an [N,C,spatial...] float32
// tensor; the output keeps the rank with spatial dimensions 1.
func GlobalAveragePool(x *tensor.Tensor) (*tensor.Tensor, error) {
	return GlobalAveragePoolWith(nil, x)
}

// GlobalAveragePoolWith is GlobalAveragePool with the output taken from a.
func GlobalAveragePoolWith(a Alloc, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || len(x.Shape) < 2 {
		return nil, fmt.Errorf("GlobalAveragePool: want float32 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	shape := x.Shape.Clone()
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	y := newOut(a, tensor.Float32, shape)
	sp := x.Shape[2:].Size()
	for i := range y.F32 {
		var s float32
		for _, v := range x.F32[i*sp : (i+1)*sp] {
			s += v
		}
		y.F32[i] = s / float32(sp)
	}
	return y, nil
}
