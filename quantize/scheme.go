package quantize

import (
	"fmt"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Scheme names a quantization scheme: how activations, weights and biases
// are mapped to integers.
type Scheme string

// SchemeU8S8PerChannel is the default (and for now only) scheme, ONNX
// Runtime's QDQ convention: uint8 asymmetric per-tensor activations, int8
// symmetric per-output-channel weights, int32 biases with scale
// input_scale × weight_scale[c] and zero point 0.
const SchemeU8S8PerChannel Scheme = "u8-asym-act/s8-sym-per-channel-weight"

// scheme is what Quantize asks of a scheme. New schemes (per-tensor weights,
// int8 activations, ...) implement it and register in schemeFor.
type scheme interface {
	// activation returns the parameters and element type for an activation
	// of calibrated range r.
	activation(r qmath.Range) (qmath.Params, tensor.DType)
	// weight quantizes w per channel along axis. It returns the quantized
	// tensor, the per-channel parameters and whether zero points are all 0.
	weight(w *tensor.Tensor, axis int) (*tensor.Tensor, []qmath.Params)
}

func schemeFor(s Scheme) (scheme, error) {
	switch s {
	case "", SchemeU8S8PerChannel:
		return u8s8{}, nil
	}
	return nil, fmt.Errorf("quantize: unknown scheme %q", s)
}

type u8s8 struct{}

func (u8s8) activation(r qmath.Range) (qmath.Params, tensor.DType) {
	return qmath.AsymmetricParams(r, qmath.Uint8Min, qmath.Uint8Max), tensor.Uint8
}

func (u8s8) weight(w *tensor.Tensor, axis int) (*tensor.Tensor, []qmath.Params) {
	return quantizeInt8PerChannel(w, axis)
}

// channelIndex calls f(c, i) for every element i of a tensor of shape s,
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
func quantizeInt8PerChannel(w *tensor.Tensor, axis int) (*tensor.Tensor, []qmath.Params) {
	n := w.Shape[axis]
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
	params := make([]qmath.Params, n)
	for c := range params {
		params[c] = qmath.SymmetricParams(ranges[c], qmath.Int8SymMax)
	}
	q := tensor.New(tensor.Int8, w.Shape)
	forEachChannel(w.Shape, axis, func(c, i int) {
		q.I8[i] = qmath.QuantizeInt8(w.F32[i], params[c])
	})
	return q, params
}
