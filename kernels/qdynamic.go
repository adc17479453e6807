package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// DynamicQuantizeLinear computes ONNX DynamicQuantizeLinear of float32 x,
// in float32 arithmetic:
//
//	lo    = min(0, min(x)),  hi = max(0, max(x))
//	scale = (hi − lo) / 255
//	zp    = saturate(round_half_even(0 − lo / scale), 0, 255)
//	y     = saturate(round_half_even(x / scale) + zp, 0, 255)
//
// An all-zero (or empty) x gives scale 0 and zero point 0, and y = 0. NaN
// values are ignored by min and max and quantize to the zero point.
func DynamicQuantizeLinear(x *tensor.Tensor) (y, scale, zeroPoint *tensor.Tensor, err error) {
	if x.DType != tensor.Float32 {
		return nil, nil, nil, fmt.Errorf("DynamicQuantizeLinear: want float32 input, have %v", x.DType)
	}
	var lo, hi float32
	for _, v := range x.F32 {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	s := (hi - lo) / qmath.Uint8Max
	y = tensor.New(tensor.Uint8, x.Shape)
	var zp int32
	if s != 0 && !math.IsInf(float64(s), 0) {
		zp = qmath.Saturate(int32(qmath.RoundHalfEven(0-lo/s)), qmath.Uint8Min, qmath.Uint8Max)
		p := qmath.Params{Scale: s, ZeroPoint: zp}
		for i, v := range x.F32 {
			y.U8[i] = qmath.QuantizeUint8(v, p)
		}
	}
	return y, tensor.ScalarFloat32(s), tensor.FromUint8(nil, []uint8{uint8(zp)}), nil
}
