package quantize

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Scheme names a quantization scheme: how activations, weights and biases
// are mapped to integers. The names are the values of the CLI's --scheme.
type Scheme string

// The schemes. Every scheme quantizes biases to int32 with scale
// input_scale × weight_scale and zero point 0.
const (
	// SchemeU8S8Channel (the default) is ONNX Runtime's QDQ convention:
	// uint8 asymmetric per-tensor activations, int8 symmetric
	// per-output-channel weights.
	SchemeU8S8Channel Scheme = "u8s8-channel"
	// SchemeU8S8Tensor is SchemeU8S8Channel with one weight scale per
	// tensor.
	SchemeU8S8Tensor Scheme = "u8s8-tensor"
	// SchemeS8S8Channel quantizes activations to int8 symmetrically (zero
	// point 0, scale max|x| / 127) and weights as SchemeU8S8Channel.
	SchemeS8S8Channel Scheme = "s8s8-channel"
	// SchemeTFEightBit is the 2016 TensorFlow eightbit rewrite: uint8
	// asymmetric min/max quantization, per tensor, of activations and
	// weights alike.
	SchemeTFEightBit Scheme = "tf-eightbit"
)

// SchemeU8S8PerChannel is the former name of SchemeU8S8Channel.
const SchemeU8S8PerChannel = SchemeU8S8Channel

// Schemes returns the scheme names, the default first.
func Schemes() []string {
	return []string{string(SchemeU8S8Channel), string(SchemeU8S8Tensor), string(SchemeS8S8Channel), string(SchemeTFEightBit)}
}

// scheme is what Quantize asks of a scheme.
type scheme struct {
	name Scheme
	// actSigned selects symmetric int8 activations (else asymmetric uint8).
	actSigned bool
	// perChannel selects one weight scale per output channel.
	perChannel bool
	// weightUint8 selects asymmetric uint8 weights (else symmetric int8).
	weightUint8 bool
	// weightMSE chooses int8 weight ranges by minimum expected squared
	// error (Options.WeightRanges) instead of min/max.
	weightMSE bool
}

func schemeFor(s Scheme) (*scheme, error) {
	switch s {
	case "", SchemeU8S8Channel:
		return &scheme{name: SchemeU8S8Channel, perChannel: true}, nil
	case SchemeU8S8Tensor:
		return &scheme{name: s}, nil
	case SchemeS8S8Channel:
		return &scheme{name: s, actSigned: true, perChannel: true}, nil
	case SchemeTFEightBit:
		return &scheme{name: s, weightUint8: true}, nil
	}
	return nil, fmt.Errorf("quantize: unknown scheme %q (have %v)", s, Schemes())
}

// activation returns the parameters and element type for an activation of
// calibrated range r.
func (s *scheme) activation(r qmath.Range) (qmath.Params, tensor.DType) {
	if s.actSigned {
		return qmath.SymmetricParams(r, qmath.Int8SymMax), tensor.Int8
	}
	return qmath.AsymmetricParams(r, qmath.Uint8Min, qmath.Uint8Max), tensor.Uint8
}

// qrange is the integer range of an activation type.
func qrange(dt tensor.DType) (int32, int32) {
	if dt == tensor.Int8 {
		return qmath.Int8Min, qmath.Int8Max
	}
	return qmath.Uint8Min, qmath.Uint8Max
}

// weight quantizes w along axis (per channel) or as a whole. It returns the
// quantized tensor (int8, or uint8 for tf-eightbit) and one parameter set
// per channel, or a single one.
func (s *scheme) weight(w *tensor.Tensor, axis int) (*tensor.Tensor, []qmath.Params) {
	if s.perChannel {
		return quantizeInt8PerChannel(w, axis, s.weightMSE)
	}
	if s.weightMSE && !s.weightUint8 && w.Len() > 0 {
		// One channel holding every weight.
		whole := &tensor.Tensor{DType: tensor.Float32, Shape: tensor.Shape{1, w.Len()}, F32: w.F32}
		rs, err := calibrate.WeightRanges(whole, 0, true, 0)
		if err == nil {
			p := qmath.SymmetricParams(rs[0], qmath.Int8SymMax)
			q := tensor.New(tensor.Int8, w.Shape)
			for i, v := range w.F32 {
				q.I8[i] = qmath.QuantizeInt8(v, p)
			}
			return q, []qmath.Params{p}
		}
	}
	r := qmath.Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
	for _, v := range w.F32 {
		r.Min = min(r.Min, v)
		r.Max = max(r.Max, v)
	}
	if w.Len() == 0 {
		r = qmath.Range{}
	}
	if s.weightUint8 {
		p := qmath.AsymmetricParams(r, qmath.Uint8Min, qmath.Uint8Max)
		q := tensor.New(tensor.Uint8, w.Shape)
		for i, v := range w.F32 {
			q.U8[i] = qmath.QuantizeUint8(v, p)
		}
		return q, []qmath.Params{p}
	}
	p := qmath.SymmetricParams(r, qmath.Int8SymMax)
	q := tensor.New(tensor.Int8, w.Shape)
	for i, v := range w.F32 {
		q.I8[i] = qmath.QuantizeInt8(v, p)
	}
	return q, []qmath.Params{p}
}

// forEachChannel calls f(c, i) for every element i of a tensor of shape s,
// where c is the element's index along axis.
func forEachChannel(s tensor.Shape, axis int, f func(c, i int)) {
	inner := 1
	for _, d := range s[axis+1:] {
		inner *= d
	}
	n := s[axis]
	total := s.Size()
	for i := 0; i < total; i++ {
		f((i/inner)%n, i)
	}
}

// quantizeInt8PerChannel quantizes a float32 tensor symmetrically per
// channel along axis: scale[c] = max|w[c]| / 127, q = round_half_even(w /
// scale[c]) in [-127, 127], zero point 0.
func quantizeInt8PerChannel(w *tensor.Tensor, axis int, mse bool) (*tensor.Tensor, []qmath.Params) {
	n := w.Shape[axis]
	if mse {
		if ranges, err := calibrate.WeightRanges(w, axis, true, 0); err == nil {
			return quantizeInt8Channels(w, axis, ranges)
		}
	}
	ranges := make([]qmath.Range, n)
	seen := make([]bool, n)
	forEachChannel(w.Shape, axis, func(c, i int) {
		v := w.F32[i]
		if !seen[c] {
			ranges[c] = qmath.Range{Min: v, Max: v}
			seen[c] = true
			return
		}
		if v < ranges[c].Min {
			ranges[c].Min = v
		}
		if v > ranges[c].Max {
			ranges[c].Max = v
		}
	})
	return quantizeInt8Channels(w, axis, ranges)
}

// quantizeInt8Channels quantizes w symmetrically per channel along axis
// over the given ranges.
func quantizeInt8Channels(w *tensor.Tensor, axis int, ranges []qmath.Range) (*tensor.Tensor, []qmath.Params) {
	params := make([]qmath.Params, len(ranges))
	for c := range params {
		params[c] = qmath.SymmetricParams(ranges[c], qmath.Int8SymMax)
	}
	q := tensor.New(tensor.Int8, w.Shape)
	forEachChannel(w.Shape, axis, func(c, i int) {
		q.I8[i] = qmath.QuantizeInt8(w.F32[i], params[c])
	})
	return q, params
}
