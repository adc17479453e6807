package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// FuzzPreprocess decodes arbitrary image bytes and runs them through a
// preprocessing chosen by the first bytes (channels, resize and filter,
// crop, order, layout). Nothing may panic, and a result must have the
// shape the settings ask for.
func FuzzPreprocess(f *testing.F) {
	var buf bytes.Buffer
	im := image.NewRGBA(image.Rect(0, 0, 7, 5))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 31)
	}
	if err := png.Encode(&buf, im); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{2, 1, 4, 0, 3, 3, 1, 0, 2}, buf.Bytes())
	buf.Reset()
	gray := image.NewGray(image.Rect(0, 0, 3, 9))
	for i := range gray.Pix {
		gray.Pix[i] = color.Gray{Y: uint8(i * 17)}.Y
	}
	if err := png.Encode(&buf, gray); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{1, 2, 0, 6, 1, 1, 0, 1}, buf.Bytes())
	f.Fuzz(func(t *testing.T, settings, data []byte) {
		at := func(i int) int {
			if i < len(settings) {
				return int(settings[i])
			}
			return 0
		}
		p := Preprocess{Channels: []int{0, 1, 3, 2}[at(0)%4], Divide: 255}
		switch at(1) % 4 {
		case 1:
			p.Resize = &Resize{Shorter: 1 + at(2)%40}
		case 2:
			p.Resize = &Resize{Width: at(2) % 40, Height: at(3) % 40}
		case 3:
			p.Resize = &Resize{Shorter: at(2) % 3, Width: at(3) % 3}
		}
		if p.Resize != nil {
			p.Resize.Filter = []string{"", FilterBilinear, FilterCatmullRom, FilterNearest, "cubic"}[at(4)%5]
		}
		if at(5)%2 == 1 {
			p.Crop = &Crop{Width: at(5) % 20, Height: at(6) % 20}
		}
		p.Order = []string{"", OrderRGB, OrderBGR}[at(7)%3]
		p.Layout = []Layout{"", NCHW, NHWC}[at(8)%3]
		im, err := DecodeImage(data)
		if err != nil {
			return
		}
		if err := p.Validate(im.C); err != nil {
			return
		}
		x, err := p.Batch([]*Image{im, im})
		if err != nil {
			return
		}
		out, err := p.Pixels(im)
		if err != nil {
			t.Fatalf("Batch ran, Pixels failed: %v", err)
		}
		if x.Shape[0] != 2 || x.Len() != 2*out.W*out.H*out.C {
			t.Fatalf("batch of shape %v from a %dx%dx%d image", x.Shape, out.W, out.H, out.C)
		}
		if p.Crop != nil && (out.W != p.Crop.Width || out.H != p.Crop.Height) {
			t.Fatalf("crop %+v gave %dx%d", *p.Crop, out.W, out.H)
		}
	})
}
