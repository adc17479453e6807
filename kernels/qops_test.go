package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
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

func TestQElementwise(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	a := rand8(r, tensor.Uint8, tensor.Shape{2, 3, 4}, true)
	b := rand8(r, tensor.Uint8, tensor.Shape{3, 1}, true)
	pa, pb, py := qmath.Params{Scale: 0.02, ZeroPoint: 128}, qmath.Params{Scale: 0.05, ZeroPoint: 3}, qmath.Params{Scale: 0.04, ZeroPoint: 100}
	add, err := QLinearAdd(a, pa, b, pb, py)
	if err != nil {
		t.Fatal(err)
	}
	mul, _ := QLinearMul(a, pa, b, pb, py)
	for i := range add.U8 {
		c := i / 4 % 3
		av, bv := int32(a.U8[i]), int32(b.U8[c])
		want := qmath.Requantize(1, float32(av-pa.ZeroPoint)*(pa.Scale/py.Scale)+float32(bv-pb.ZeroPoint)*(pb.Scale/py.Scale), py.ZeroPoint, 0, 255)
		if int32(add.U8[i]) != want {
			t.Fatalf("add %d: %d want %d", i, add.U8[i], want)
		}
		wm := qmath.Requantize((av-pa.ZeroPoint)*(bv-pb.ZeroPoint), pa.Scale*pb.Scale/py.Scale, py.ZeroPoint, 0, 255)
		if int32(mul.U8[i]) != wm {
			t.Fatalf("mul %d: %d want %d", i, mul.U8[i], wm)
		}
	}
	sig := NewLUT(func(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }, pa, qmath.Params{Scale: 1.0 / 256})
	y, _ := sig.Apply(a)
	if y.U8[0] != qmath.QuantizeUint8(float32(1/(1+math.Exp(-float64(qmath.Dequantize(int32(a.U8[0]), pa))))), qmath.Params{Scale: 1.0 / 256}) {
		t.Fatal("LUT")
	}
	c, err := QConcat([]*tensor.Tensor{a, a}, []qmath.Params{pa, py}, py, 1)
	if err != nil || !c.Shape.Equal(tensor.Shape{2, 6, 4}) {
		t.Fatal(err, c.Shape)
	}
	g, _ := QGlobalAveragePool(a, pa, pa)
	var s int32
	for _, v := range a.U8[:4] { // shape [2,3,4]: 4 values per channel
		s += int32(v) - 128
	}
	if want := qmath.Requantize(s, float32(1)/float32(1)/4, 128, 0, 255); int32(g.U8[0]) != want {
		t.Fatalf("global average %d want %d", g.U8[0], want)
	}
	x4 := rand8(r, tensor.Uint8, tensor.Shape{1, 2, 5, 5}, false)
	ap, err := QAveragePool(x4, pa, pa, PoolParams{ConvParams: ConvParams{KernelShape: []int{3, 3}, Pads: []int{1, 1, 1, 1}}})
	if err != nil || !ap.Shape.Equal(tensor.Shape{1, 2, 5, 5}) {
		t.Fatal(err)
	}
	// Corner: 4 taps.
	s = int32(x4.U8[0]) + int32(x4.U8[1]) + int32(x4.U8[5]) + int32(x4.U8[6]) - 4*128
	if want := qmath.Requantize(s, float32(1)/float32(1)/4, 128, 0, 255); int32(ap.U8[0]) != want {
		t.Fatalf("average pool corner %d want %d", ap.U8[0], want)
	}
}
