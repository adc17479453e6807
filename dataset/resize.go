package dataset

import (
	"fmt"
	"image"

	"golang.org/x/image/draw"
)

// Resize filters.
const (
	FilterBilinear   = "bilinear"
	FilterCatmullRom = "catmull-rom"
	FilterNearest    = "nearest"
)

// Resize scales an image. Exactly one of Shorter and Width×Height is set.
//
// Filters are golang.org/x/image/draw's, applied separably (rows, then
// columns) to 8-bit channels widened to 16 bits (v·257):
//
//   - "bilinear" (default): draw.BiLinear, the tent kernel k(t) = 1 − |t|
//     for |t| < 1;
//   - "catmull-rom": draw.CatmullRom, the cubic with B = 0, C = 0.5:
//     k(t) = 1.5|t|³ − 2.5|t|² + 1 for |t| < 1,
//     −0.5|t|³ + 2.5|t|² − 4|t| + 2 for 1 ≤ |t| < 2;
//   - "nearest": draw.NearestNeighbor, the source pixel containing the
//     destination pixel's center.
//
// For the kernel filters, destination pixel x samples the source around
// center (x + 0.5)·s − 0.5 with s = source size / destination size. When
// shrinking (s > 1) the kernel is stretched by s (its support and argument
// scale), so every source pixel contributes: an antialiased resize like
// PIL's and torchvision's antialias=True. Source pixels outside the image
// are skipped and the weights of the others renormalized to sum to 1. Each
// output channel is v = Σ w·p / Σ w in [0, 1] (float64, Catmull-Rom
// overshoot clamped), stored as the 16-bit value round(65535·v) and
// truncated to its high byte.
type Resize struct {
	Shorter int    `json:"shorter,omitempty" yaml:"shorter,omitempty"`
	Width   int    `json:"width,omitempty" yaml:"width,omitempty"`
	Height  int    `json:"height,omitempty" yaml:"height,omitempty"`
	Filter  string `json:"filter,omitempty" yaml:"filter,omitempty"`
}

// Crop is a center crop to Width×Height.
type Crop struct {
	Width  int `json:"width" yaml:"width"`
	Height int `json:"height" yaml:"height"`
}

// Channel orders.
const (
	OrderRGB = "RGB"
	OrderBGR = "BGR"
)

const maxSide = 1 << 15

func (p Preprocess) checkPixelSteps() error {
	switch p.Channels {
	case 0, 1, 3:
	default:
		return fmt.Errorf("preprocess.channels: %d, want 1 or 3", p.Channels)
	}
	if r := p.Resize; r != nil {
		switch {
		case r.Shorter > 0 && (r.Width != 0 || r.Height != 0):
			return fmt.Errorf("preprocess.resize: set shorter or width and height, not both")
		case r.Shorter > maxSide || r.Shorter < 0:
			return fmt.Errorf("preprocess.resize.shorter: %d is out of range", r.Shorter)
		case r.Shorter == 0 && (r.Width <= 0 || r.Height <= 0 || r.Width > maxSide || r.Height > maxSide):
			return fmt.Errorf("preprocess.resize: want shorter, or positive width and height")
		}
		switch r.Filter {
		case "", FilterBilinear, FilterCatmullRom, FilterNearest:
		default:
			return fmt.Errorf("preprocess.resize.filter: %q, want %s, %s or %s", r.Filter, FilterBilinear, FilterCatmullRom, FilterNearest)
		}
	}
	if c := p.Crop; c != nil && (c.Width <= 0 || c.Height <= 0 || c.Width > maxSide || c.Height > maxSide) {
		return fmt.Errorf("preprocess.crop: want positive width and height")
	}
	switch p.Order {
	case "", OrderRGB, OrderBGR:
	default:
		return fmt.Errorf("preprocess.order: %q, want RGB or BGR", p.Order)
	}
	return nil
}

// Pixels applies the pixel steps (channels, resize, crop, order) to one
// image. The input is never modified; it is returned as is when no step
// applies.
func (p Preprocess) Pixels(im *Image) (*Image, error) {
	if err := p.checkPixelSteps(); err != nil {
		return nil, err
	}
	im, err := im.Channels(p.Channels)
	if err != nil {
		return nil, err
	}
	if r := p.Resize; r != nil {
		w, h := r.Width, r.Height
		if r.Shorter > 0 {
			w, h = ShorterSide(im.W, im.H, r.Shorter)
		}
		im = resize(im, w, h, r.Filter)
	}
	if c := p.Crop; c != nil {
		if im, err = centerCrop(im, c.Width, c.Height); err != nil {
			return nil, err
		}
	}
	if p.Order == OrderBGR {
		if im.C != 3 {
			return nil, fmt.Errorf("preprocess.order BGR needs 3 channels, the image has %d", im.C)
		}
		out := &Image{H: im.H, W: im.W, C: 3, Pix: make([]uint8, len(im.Pix))}
		for i := 0; i < len(im.Pix); i += 3 {
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = im.Pix[i+2], im.Pix[i+1], im.Pix[i]
		}
		im = out
	}
	return im, nil
}

// ShorterSide returns the size of a w×h image resized so that its shorter
// side is s: the longer side becomes floor(s × long / short).
func ShorterSide(w, h, s int) (int, int) {
	if w <= h {
		return s, max(1, int(int64(s)*int64(h)/int64(w)))
	}
	return max(1, int(int64(s)*int64(w)/int64(h))), s
}

// CenterOffset is the start of a centered window of n within size: half the
// difference, halves rounded to even.
func CenterOffset(size, n int) int {
	d := size - n
	k := d / 2
	if d%2 != 0 && k%2 != 0 {
		k++
	}
	return k
}

func centerCrop(im *Image, w, h int) (*Image, error) {
	if w > im.W || h > im.H {
		return nil, fmt.Errorf("preprocess.crop: %dx%d is larger than the %dx%d image", w, h, im.W, im.H)
	}
	if w == im.W && h == im.H {
		return im, nil
	}
	x0, y0 := CenterOffset(im.W, w), CenterOffset(im.H, h)
	out := &Image{H: h, W: w, C: im.C, Pix: make([]uint8, w*h*im.C)}
	for y := 0; y < h; y++ {
		src := ((y0+y)*im.W + x0) * im.C
		copy(out.Pix[y*w*im.C:(y+1)*w*im.C], im.Pix[src:src+w*im.C])
	}
	return out, nil
}

func resize(im *Image, w, h int, filter string) *Image {
	if w == im.W && h == im.H {
		return im
	}
	var src image.Image
	if im.C == 1 {
		src = &image.Gray{Pix: im.Pix, Stride: im.W, Rect: image.Rect(0, 0, im.W, im.H)}
	} else {
		rgba := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
		for i, j := 0, 0; i < len(im.Pix); i, j = i+3, j+4 {
			rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = im.Pix[i], im.Pix[i+1], im.Pix[i+2], 255
		}
		src = rgba
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	var q draw.Scaler
	switch filter {
	case FilterCatmullRom:
		q = draw.CatmullRom
	case FilterNearest:
		q = draw.NearestNeighbor
	default:
		q = draw.BiLinear
	}
	q.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	out := &Image{H: h, W: w, C: im.C, Pix: make([]uint8, w*h*im.C)}
	for i := 0; i < w*h; i++ {
		for c := 0; c < im.C; c++ {
			out.Pix[i*im.C+c] = dst.Pix[4*i+c]
		}
	}
	return out
}
