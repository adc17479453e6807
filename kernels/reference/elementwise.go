package reference

import "github.com/eightbitml/eightbit/qmath"

// Quantize is ONNX QuantizeLinear over a row with one scale and zero
// point: dst[i] is the byte of saturate(round_half_even(src[i]/scale) + zp)
// in uint8, or in int8 (two's complement) when signed; NaN gives zp
// (qmath.QuantizeUint8, qmath.QuantizeInt8).
func Quantize(dst []byte, src []float32, p qmath.Params, signed bool) {
	for i := range dst {
		if signed {
			dst[i] = byte(qmath.QuantizeInt8(src[i], p))
		} else {
			dst[i] = qmath.QuantizeUint8(src[i], p)
		}
	}
}

// Dequantize is ONNX DequantizeLinear over a row of uint8 (signed: int8)
// bytes: dst[i] = float32(src[i] − zp)·scale (qmath.Dequantize).
func Dequantize(dst []float32, src []byte, p qmath.Params, signed bool) {
	for i := range dst {
		v := int32(src[i])
		if signed {
			v = int32(int8(src[i]))
		}
		dst[i] = qmath.Dequantize(v, p)
	}
}

// QAdd is the quantized Add of the values a (parameters pa) and b (pb)
// into parameters pc, as ONNX Runtime's QLinearAdd computes it on x86-64
// with AVX2 (MLAS), with float32 fused multiply-adds (one rounding each):
//
//	ra = sa/sc,  rb = sb/sc,  fixed = zc − fma(ra, za, rb·zb)
//	y  = min(max(round_half_even(fma(a, ra, fma(b, rb, fixed))), lo), hi)
//
// [lo, hi] is the output type's range, lo raised to zc by a fused Relu.
func QAdd(a, b int32, pa, pb, pc qmath.Params, lo, hi int32) int32 {
	ra := pa.Scale / pc.Scale
	rb := pb.Scale / pc.Scale
	fixed := float32(pc.ZeroPoint) - qmath.FMA32(ra, float32(pa.ZeroPoint), rb*float32(pb.ZeroPoint))
	v := qmath.FMA32(float32(a), ra, qmath.FMA32(float32(b), rb, fixed))
	return qmath.Saturate(int32(qmath.RoundHalfEven(v)), lo, hi)
}
