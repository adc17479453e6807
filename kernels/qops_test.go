package kernels

import (
	"math"
	"math/rand"
	"testing"
)

func TestFixedPointRequant(t *testing.T) {
	// gemmlowp examples: 0.5 is 2^30 with shift 0; 0.25 has shift −1.
	if q, s := FixedPointMultiplier(0.5); q != 1<<30 || s != 0 {
		t.Fatalf("0.5 -> %d, %d", q, s)
	}
	if q, s := FixedPointMultiplier(0.25); q != 1<<30 || s != -1 {
		t.Fatalf("0.25 -> %d, %d", q, s)
	}
	if v := SaturatingRoundingDoublingHighMul(math.MinInt32, math.MinInt32); v != math.MaxInt32 {
		t.Fatal(v)
	}
	if v := RoundingDivideByPOT(-5, 1); v != -3 { // −2.5 rounds away from zero
		t.Fatal(v)
	}
	if v := RoundingDivideByPOT(5, 1); v != 3 {
		t.Fatal(v)
	}
	// Against exact rational rounding on random values (ties are rare).
	r := rand.New(rand.NewSource(5))
	for i := 0; i < 10000; i++ {
		m := r.Float64() * 0.9
		acc := int32(r.Intn(2000001) - 1000000)
		q, sh := FixedPointMultiplier(m)
		got := RequantizeFixedPoint(acc, q, sh, 0, math.MinInt32, math.MaxInt32)
		want := math.Round(float64(acc) * float64(q) * math.Ldexp(1, sh-31))
		if math.Abs(float64(got)-want) > 1 {
			t.Fatalf("acc %d m %g: got %d want ~%g", acc, m, got, want)
		}
	}
}
