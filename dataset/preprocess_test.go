package dataset

import (
	"math"
	"slices"
	"testing"
)

// refResize is an independent reference of the documented resize: a
// separable kernel filter, rows first, stretched by the scale when
// shrinking, taps outside the image dropped and weights renormalized, each
// pass in float64 on v/255, the result stored as round(65535·v) >> 8.
func refResize(im *Image, w, h int, k func(float64) float64, support float64) *Image {
	taps := func(x, dst, src int) ([]int, []float64) {
		s := float64(src) / float64(dst)
		half, argScale := support, 1.0
		if s > 1 {
			half *= s
			argScale = 1 / s
		}
		center := (float64(x)+0.5)*s - 0.5
		var cs []int
		var ws []float64
		for c := int(math.Floor(center - half)); c <= int(math.Ceil(center+half)); c++ {
			if c < 0 || c >= src {
				continue
			}
			t := math.Abs(center-float64(c)) * argScale
			if t >= support {
				continue
			}
			if wt := k(t); wt != 0 {
				cs = append(cs, c)
				ws = append(ws, wt)
			}
		}
		return cs, ws
	}
	tmp := make([]float64, im.H*w*im.C)
	for y := 0; y < im.H; y++ {
		for x := 0; x < w; x++ {
			cs, ws := taps(x, w, im.W)
			for c := 0; c < im.C; c++ {
				var sum, tot float64
				for i, sx := range cs {
					sum += float64(im.Pix[(y*im.W+sx)*im.C+c]) / 255 * ws[i]
					tot += ws[i]
				}
				tmp[(y*w+x)*im.C+c] = sum / tot
			}
		}
	}
	out := &Image{H: h, W: w, C: im.C, Pix: make([]uint8, w*h*im.C)}
	for y := 0; y < h; y++ {
		cs, ws := taps(y, h, im.H)
		for x := 0; x < w; x++ {
			for c := 0; c < im.C; c++ {
				var sum, tot float64
				for i, sy := range cs {
					sum += tmp[(sy*w+x)*im.C+c] * ws[i]
					tot += ws[i]
				}
				v := math.Min(math.Max(sum/tot, 0), 1)
				out.Pix[(y*w+x)*im.C+c] = uint8(int(65535*v+0.5) >> 8)
			}
		}
	}
	return out
}

func tent(t float64) float64 { return 1 - t }

func catmullRom(t float64) float64 {
	if t < 1 {
		return 1.5*t*t*t - 2.5*t*t + 1
	}
	return -0.5*t*t*t + 2.5*t*t - 4*t + 2
}

func synthetic(w, h, c int, seed int) *Image {
	im := &Image{H: h, W: w, C: c, Pix: make([]uint8, w*h*c)}
	for i := range im.Pix {
		im.Pix[i] = uint8((i*37 + seed*11 + (i*i)%13) % 256)
	}
	return im
}

func TestResizeHandComputed(t *testing.T) {
	// 4 pixels shrunk to 2 with the tent kernel stretched to support 2:
	// out[0] = (0·.75 + 100·.75 + 200·.25)/1.75 = 71.43 → round(65535·v/255) = 18357 → >>8 = 71
	// out[1] = (100·.25 + 200·.75 + 255·.75)/1.75 = 209.29 → 53786 → 210 (not 209: the high byte of 16 bits)
	im := &Image{H: 1, W: 4, C: 1, Pix: []uint8{0, 100, 200, 255}}
	got, err := Preprocess{Resize: &Resize{Width: 2, Height: 1}}.Pixels(im)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pix[0] != 71 || got.Pix[1] != 210 {
		t.Fatalf("bilinear 4→2: %v, want [71 210]", got.Pix)
	}
	// Upscaling 2→4 with the tent kernel: centers -0.25, 0.25, 0.75, 1.25.
	// out = 0, 25, 75, 100 of [0, 100] (edges renormalized).
	got, _ = Preprocess{Resize: &Resize{Width: 4, Height: 1}}.Pixels(&Image{H: 1, W: 2, C: 1, Pix: []uint8{0, 100}})
	if want := []uint8{0, 25, 75, 100}; string(got.Pix) != string(want) {
		t.Fatalf("bilinear 2→4: %v, want %v", got.Pix, want)
	}
	for _, tc := range []struct {
		filter  string
		k       func(float64) float64
		support float64
	}{{FilterBilinear, tent, 1}, {FilterCatmullRom, catmullRom, 2}} {
		for _, sz := range [][4]int{{7, 5, 3, 4}, {3, 2, 8, 5}, {9, 9, 4, 4}, {5, 6, 5, 2}} {
			for _, c := range []int{1, 3} {
				im := synthetic(sz[0], sz[1], c, sz[2])
				got, err := Preprocess{Resize: &Resize{Width: sz[2], Height: sz[3], Filter: tc.filter}}.Pixels(im)
				if err != nil {
					t.Fatal(err)
				}
				want := refResize(im, sz[2], sz[3], tc.k, tc.support)
				for i := range want.Pix {
					if got.Pix[i] != want.Pix[i] {
						t.Fatalf("%s %v c=%d: pixel %d = %d, reference %d", tc.filter, sz, c, i, got.Pix[i], want.Pix[i])
					}
				}
			}
		}
	}
}

func TestShorterSideAndCenterOffset(t *testing.T) {
	for _, c := range [][5]int{{500, 375, 256, 341, 256}, {375, 500, 256, 256, 341}, {256, 256, 256, 256, 256}, {32, 1000, 8, 8, 250}} {
		w, h := ShorterSide(c[0], c[1], c[2])
		if w != c[3] || h != c[4] {
			t.Errorf("ShorterSide(%d,%d,%d) = %d,%d, want %d,%d", c[0], c[1], c[2], w, h, c[3], c[4])
		}
	}
	// round((size-n)/2) with halves to even, as Python's round.
	for _, c := range [][3]int{{256, 224, 16}, {257, 224, 16}, {259, 224, 18}, {225, 224, 0}, {227, 224, 2}, {224, 224, 0}} {
		if got := CenterOffset(c[0], c[1]); got != c[2] {
			t.Errorf("CenterOffset(%d,%d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

// TestPreprocessPipelineHandComputed runs resize (shorter side), center
// crop, BGR, scale, mean/std and both layouts on a synthetic image and
// compares with values computed step by step here.
func TestPreprocessPipelineHandComputed(t *testing.T) {
	im := synthetic(6, 4, 3, 1) // W=6, H=4
	p := Preprocess{
		Resize: &Resize{Shorter: 3}, // → 4×3 (floor(3·6/4) = 4)
		Crop:   &Crop{Width: 2, Height: 2},
		Order:  OrderBGR,
		Divide: 255,
		Mean:   []float32{0.1, 0.2, 0.3},
		Std:    []float32{0.5, 0.25, 2},
	}
	resized := refResize(im, 4, 3, tent, 1)
	// crop offsets: x round(1) = 1, y round(0.5) = 0 (half to even).
	x0, y0 := 1, 0
	for _, layout := range []Layout{NCHW, NHWC} {
		p.Layout = layout
		x, err := p.Batch([]*Image{im, im})
		if err != nil {
			t.Fatal(err)
		}
		wantShape := []int{2, 3, 2, 2}
		if layout == NHWC {
			wantShape = []int{2, 2, 2, 3}
		}
		if !slices.Equal([]int(x.Shape), wantShape) {
			t.Fatalf("%s shape %v", layout, x.Shape)
		}
		for b := 0; b < 2; b++ {
			for c := 0; c < 3; c++ {
				for y := 0; y < 2; y++ {
					for xx := 0; xx < 2; xx++ {
						src := resized.Pix[((y0+y)*4+x0+xx)*3+(2-c)] // BGR: model channel c is RGB channel 2-c
						want := (float32(src)/255 - p.Mean[c]) / p.Std[c]
						var got float32
						if layout == NCHW {
							got = x.F32[b*12+c*4+y*2+xx]
						} else {
							got = x.F32[b*12+(y*2+xx)*3+c]
						}
						if got != want {
							t.Fatalf("%s b%d c%d y%d x%d = %v, want %v", layout, b, c, y, xx, got, want)
						}
					}
				}
			}
		}
	}
	// Images of different sizes need geometry steps to batch.
	if _, err := (Preprocess{}).Batch([]*Image{synthetic(2, 2, 1, 0), synthetic(3, 2, 1, 0)}); err == nil {
		t.Fatal("mixed sizes batched")
	}
	// Channel conversion: gray to RGB replicates, RGB to gray uses luma.
	g, _ := (Preprocess{Channels: 3}).Pixels(&Image{H: 1, W: 1, C: 1, Pix: []uint8{77}})
	if string(g.Pix) != string([]uint8{77, 77, 77}) {
		t.Fatal(g.Pix)
	}
	y, _ := (Preprocess{Channels: 1}).Pixels(&Image{H: 1, W: 1, C: 3, Pix: []uint8{255, 0, 0}})
	if y.Pix[0] != 76 { // 0.299·255 = 76.2
		t.Fatal(y.Pix)
	}
	if _, err := (Preprocess{Crop: &Crop{Width: 5, Height: 1}}).Pixels(synthetic(4, 4, 1, 0)); err == nil {
		t.Fatal("crop larger than the image accepted")
	}
}

func TestPreprocessValidate(t *testing.T) {
	for _, p := range []Preprocess{
		{Channels: 2},
		{Resize: &Resize{Shorter: 8, Width: 3, Height: 3}},
		{Resize: &Resize{}},
		{Resize: &Resize{Shorter: 8, Filter: "lanczos"}},
		{Crop: &Crop{Width: 0, Height: 2}},
		{Order: "GRB"},
	} {
		if err := p.Validate(3); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
