package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG decoding with image.Decode
	_ "image/png"  // registers PNG decoding with image.Decode
)

// Image is one 8-bit image, row-major with interleaved channels (H×W×C).
// C is 1 (gray) or 3 (RGB).
type Image struct {
	H, W, C int
	Pix     []uint8
}

// Limits bounds what the decoders accept, so that a corrupt or hostile
// file is an error wrapping ErrFormat (kind failure.BadData) instead of an
// out-of-memory.
type Limits struct {
	// MaxImagePixels is the most pixels (width × height) of one image,
	// checked on the header before the image is decoded.
	MaxImagePixels int64
	// MaxDecompressedBytes is the most bytes a gzip-compressed file may
	// expand to.
	MaxDecompressedBytes int64
}

// DefaultLimits are the limits of DecodeImage, DecodeIDXImages and
// DecodeIDXLabels: 64 Mpixel images (an 8192×8192 photo), 4 GiB of
// decompressed IDX data (MNIST's training images are 47 MB).
var DefaultLimits = Limits{
	MaxImagePixels:       1 << 26,
	MaxDecompressedBytes: 4 << 30,
}

// DecodeImage decodes a JPEG or PNG file. Gray images (8 or 16 bits)
// become C=1, everything else C=3 in RGB order:
//
//   - JPEG YCbCr is converted with Go's image/color rule (the same 8-bit
//     result as color.YCbCrToRGB and image/draw); chroma is upsampled by
//     pixel replication as image/jpeg does;
//   - CMYK JPEGs are converted with image/color's CMYK rule;
//   - 16-bit samples keep their high byte;
//   - alpha is dropped: the un-premultiplied color is kept, like PIL's
//     convert("RGB").
func DecodeImage(data []byte) (*Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: image: %v", ErrFormat, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: image of %dx%d pixels", ErrFormat, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > DefaultLimits.MaxImagePixels {
		return nil, fmt.Errorf("%w: image header says %dx%d pixels, more than the limit of %d", ErrFormat, cfg.Width, cfg.Height, DefaultLimits.MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: image: %v", ErrFormat, err)
	}
	return FromImage(img), nil
}

// FromImage converts a decoded image.Image (see DecodeImage for the rules).
func FromImage(img image.Image) *Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch src := img.(type) {
	case *image.Gray:
		out := &Image{H: h, W: w, C: 1, Pix: make([]uint8, w*h)}
		for y := 0; y < h; y++ {
			off := (y+b.Min.Y-src.Rect.Min.Y)*src.Stride + (b.Min.X - src.Rect.Min.X)
			copy(out.Pix[y*w:(y+1)*w], src.Pix[off:off+w])
		}
		return out
	case *image.Gray16:
		out := &Image{H: h, W: w, C: 1, Pix: make([]uint8, w*h)}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.Pix[y*w+x] = uint8(src.Gray16At(b.Min.X+x, b.Min.Y+y).Y >> 8)
			}
		}
		return out
	case *image.YCbCr:
		out := &Image{H: h, W: w, C: 3, Pix: make([]uint8, w*h*3)}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				o := (y*w + x) * 3
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = r, g, bb
			}
		}
		return out
	}
	out := &Image{H: h, W: w, C: 3, Pix: make([]uint8, w*h*3)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			o := (y*w + x) * 3
			out.Pix[o], out.Pix[o+1], out.Pix[o+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
		}
	}
	return out
}

// Channels returns the image with c channels: gray to RGB replicates the
// value, RGB to gray uses image/color's luma rule (0.299 R + 0.587 G +
// 0.114 B, as color.GrayModel computes it). The image itself is returned
// when it already has c channels.
func (im *Image) Channels(c int) (*Image, error) {
	switch {
	case c == 0 || c == im.C:
		return im, nil
	case c == 3 && im.C == 1:
		out := &Image{H: im.H, W: im.W, C: 3, Pix: make([]uint8, im.H*im.W*3)}
		for i, v := range im.Pix {
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
		}
		return out, nil
	case c == 1 && im.C == 3:
		out := &Image{H: im.H, W: im.W, C: 1, Pix: make([]uint8, im.H*im.W)}
		for i := range out.Pix {
			g := color.GrayModel.Convert(color.RGBA{im.Pix[3*i], im.Pix[3*i+1], im.Pix[3*i+2], 255}).(color.Gray)
			out.Pix[i] = g.Y
		}
		return out, nil
	}
	return nil, fmt.Errorf("preprocess: cannot convert %d channels to %d", im.C, c)
}
