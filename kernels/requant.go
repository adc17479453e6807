package kernels

import "math"

// FixedPointMultiplier converts a positive real multiplier into the
// gemmlowp/TFLite representation m = q · 2^(shift − 31), where q is a Q31
// integer in [2^30, 2^31) and shift is the power-of-two exponent (negative
// for multipliers below 0.5): frexp gives m = f · 2^shift with f in
// [0.5, 1), and q = round(f · 2^31), renormalised when rounding reaches
// 2^31. A zero (or negative, or non-finite) multiplier gives q = 0.
func FixedPointMultiplier(m float64) (q int32, shift int) {
	if !(m > 0) || math.IsInf(m, 0) {
		return 0, 0
	}
	f, e := math.Frexp(m)
	qq := int64(math.Round(f * (1 << 31)))
	if qq == 1<<31 {
		qq /= 2
		e++
	}
	if e < -31 {
		return 0, 0
	}
	return int32(qq), e
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2·a·b,
// rounded to nearest (ties away from zero), saturating the single overflow
// case a = b = −2^31 to 2^31 − 1 (gemmlowp's SaturatingRoundingDoublingHighMul).
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	// Division truncates toward zero, as in gemmlowp.
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT returns x / 2^exponent rounded to nearest, ties away
// from zero (gemmlowp's RoundingDivideByPOT), for exponent in [0, 31].
func RoundingDivideByPOT(x int32, exponent int) int32 {
	if exponent <= 0 {
		return x
	}
	mask := int32(1)<<uint(exponent) - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> uint(exponent)
	if remainder > threshold {
		r++
	}
	return r
}

// RequantizeFixedPoint is the gemmlowp/TFLite requantization of an int32
// accumulator with a multiplier (q, shift) from FixedPointMultiplier:
//
//	left  = max(shift, 0),  right = max(−shift, 0)
//	v     = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc · 2^left, q), right)
//	y     = saturate(v + zero_point, qmin, qmax)
//
// acc · 2^left wraps as int32 arithmetic does in TFLite (left is 0 for
// multipliers below 0.5, the usual case).
func RequantizeFixedPoint(acc, q int32, shift int, zp, qmin, qmax int32) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	v := SaturatingRoundingDoublingHighMul(acc*(int32(1)<<uint(left)), q)
	if right > 31 {
		v = 0
	} else {
		v = RoundingDivideByPOT(v, right)
	}
	return int32(min(max(int64(v)+int64(zp), int64(qmin)), int64(qmax)))
}
