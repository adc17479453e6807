package qmath

import (
	"math"
	"testing"
)

func TestRoundHalfEven(t *testing.T) {
	cases := map[float32]float32{0.5: 0, 1.5: 2, 2.5: 2, -0.5: 0, -1.5: -2, 2.4999: 2, 2.5001: 3}
	for in, want := range cases {
		if got := RoundHalfEven(in); got != want {
			t.Errorf("RoundHalfEven(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestAsymmetricZeroExact(t *testing.T) {
	ranges := []Range{{-1, 1}, {0, 6}, {-0.3, 2.7}, {0.5, 3}, {-5, -1}, {-1e-9, 1e-9}, {0, 0}, {-123.4, 0.001}}
	for _, r := range ranges {
		p := AsymmetricParams(r, Uint8Min, Uint8Max)
		if p.Scale <= 0 {
			t.Fatalf("%v: scale %v", r, p.Scale)
		}
		if p.ZeroPoint < 0 || p.ZeroPoint > 255 {
			t.Fatalf("%v: zero point %d", r, p.ZeroPoint)
		}
		if q := QuantizeUint8(0, p); Dequantize(int32(q), p) != 0 {
			t.Fatalf("%v: zero is not exact (%v)", r, p)
		}
		// The ends of the range are representable within one step.
		w := r.WithZero()
		for _, x := range []float32{w.Min, w.Max} {
			back := Dequantize(int32(QuantizeUint8(x, p)), p)
			if math.Abs(float64(back-x)) > float64(p.Scale) {
				t.Fatalf("%v: %v comes back as %v (%v)", r, x, back, p)
			}
		}
	}
	if p := AsymmetricParams(Range{0, 6}, 0, 255); p.ZeroPoint != 0 {
		t.Fatalf("ReLU6 range zero point %d", p.ZeroPoint)
	}
}

func TestSymmetric(t *testing.T) {
	p := SymmetricParams(Range{-0.5, 2.54}, Int8SymMax)
	if p.ZeroPoint != 0 || p.Scale != float32(2.54)/127 {
		t.Fatalf("%v", p)
	}
	if QuantizeInt8(2.54, p) != 127 || QuantizeInt8(-2.54, p) != -127 {
		t.Fatal("ends")
	}
	if SymmetricParams(Range{}, 127).Scale != 1 {
		t.Fatal("zero range")
	}
}

func TestQuantizeSaturates(t *testing.T) {
	p := Params{Scale: 0.1, ZeroPoint: 10}
	table := []struct {
		x    float32
		want uint8
	}{{0, 10}, {-1, 0}, {-2, 0}, {1e30, 255}, {0.05, 10}, {0.15, 12}, {float32(math.NaN()), 10}}
	for _, c := range table {
		if got := QuantizeUint8(c.x, p); got != c.want {
			t.Errorf("QuantizeUint8(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}

func TestRequantize(t *testing.T) {
	table := []struct {
		acc  int32
		m    float32
		zp   int32
		want int32
	}{
		{100, 0.5, 0, 50}, {101, 0.5, 0, 50}, {103, 0.5, 0, 52}, {-10, 0.5, 128, 123},
		{1 << 30, 1, 0, 255}, {-(1 << 30), 1, 3, 0}, {5, 0.1, 7, 7}, {15, 0.1, 7, 9},
	}
	for _, c := range table {
		if got := Requantize(c.acc, c.m, c.zp, 0, 255); got != c.want {
			t.Errorf("Requantize(%d, %v, %d) = %d, want %d", c.acc, c.m, c.zp, got, c.want)
		}
	}
}

func TestQuantizeInt32(t *testing.T) {
	if QuantizeInt32(2.5, 1) != 2 || QuantizeInt32(-3.5, 1) != -4 || QuantizeInt32(1e12, 1) != math.MaxInt32 {
		t.Fatal("bias quantization")
	}
}
