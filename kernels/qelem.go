package kernels

import (
	"sync"

	"github.com/eightbitml/eightbit/qmath"
)

// Element-wise 8-bit row kernels: QuantizeLinear and DequantizeLinear with
// one scale and zero point, and the quantized Add of two tensors of one
// shape. Each has a Go definition (the *Go functions) and, on amd64,
// AVX-512 and AVX2 kernels in the kernelSet that compute the same values
// bit for bit: float32 division, multiplication and fused multiply-add are
// correctly rounded in both, and the vector conversion rounds half to even.

// quantRow holds the constants of one quantization row: values are
// divided by scale and, before rounding, clamped to [lo, hi] = [qmin − zp,
// qmax − zp] in float32 (so clamping first equals saturating after).
type quantRow struct {
	scale, lo, hi float32
	zp            int32
}

// quantizeRow is the active implementation's quantize.
func quantizeRow(dst []byte, src []float32, q quantRow) {
	if k := active.quantize; k != nil {
		k(dst, src, q)
		return
	}
	quantizeGo(dst, src, q)
}

// dequantizeRow is the active implementation's dequantize.
func dequantizeRow(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	if k := active.dequantize; k != nil {
		k(dst, src, scale, zp, signed)
		return
	}
	dequantizeGo(dst, src, scale, zp, signed)
}

func newQuantRow(p qmath.Params, signed bool) quantRow {
	qmin, qmax := int32(qmath.Uint8Min), int32(qmath.Uint8Max)
	if signed {
		qmin, qmax = qmath.Int8Min, qmath.Int8Max
	}
	return quantRow{scale: p.Scale, lo: float32(qmin - p.ZeroPoint), hi: float32(qmax - p.ZeroPoint), zp: p.ZeroPoint}
}

// quantizeGo is qmath.QuantizeUint8 / QuantizeInt8 over a row: dst[i] is
// the byte of sat(round_half_even(src[i]/scale) + zp), NaN giving zp.
func quantizeGo(dst []byte, src []float32, q quantRow) {
	src = src[:len(dst)]
	for i, x := range src {
		v := x / q.scale
		if v != v {
			v = 0
		}
		v = min(max(v, q.lo), q.hi)
		dst[i] = byte(int32(qmath.RoundHalfEven(v)) + q.zp)
	}
}

// dequantizeGo is qmath.Dequantize over a row of uint8 (signed: int8)
// bytes: dst[i] = float32(src[i] − zp)·scale.
func dequantizeGo(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	src = src[:len(dst)]
	for i, b := range src {
		v := int32(b)
		if signed {
			v = int32(int8(b))
		}
		dst[i] = float32(v-zp) * scale
	}
}

// QAdd is the quantized Add of two 8-bit tensors of one shape with
// per-tensor parameters pa, pb and output parameters pc, as ONNX Runtime's
// QLinearAdd computes it on x86-64 with AVX2 (MLAS's AVX2 kernel), with
// float32 fused multiply-adds (one rounding each), ra = sa/sc, rb = sb/sc:
//
//	fixed = zc − fma(ra, za, rb·zb)
//	y     = sat(round_half_even(fma(a, ra, fma(b, rb, fixed))))
//
// saturated to [Lo, Hi] (a fused Relu raises Lo to zc). The vector kernels
// clamp to [Lo, Hi] before rounding, which is the same for every sum below
// 2³¹ in magnitude (any scale ratio below 2²³).
type QAdd struct {
	k qaddConsts
	// Lo and Hi bound the output; Signed selects int8 bytes.
	Lo, Hi int32
	Signed bool

	tableOnce sync.Once
	table     *[1 << 16]uint8
}

// qaddConsts are QAdd's constants as the vector kernels read them.
type qaddConsts struct {
	ra, rb, fixed float32
	lo, hi        float32 // Lo, Hi
	signed        uint32  // 1: int8 bytes
}

// NewQAdd returns the quantized Add for the given parameters.
func NewQAdd(pa, pb, pc qmath.Params, lo, hi int32, signed bool) *QAdd {
	ra := pa.Scale / pc.Scale
	rb := pb.Scale / pc.Scale
	fixed := float32(pc.ZeroPoint) - qmath.FMA32(ra, float32(pa.ZeroPoint), rb*float32(pb.ZeroPoint))
	q := &QAdd{k: qaddConsts{ra: ra, rb: rb, fixed: fixed, lo: float32(lo), hi: float32(hi)}, Lo: lo, Hi: hi, Signed: signed}
	if signed {
		q.k.signed = 1
	}
	return q
}

// At is the element function: the output for input values av and bv.
func (q *QAdd) At(av, bv int32) int32 {
	v := int32(qmath.RoundHalfEven(qmath.FMA32(float32(av), q.k.ra, qmath.FMA32(float32(bv), q.k.rb, q.k.fixed))))
	return qmath.Saturate(v, q.Lo, q.Hi)
}

// Table returns At tabulated over every pair of input bytes: entry
// ua<<8 | ub is the output byte for the input bytes ua and ub (int8 values
// as their two's-complement bytes). It is built once, on first use.
func (q *QAdd) Table() *[1 << 16]uint8 {
	q.tableOnce.Do(func() {
		var t [1 << 16]uint8
		for ua := 0; ua < 256; ua++ {
			for ub := 0; ub < 256; ub++ {
				av, bv := int32(ua), int32(ub)
				if q.Signed {
					av, bv = int32(int8(ua)), int32(int8(ub))
				}
				t[ua<<8|ub] = uint8(q.At(av, bv))
			}
		}
		q.table = &t
	})
	return q.table
}

// Apply sets dst[i] to the output byte of the input bytes a[i] and b[i]
// for i < len(dst); dst must not overlap a or b. Without a vector kernel it
// looks the bytes up in Table.
func (q *QAdd) Apply(dst, a, b []byte) {
	if k := active.qadd; k != nil {
		k(dst, a, b, &q.k)
		return
	}
	t := q.Table()
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = t[int(a[i])<<8|int(b[i])]
	}
}

// qaddGo is At over a row with the vector kernels' clamp before rounding:
// the definition the assembly kernels match.
func qaddGo(dst, a, b []byte, q *qaddConsts) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		av, bv := int32(a[i]), int32(b[i])
		if q.signed != 0 {
			av, bv = int32(int8(a[i])), int32(int8(b[i]))
		}
		v := qmath.FMA32(float32(av), q.ra, qmath.FMA32(float32(bv), q.rb, q.fixed))
		dst[i] = byte(int32(qmath.RoundHalfEven(min(max(v, q.lo), q.hi))))
	}
}
