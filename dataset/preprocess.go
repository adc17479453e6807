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

// Preprocess turns 8-bit images into model input values. Pixel steps run
// first, in this order, on 8-bit images:
//
//  1. Channels: convert to 1 (gray) or 3 (RGB) channels (see Image.Channels);
//     0 keeps what the dataset holds.
//  2. Resize: to Width×Height, or so that the shorter side is Shorter (the
//     other side floor(Shorter × long / short), as torchvision's Resize),
//     with Filter (see Resize).
//  3. Crop: a center crop of Width×Height; the top-left corner is
//     (round((W − w)/2), round((H − h)/2)) with halves rounded to even, as
//     torchvision's CenterCrop.
//  4. Order: "BGR" reverses the channels of a 3-channel image.
//
// then every value becomes
//
//	x = (pixel / Divide − Mean[c]) / Std[c]   when Divide is set, else
//	x = (pixel × Scale − Mean[c]) / Std[c]
//
// computed in float32 in that order (Scale 0 means 1; missing Mean is 0,
// missing Std is 1; a single Mean or Std value applies to every channel;
// c counts channels in the model's order, after Order). Divide 255
// reproduces PyTorch's ToTensor (uint8 / 255) bit for bit, which
// multiplying by a rounded 1/255 does not for about half the pixel values.
// Layout places the values in NCHW or NHWC order; Shape, when set,
// reshapes each sample (the batch size stays first).
type Preprocess struct {
	Channels int       `json:"channels,omitempty" yaml:"channels,omitempty"`
	Resize   *Resize   `json:"resize,omitempty" yaml:"resize,omitempty"`
	Crop     *Crop     `json:"crop,omitempty" yaml:"crop,omitempty"`
	Order    string    `json:"order,omitempty" yaml:"order,omitempty"`
	Divide   float32   `json:"divide,omitempty" yaml:"divide,omitempty"`
	Scale    float32   `json:"scale,omitempty" yaml:"scale,omitempty"`
	Mean     []float32 `json:"mean,omitempty" yaml:"mean,omitempty"`
	Std      []float32 `json:"std,omitempty" yaml:"std,omitempty"`
	Layout   Layout    `json:"layout,omitempty" yaml:"layout,omitempty"`
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
	return p.checkPixelSteps()
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

// Tensor builds the float32 input tensor for images [start, end) of a
// block of equally sized images.
func (p Preprocess) Tensor(im *Images, start, end int) (*tensor.Tensor, error) {
	if start < 0 || end > im.N || start > end {
		return nil, fmt.Errorf("preprocess: images [%d,%d) out of range [0,%d)", start, end, im.N)
	}
	imgs := make([]*Image, end-start)
	for i := range imgs {
		imgs[i] = &Image{H: im.H, W: im.W, C: im.C, Pix: im.Image(start + i)}
	}
	return p.Batch(imgs)
}

// Batch preprocesses images into one float32 input tensor. After the pixel
// steps all images must have the same size and channel count.
func (p Preprocess) Batch(imgs []*Image) (*tensor.Tensor, error) {
	prepared := make([]*Image, len(imgs))
	for i, im := range imgs {
		q, err := p.Pixels(im)
		if err != nil {
			return nil, err
		}
		if i > 0 && (q.H != prepared[0].H || q.W != prepared[0].W || q.C != prepared[0].C) {
			return nil, fmt.Errorf("preprocess: images of different sizes in one batch (%dx%dx%d and %dx%dx%d); add resize/crop or channels to the preprocessing",
				prepared[0].W, prepared[0].H, prepared[0].C, q.W, q.H, q.C)
		}
		prepared[i] = q
	}
	var h, w, ch int
	if len(prepared) > 0 {
		h, w, ch = prepared[0].H, prepared[0].W, prepared[0].C
	}
	if err := p.Validate(max(ch, 1)); err != nil {
		return nil, err
	}
	n := len(prepared)
	scale := p.Scale
	if scale == 0 {
		scale = 1
	}
	hw := h * w
	per := hw * ch
	out := make([]float32, n*per)
	for c := 0; c < ch; c++ {
		mean := channelValue(p.Mean, c, 0)
		std := channelValue(p.Std, c, 1)
		for b := 0; b < n; b++ {
			src := prepared[b].Pix
			for i := 0; i < hw; i++ {
				px := float32(src[i*ch+c])
				if p.Divide != 0 {
					px /= p.Divide
				} else {
					px *= scale
				}
				v := (px - mean) / std
				if p.Layout == NHWC {
					out[b*per+i*ch+c] = v
				} else {
					out[b*per+c*hw+i] = v
				}
			}
		}
	}
	shape := tensor.Shape{n, ch, h, w}
	if p.Layout == NHWC {
		shape = tensor.Shape{n, h, w, ch}
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
