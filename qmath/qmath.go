package qmath

import (
	"fmt"
	"math"
)

// Integer ranges of the quantized types.
const (
	Uint8Min = 0
	Uint8Max = 255
	Int8Min  = -128
	Int8Max  = 127
	// Int8SymMax is the bound of symmetric int8 weights: values lie in
	// [-127, 127] so that negation never overflows (ONNX Runtime's choice).
	Int8SymMax = 127
)

// Params are the quantization parameters of one tensor or one channel.
type Params struct {
	Scale     float32
	ZeroPoint int32
}

func (p Params) String() string { return fmt.Sprintf("scale=%g zp=%d", p.Scale, p.ZeroPoint) }

// Range is a closed interval of real values observed in a tensor.
type Range struct {
	Min, Max float32
}

// WithZero returns the range widened to contain 0.
func (r Range) WithZero() Range {
	if r.Min > 0 {
		r.Min = 0
	}
	if r.Max < 0 {
		r.Max = 0
	}
	return r
}

// RoundHalfEven rounds to the nearest integer, ties to even (IEEE 754
// roundTiesToEven, the rule of ONNX QuantizeLinear and of numpy.round).
func RoundHalfEven(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// Saturate clamps v to [lo, hi].
func Saturate(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// AsymmetricParams chooses parameters that map r (widened to contain zero)
// onto [qmin, qmax]:
//
//	scale      = (max − min) / (qmax − qmin)
//	zero_point = qmin − round_half_even(min / scale), clamped to [qmin, qmax]
//
// computed in float32 as ONNX Runtime's quantizer does. A range of width zero
// gives scale 1 and the zero point that represents 0.
func AsymmetricParams(r Range, qmin, qmax int32) Params {
	r = r.WithZero()
	if !(r.Max > r.Min) || isInfOrNaN(r.Min) || isInfOrNaN(r.Max) {
		return Params{Scale: 1, ZeroPoint: Saturate(0, qmin, qmax)}
	}
	scale := (r.Max - r.Min) / float32(qmax-qmin)
	if scale == 0 || isInfOrNaN(scale) {
		return Params{Scale: 1, ZeroPoint: Saturate(0, qmin, qmax)}
	}
	zp := int32(RoundHalfEven(float32(qmin) - r.Min/scale))
	return Params{Scale: scale, ZeroPoint: Saturate(zp, qmin, qmax)}
}

// SymmetricParams chooses parameters for a range symmetric about zero with
// zero point 0: scale = max(|min|, |max|) / qmax. An all-zero range gives
// scale 1.
func SymmetricParams(r Range, qmax int32) Params {
	a := float32(math.Max(math.Abs(float64(r.Min)), math.Abs(float64(r.Max))))
	if a == 0 || isInfOrNaN(a) {
		return Params{Scale: 1}
	}
	return Params{Scale: a / float32(qmax)}
}

// QuantizeUint8 returns the ONNX QuantizeLinear result for x:
// saturate(round_half_even(x / scale) + zero_point) in [0, 255].
// NaN maps to the zero point.
func QuantizeUint8(x float32, p Params) uint8 {
	return uint8(quantize(x, p, Uint8Min, Uint8Max))
}

// QuantizeInt8 is QuantizeUint8 for the int8 range [-128, 127].
func QuantizeInt8(x float32, p Params) int8 {
	return int8(quantize(x, p, Int8Min, Int8Max))
}

// QuantizeInt32 quantizes x with zero point 0 into int32, rounding half to
// even and saturating, as bias quantization does (scale is input scale ×
// weight scale).
func QuantizeInt32(x float32, scale float32) int32 {
	v := math.RoundToEven(float64(x / scale))
	if v != v {
		return 0
	}
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

func quantize(x float32, p Params, qmin, qmax int32) int32 {
	v := x / p.Scale
	if v != v {
		return Saturate(p.ZeroPoint, qmin, qmax)
	}
	// Clamp in float first so that huge values do not overflow int32.
	lo, hi := float32(qmin-p.ZeroPoint), float32(qmax-p.ZeroPoint)
	if v < lo {
		v = lo
	} else if v > hi {
		v = hi
	}
	return int32(RoundHalfEven(v)) + p.ZeroPoint
}

// Dequantize returns scale × (q − zero_point) in float32.
func Dequantize(q int32, p Params) float32 {
	return float32(q-p.ZeroPoint) * p.Scale
}

// RequantizeScale is the float32 multiplier that maps an int32 accumulator
// with scale inScale×weightScale to an output of scale outScale, computed in
// float32 as ONNX Runtime does: (inScale × weightScale) / outScale.
func RequantizeScale(inScale, weightScale, outScale float32) float32 {
	return inScale * weightScale / outScale
}

// Requantize applies ONNX Runtime's requantization rule to an int32
// accumulator (bias already added):
//
//	y = saturate(round_half_even(float32(acc) × multiplier) + zero_point)
//
// The product is a float32 multiplication; clamping to [qmin−zp, qmax−zp]
// before rounding gives the same result as saturating after it.
func Requantize(acc int32, multiplier float32, zp, qmin, qmax int32) int32 {
	v := float32(acc) * multiplier
	lo, hi := float32(qmin-zp), float32(qmax-zp)
	if v < lo {
		v = lo
	} else if v > hi {
		v = hi
	}
	return int32(RoundHalfEven(v)) + zp
}

func isInfOrNaN(x float32) bool {
	f := float64(x)
	return math.IsInf(f, 0) || math.IsNaN(f)
}

// FMA32 returns x·y + z rounded once to float32, as a float32 fused
// multiply-add does, for x with at most 29 significant bits (an 8-bit value
// or zero point), so that the product is exact in float64.
func FMA32(x, y, z float32) float32 {
	p := float64(x) * float64(y) // exact
	s := p + float64(z)
	// s is p + z rounded to float64; rounding it again to float32 is
	// correct unless that rounding was inexact and s lies exactly half-way
	// between two float32 values: then move s off the half-way point
	// towards the exact sum.
	bv := s - p
	e := (p - (s - bv)) + (float64(z) - bv) // exact error of s (TwoSum)
	if e != 0 {
		r := float64(float32(s))
		if r != s {
			lo, hi := r, r
			if r < s {
				hi = float64(math.Nextafter32(float32(r), float32(math.Inf(1))))
			} else {
				lo = float64(math.Nextafter32(float32(r), float32(math.Inf(-1))))
			}
			if s-lo == hi-s { // half-way
				s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
			}
		}
	}
	return float32(s)
}
