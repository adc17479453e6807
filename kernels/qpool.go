package kernels

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// 8-bit MaxPool, separably. For integers the maximum of a window does not
// depend on the order of its taps, and a padding tap equal to the type's
// lowest value never changes it (a window of padding alone gives the
// lowest value, as reference.MaxPool does), so
//
//	v[i]      = max over kh of x[oh·SH − PadT + kh·DH][i − PadL]   (lowest outside)
//	y[oh][ow] = max over kw of v[ow·SW + kw·DW]
//
// is reference.MaxPool bit for bit. Both passes are runs of whole-row
// maxima, which the vector kernels compute 32 or 64 bytes at a time.

// maxRowOps are the row kernels of maxPool8 for one 8-bit type.
type maxRowOps struct {
	// into sets dst[i] = max(dst[i], src[i]) for i < len(dst).
	into func(dst, src []byte)
	// into2 sets dst[j] = max(dst[j], src[2j]) for j < len(dst).
	into2 func(dst, src []byte)
	// k3s2, when set, sets dst[j] = max(src[2j], src[2j+1], src[2j+2])
	// for j < len(dst): the columns of a 3-wide window at stride 2.
	k3s2 func(dst, src []byte)
	// signed compares the bytes as int8.
	signed bool
}

// larger reports whether a > b in the ops' type.
func (o maxRowOps) larger(a, b byte) bool {
	if o.signed {
		return int8(a) > int8(b)
	}
	return a > b
}

// maxIntoU8Go is maxRowOps.into for uint8.
func maxIntoU8Go(dst, src []byte) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

// maxInto2U8Go is maxRowOps.into2 for uint8.
func maxInto2U8Go(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = max(dst[j], src[2*j])
	}
}

// maxK3S2U8Go is maxRowOps.k3s2 for uint8.
func maxK3S2U8Go(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)+1]
	for j := range dst {
		dst[j] = max(src[2*j], src[2*j+1], src[2*j+2])
	}
}

// maxIntoI8Go is maxRowOps.into for int8 (as two's-complement bytes).
func maxIntoI8Go(dst, src []byte) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = byte(max(int8(dst[i]), int8(v)))
	}
}

// maxInto2I8Go is maxRowOps.into2 for int8.
func maxInto2I8Go(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = byte(max(int8(dst[j]), int8(src[2*j])))
	}
}

// maxOpsU8 returns the uint8 row kernels of the active implementation.
func maxOpsU8() maxRowOps {
	ops := maxRowOps{into: maxIntoU8Go, into2: maxInto2U8Go, k3s2: maxK3S2U8Go}
	if active.maxU8 != nil {
		ops.into = active.maxU8
	}
	if active.maxU8Stride2 != nil {
		ops.into2 = active.maxU8Stride2
	}
	if active.maxU8K3S2 != nil {
		ops.k3s2 = active.maxU8K3S2
	}
	return ops
}

// poolRows holds the scratch row (v above) of maxPool8 calls.
var poolRows = sync.Pool{New: func() any { return new([]byte) }}

// maxPool8 is reference.MaxPool for uint8 or int8 planes x, y (as bytes),
// lowest being the type's smallest value, with the planes split over the
// worker pool.
func maxPool8(g *Geometry, x, y []byte, lowest byte, ops maxRowOps) {
	HW, P := g.H*g.W, g.OH*g.OW
	// v[i] stands for input column i − PadL; it spans every tap of the
	// row (ceil mode may reach past the right padding).
	span := max(g.PadL+g.W, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	parallelFor(g.N*g.C, g.N*g.C*P*g.KH*g.KW, func(c0, c1 int) {
		buf := poolRows.Get().(*[]byte)
		if cap(*buf) < span {
			*buf = make([]byte, span)
		}
		v := (*buf)[:span]
		for i := range v {
			v[i] = lowest
		}
		inner := v[g.PadL : g.PadL+g.W]
		for nc := c0; nc < c1; nc++ {
			plane := x[nc*HW : (nc+1)*HW]
			out := y[nc*P : (nc+1)*P]
			for oh := 0; oh < g.OH; oh++ {
				first := true
				for kh := 0; kh < g.KH; kh++ {
					ih := oh*g.SH - g.PadT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					row := plane[ih*g.W : (ih+1)*g.W]
					if first {
						copy(inner, row)
						first = false
					} else {
						ops.into(inner, row)
					}
				}
				if first { // no input row: the window is padding only
					for i := range inner {
						inner[i] = lowest
					}
				}
				maxRow8(g, out[oh*g.OW:(oh+1)*g.OW], v, lowest, ops)
			}
		}
		poolRows.Put(buf)
	})
}

// maxRow8 sets dst[ow] = max over kw of v[ow·SW + kw·DW].
func maxRow8(g *Geometry, dst, v []byte, lowest byte, ops maxRowOps) {
	switch g.SW {
	case 1:
		copy(dst, v)
		for kw := 1; kw < g.KW; kw++ {
			ops.into(dst, v[kw*g.DW:])
		}
	case 2:
		if g.KW == 3 && g.DW == 1 && ops.k3s2 != nil {
			ops.k3s2(dst, v)
			return
		}
		for i := range dst {
			dst[i] = lowest
		}
		for kw := 0; kw < g.KW; kw++ {
			ops.into2(dst, v[kw*g.DW:])
		}
	default:
		for ow := range dst {
			m := v[ow*g.SW]
			for kw := 1; kw < g.KW; kw++ {
				if t := v[ow*g.SW+kw*g.DW]; ops.larger(t, m) {
					m = t
				}
			}
			dst[ow] = m
		}
	}
}

// AveragePoolQDQWith computes
//
//	QuantizeLinear(AveragePool(DequantizeLinear(x, px), p), py)
//
// for an 8-bit NCHW or NCW x and per-tensor parameters, bit for bit as
// the three operators do in float32 (AveragePoolWith sums every window's
// dequantized taps in row-major order and divides by the tap count), but
// without the float32 tensors: the dequantized values come from a
// 256-entry table, windows inside the input skip the bounds tests, and
// each output row is quantized at once. out is the output type (uint8 or
// int8); the output is taken from a.
func AveragePoolQDQWith(a Alloc, x *tensor.Tensor, px qmath.Params, p PoolParams, py qmath.Params, out tensor.DType) (*tensor.Tensor, error) {
	if !is8bit(x) || (out != tensor.Uint8 && out != tensor.Int8) {
		return nil, fmt.Errorf("AveragePool (8-bit): want 8-bit input and output, have %v and %v", x.DType, out)
	}
	g, err := ResolveGeometry(x.Shape, p.KernelShape, p.ConvParams)
	if err != nil {
		return nil, err
	}
	var deq [256]float32
	for b := range deq {
		q := int32(b)
		if x.DType == tensor.Int8 {
			q = int32(int8(b))
		}
		deq[b] = qmath.Dequantize(q, px)
	}
	xb := x.U8
	if x.DType == tensor.Int8 {
		xb = int8Bytes(x.I8)
	}
	y := newOut(a, out, g.OutShape(g.C))
	if y.Len() == 0 {
		return y, nil
	}
	yb := y.U8
	if out == tensor.Int8 {
		yb = int8Bytes(y.I8)
	}
	qr := newQuantRow(py, out == tensor.Int8)
	HW, P := g.H*g.W, g.OH*g.OW
	oh0, oh1 := insideRange(g.PadT, g.SH, g.DH, g.KH, g.H, g.OH)
	ow0, ow1 := insideRange(g.PadL, g.SW, g.DW, g.KW, g.W, g.OW)
	full := float32(g.KH * g.KW)
	buf := poolRows.Get().(*[]byte)
	defer poolRows.Put(buf)
	if cap(*buf) < 4*g.OW {
		*buf = make([]byte, 4*g.OW)
	}
	row := unsafe.Slice((*float32)(unsafe.Pointer(&(*buf)[0])), g.OW)
	for nc := 0; nc < g.N*g.C; nc++ {
		plane := xb[nc*HW : (nc+1)*HW]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				if oh < oh0 || oh >= oh1 || ow < ow0 || ow >= ow1 {
					row[ow] = averageWindow(g, plane, &deq, oh, ow, p.CountIncludePad)
					continue
				}
				var s float32
				base := (oh*g.SH-g.PadT)*g.W + ow*g.SW - g.PadL
				for kh := 0; kh < g.KH; kh++ {
					r := plane[base+kh*g.DH*g.W:]
					r = r[:(g.KW-1)*g.DW+1]
					for kw := 0; kw < len(r); kw += g.DW {
						s += deq[r[kw]]
					}
				}
				row[ow] = s / full
			}
			quantizeRow(yb[nc*P+oh*g.OW:nc*P+(oh+1)*g.OW], row, qr)
		}
	}
	return y, nil
}

// averageWindow is one output of AveragePoolWith on dequantized 8-bit
// values: the taps inside the input summed in row-major order, divided by
// their count (with countIncludePad, the taps inside the input and its
// explicit padding); 0 for a window without taps.
func averageWindow(g *Geometry, plane []byte, deq *[256]float32, oh, ow int, countIncludePad bool) float32 {
	var s float32
	n, npad := 0, 0
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		inH := ih >= 0 && ih < g.H
		padH := ih >= -g.PadT && ih < g.H+g.PadB
		for kw := 0; kw < g.KW; kw++ {
			iw := ow*g.SW - g.PadL + kw*g.DW
			if padH && iw >= -g.PadL && iw < g.W+g.PadR {
				npad++
			}
			if inH && iw >= 0 && iw < g.W {
				s += deq[plane[ih*g.W+iw]]
				n++
			}
		}
	}
	if countIncludePad {
		n = npad
	}
	if n == 0 {
		return 0
	}
	return s / float32(n)
}
