package qmath

import (
	"math"
	"math/big"
	"math/rand"
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

// TestFMA32 checks FMA32 against exact arithmetic, including sums that
// float64 cannot hold exactly and values just off a float32 half-way point.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(200).SetFloat64(float64(x))
		p.Mul(p, new(big.Float).SetPrec(200).SetFloat64(float64(y)))
		p.Add(p, new(big.Float).SetPrec(200).SetFloat64(float64(z)))
		f, _ := p.Float32()
		return f
	}
	check := func(x, y, z float32) {
		t.Helper()
		if got, want := FMA32(x, y, z), exact(x, y, z); got != want {
			t.Fatalf("FMA32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	}
	// x·y + 64 a hair above the float32 half-way point 64 + 2⁻¹⁸: the
	// float64 sum rounds onto the half-way point (found by search).
	for _, c := range []struct {
		x    float32
		bits uint32
	}{{59, 0x338ad8f3}, {65, 0x337c0fc1}, {177, 0x32b92144}, {205, 0x329fd80a}} {
		y := math.Float32frombits(c.bits)
		if float32(float64(c.x)*float64(y)+64) == exact(c.x, y, 64) {
			t.Fatalf("%g·%g + 64 is not a double-rounding case", c.x, y)
		}
		check(c.x, y, 64)
		check(-c.x, y, -64)
	}
	for i := 0; i < 200000; i++ {
		x := float32(rng.Intn(511) - 255)
		y := float32(math.Ldexp(rng.Float64(), rng.Intn(20)-10))
		z := float32(math.Ldexp(rng.Float64()-0.5, rng.Intn(30)-5))
		check(x, y, z)
	}
}
