package dataset

import (
	"fmt"

	"github.com/eightbitml/eightbit/tensor"
)

// Layout is the memory order of a model's image input.
type Layout string

// Supported layouts.
const (
	NCHW Layout = "NCHW"
	NHWC Layout = "NHWC"
)

// Preprocess turns 8-bit pixels into model input values:
//
//	x = (pixel / Divide − Mean[c]) / Std[c]   when Divide is set, else
//	x = (pixel × Scale − Mean[c]) / Std[c]
//
// computed in float32 in that order (Scale 0 means 1; missing Mean is 0,
// missing Std is 1; a single Mean or Std value applies to every channel).
// Divide 255 reproduces PyTorch's ToTensor (uint8 / 255) bit for bit, which
// multiplying by a rounded 1/255 does not for about half the pixel values.
// Flat drops the spatial structure: the tensor is [N, H×W×C] (or the shape in
// Shape when set, with the batch size first).
type Preprocess struct {
	Divide float32   `json:"divide,omitempty" yaml:"divide,omitempty"`
	Scale  float32   `json:"scale,omitempty" yaml:"scale,omitempty"`
	Mean   []float32 `json:"mean,omitempty" yaml:"mean,omitempty"`
	Std    []float32 `json:"std,omitempty" yaml:"std,omitempty"`
	Layout Layout    `json:"layout,omitempty" yaml:"layout,omitempty"`
	// Shape, when set, is the per-sample input shape (without the batch
	// dimension) that the pixels are reshaped to after layout conversion,
	// e.g. [784, 1] for a flattened MLP input.
	Shape []int `json:"shape,omitempty" yaml:"shape,omitempty"`
}

// Validate checks the settings against an image channel count.
func (p Preprocess) Validate(channels int) error {
	if n := len(p.Mean); n != 0 && n != 1 && n != channels {
		return fmt.Errorf("preprocess: %d mean values for %d channels", n, channels)
	}
	if n := len(p.Std); n != 0 && n != 1 && n != channels {
		return fmt.Errorf("preprocess: %d std values for %d channels", n, channels)
	}
	for _, s := range p.Std {
		if s == 0 {
			return fmt.Errorf("preprocess: std value 0")
		}
	}
	if p.Divide < 0 || p.Scale < 0 || (p.Divide != 0 && p.Scale != 0) {
		return fmt.Errorf("preprocess: set one of divide and scale, positive")
	}
	switch p.Layout {
	case "", NCHW, NHWC:
	default:
		return fmt.Errorf("preprocess: layout %q, want NCHW or NHWC", p.Layout)
	}
	return nil
}

func channelValue(v []float32, c int, def float32) float32 {
	switch len(v) {
	case 0:
		return def
	case 1:
		return v[0]
	}
	return v[c]
}

// Tensor builds the float32 input tensor for images [start, end).
func (p Preprocess) Tensor(im *Images, start, end int) (*tensor.Tensor, error) {
	if start < 0 || end > im.N || start > end {
		return nil, fmt.Errorf("preprocess: images [%d,%d) out of range [0,%d)", start, end, im.N)
	}
	if err := p.Validate(im.C); err != nil {
		return nil, err
	}
	n := end - start
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	hw := im.H * im.W
	per := hw * im.C
	out := make([]float32, n*per)
	for c := 0; c < im.C; c++ {
		mean := channelValue(p.Mean, c, 0)
		std := channelValue(p.Std, c, 1)
		for b := 0; b < n; b++ {
			src := im.Image(start + b)
			for i := 0; i < hw; i++ {
				px := float32(src[i*im.C+c])
				if p.Divide != 0 {
					px /= p.Divide
				} else {
					px *= scale
				}
				v := (px - mean) / std
				if p.Layout == NHWC {
					out[b*per+i*im.C+c] = v
				} else {
					out[b*per+c*hw+i] = v
				}
			}
		}
	}
	shape := tensor.Shape{n, im.C, im.H, im.W}
	if p.Layout == NHWC {
		shape = tensor.Shape{n, im.H, im.W, im.C}
	}
	if len(p.Shape) > 0 {
		s := append(tensor.Shape{n}, p.Shape...)
		if s.Size() != len(out) {
			return nil, fmt.Errorf("preprocess: shape %v does not hold %d values per image", p.Shape, per)
		}
		shape = s
	}
	return tensor.FromFloat32(shape, out), nil
}
