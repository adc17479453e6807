package reference

import (
	"math"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// TestConvAcc checks ConvAcc on small convolutions worked out by hand.
func TestConvAcc(t *testing.T) {
	cases := []struct {
		name  string
		g     Window
		group int
		x, w  *tensor.Tensor
		bias  []int32
		zx    int32
		zw    []int32
		want  []int32
	}{
		{
			name: "1x1 with zero points",
			g:    Window{N: 1, C: 1, H: 1, W: 2, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 1, OW: 2},
			x:    tensor.FromUint8(tensor.Shape{1, 1, 1, 2}, []uint8{3, 10}), w: tensor.FromInt8(tensor.Shape{1, 1, 1, 1}, []int8{-2}),
			bias: []int32{5}, zx: 1, zw: []int32{1},
			want: []int32{5 + (3-1)*(-3), 5 + (10-1)*(-3)},
		},
		{
			name: "3 taps, padding reads zx",
			g:    Window{N: 1, C: 1, H: 1, W: 2, KH: 1, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadL: 1, PadR: 1, OH: 1, OW: 2},
			x:    tensor.FromUint8(tensor.Shape{1, 1, 1, 2}, []uint8{4, 6}), w: tensor.FromInt8(tensor.Shape{1, 1, 1, 3}, []int8{1, 2, 3}),
			zx:   2,
			want: []int32{2*2 + 3*4, 1*2 + 2*4},
		},
		{
			name: "depthwise, two channels",
			g:    Window{N: 1, C: 2, H: 1, W: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 1, OW: 1},
			x:    tensor.FromInt8(tensor.Shape{1, 2, 1, 1}, []int8{-4, 7}), w: tensor.FromInt8(tensor.Shape{2, 1, 1, 1}, []int8{3, -1}),
			group: 2, zw: []int32{0, 1},
			want: []int32{-12, -14},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.group == 0 {
				c.group = 1
			}
			if got := ConvAcc(&c.g, c.group, c.x, c.w, c.bias, c.zx, c.zw); !slices.Equal(got, c.want) {
				t.Fatalf("ConvAcc = %v, want %v", got, c.want)
			}
		})
	}
}

// TestMatMulAcc checks MatMulAcc with B stored either way.
func TestMatMulAcc(t *testing.T) {
	a := tensor.FromUint8(tensor.Shape{1, 2}, []uint8{1, 3})
	for _, c := range []struct {
		name   string
		b      *tensor.Tensor
		transB bool
	}{
		{"B [K, N]", tensor.FromInt8(tensor.Shape{2, 2}, []int8{2, 5, -1, 0}), false},
		{"B [N, K]", tensor.FromInt8(tensor.Shape{2, 2}, []int8{2, -1, 5, 0}), true},
	} {
		// za = 1, zb = 0: (1−1)·B[0][j] + (3−1)·B[1][j], plus bias.
		want := []int32{10 + 2*-1, 20 + 2*0}
		if got := MatMulAcc(a, c.b, c.transB, 1, 2, 2, []int32{10, 20}, 1, nil); !slices.Equal(got, want) {
			t.Errorf("%s: MatMulAcc = %v, want %v", c.name, got, want)
		}
	}
}

// TestRequantize checks ties to even, saturation, the fused clamp and per
// channel multipliers.
func TestRequantize(t *testing.T) {
	cases := []struct {
		name   string
		acc    []int32
		mult   []float32
		zy     int32
		lo, hi int32
		signed bool
		want   []int32
	}{
		{"ties to even", []int32{1, 3, 5, -1}, []float32{0.5}, 0, -128, 127, true, []int32{0, 2, 2, 0}},
		{"zero point and saturation", []int32{1000, -1000, 4}, []float32{1}, 128, 0, 255, false, []int32{255, 0, 132}},
		{"fused Relu", []int32{-10, 10}, []float32{1}, 100, 100, 255, false, []int32{100, 110}},
		{"per channel", []int32{10, 10}, []float32{0.1, 0.3}, 0, 0, 255, false, []int32{1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dt := tensor.Uint8
			if c.signed {
				dt = tensor.Int8
			}
			y := tensor.New(dt, tensor.Shape{len(c.acc)})
			Requantize(y, c.acc, func(i int) int { return i }, c.mult, c.zy, c.lo, c.hi)
			for i, w := range c.want {
				if got := at8(y, i); got != w {
					t.Fatalf("element %d: %d, want %d", i, got, w)
				}
			}
		})
	}
}

// TestMaxPool checks that padding never wins and a NaN does.
func TestMaxPool(t *testing.T) {
	g := Window{N: 1, C: 1, H: 1, W: 3, KH: 1, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1, PadL: 1, OH: 1, OW: 3}
	y8 := make([]int8, 3)
	MaxPool(&g, []int8{-100, -120, -5}, y8, -128)
	if want := []int8{-100, -100, -5}; !slices.Equal(y8, want) {
		t.Errorf("int8: %v, want %v", y8, want)
	}
	nan := float32(math.NaN())
	yf := make([]float32, 3)
	MaxPool(&g, []float32{1, nan, 2}, yf, float32(math.Inf(-1)))
	if yf[0] != 1 || yf[1] == yf[1] || yf[2] == yf[2] {
		t.Errorf("float32 with NaN: %v, want [1 NaN NaN]", yf)
	}
}

// TestAveragePool checks the two divisors at a padded border.
func TestAveragePool(t *testing.T) {
	g := Window{N: 1, C: 1, H: 1, W: 2, KH: 1, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1, PadL: 1, OH: 1, OW: 2}
	for _, c := range []struct {
		countPad bool
		want     []float32
	}{{false, []float32{2, 3}}, {true, []float32{1, 3}}} {
		y := make([]float32, 2)
		AveragePool(&g, c.countPad, []float32{2, 4}, y)
		if !slices.Equal(y, c.want) {
			t.Errorf("countPad %v: %v, want %v", c.countPad, y, c.want)
		}
	}
}

// TestElementwise checks Quantize, Dequantize and QAdd on known values.
func TestElementwise(t *testing.T) {
	p := qmath.Params{Scale: 0.5, ZeroPoint: 10}
	q := make([]byte, 5)
	Quantize(q, []float32{0.25, 0.75, -100, 1000, float32(math.NaN())}, p, false)
	if want := []byte{10, 12, 0, 255, 10}; !slices.Equal(q, want) {
		t.Errorf("Quantize uint8: %v, want %v", q, want)
	}
	Quantize(q[:2], []float32{-100, 100}, qmath.Params{Scale: 1}, true)
	if int8(q[0]) != -100 || int8(q[1]) != 100 {
		t.Errorf("Quantize int8: %v", q[:2])
	}
	d := make([]float32, 2)
	Dequantize(d, []byte{12, 0xff}, p, true)
	if want := []float32{1, -5.5}; !slices.Equal(d, want) {
		t.Errorf("Dequantize int8: %v, want %v", d, want)
	}
	one := qmath.Params{Scale: 1}
	if got := QAdd(3, 4, one, one, one, 0, 255); got != 7 {
		t.Errorf("QAdd(3, 4) = %d, want 7", got)
	}
	if got := QAdd(200, 100, one, one, one, 0, 255); got != 255 {
		t.Errorf("QAdd(200, 100) = %d, want 255 (saturated)", got)
	}
}
