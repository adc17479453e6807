package kernels

import (
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// TestQuantizeLinearKernels compares QuantizeLinear in every
// implementation with reference.Quantize byte for byte, on rows of every length up to 200 with half-way points, values
// past the range, infinities, NaNs and signed zeros, per tensor and per
// axis.
func TestQuantizeLinearKernels(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for n := 0; n <= 200; n++ {
			for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
				p := qmath.Params{Scale: float32(math.Ldexp(0.5+r.Float64(), -r.Intn(10))), ZeroPoint: randZP(r, dt)}
				if n%7 == 0 {
					p.Scale = 0.125 // exact half-way points
				}
				x := tensor.New(tensor.Float32, tensor.Shape{n})
				for i := range x.F32 {
					q := float32(r.Intn(600) - 300)
					switch r.Intn(12) {
					case 0:
						x.F32[i] = float32(math.NaN())
					case 1:
						x.F32[i] = float32(math.Inf(1 - 2*r.Intn(2)))
					case 2:
						x.F32[i] = float32(math.Copysign(0, -1))
					case 3, 4, 5:
						x.F32[i] = (q + 0.5) * p.Scale
					default:
						x.F32[i] = float32(r.NormFloat64()*100) * p.Scale
					}
				}
				s := tensor.FromFloat32(tensor.Shape{1}, []float32{p.Scale})
				z := tensor.New(dt, tensor.Shape{1})
				store8(z, 0, p.ZeroPoint)
				y, err := QuantizeLinear(x, s, z, 1)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]byte, n)
				reference.Quantize(want, x.F32, p, dt == tensor.Int8)
				got := y.U8
				if dt == tensor.Int8 {
					got = int8Bytes(y.I8)
				}
				for i, v := range x.F32 {
					if got[i] != want[i] {
						t.Fatalf("n=%d %v %v: QuantizeLinear(%g) = %d, want %d", n, dt, p, v, got[i], want[i])
					}
				}
			}
		}
		// Per axis: three channels of 37 values.
		x := tensor.New(tensor.Float32, tensor.Shape{2, 3, 37})
		for i := range x.F32 {
			x.F32[i] = float32(r.NormFloat64() * 3)
		}
		s := tensor.FromFloat32(tensor.Shape{3}, []float32{0.01, 0.02, 0.05})
		z := tensor.FromUint8(tensor.Shape{3}, []uint8{0, 128, 255})
		y, err := QuantizeLinear(x, s, z, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range x.F32 {
			c := i / 37 % 3
			if want := qmath.QuantizeUint8(v, qmath.Params{Scale: s.F32[c], ZeroPoint: int32(z.U8[c])}); y.U8[i] != want {
				t.Fatalf("per axis, element %d: %d, want %d", i, y.U8[i], want)
			}
		}
	})
}

// TestDequantizeLinearKernels compares DequantizeLinear of uint8 and int8
// rows of every length up to 200 in every implementation with
// reference.Dequantize.
func TestDequantizeLinearKernels(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for n := 0; n <= 200; n++ {
			for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
				p := qmath.Params{Scale: float32(math.Ldexp(0.5+r.Float64(), -r.Intn(10))), ZeroPoint: randZP(r, dt)}
				x := rand8(r, dt, tensor.Shape{n}, true)
				s := tensor.FromFloat32(tensor.Shape{1}, []float32{p.Scale})
				z := tensor.New(dt, tensor.Shape{1})
				store8(z, 0, p.ZeroPoint)
				y, err := DequantizeLinear(x, s, z, 1)
				if err != nil {
					t.Fatal(err)
				}
				xb := x.U8
				if dt == tensor.Int8 {
					xb = int8Bytes(x.I8)
				}
				want := make([]float32, n)
				reference.Dequantize(want, xb, p, dt == tensor.Int8)
				for i := range y.F32 {
					if math.Float32bits(y.F32[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d %v: element %d is %g, want %g", n, dt, i, y.F32[i], want[i])
					}
				}
			}
		}
	})
}

// TestQAddKernels compares QAdd.Apply in every implementation, and its
// element function At, with reference.QAdd on rows of every length up to 200, for uint8 and
// int8, with saturating parameters and a fused Relu.
func TestQAddKernels(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for n := 0; n <= 200; n++ {
			for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
				pa := qmath.Params{Scale: float32(0.001 + r.Float64()*0.1), ZeroPoint: randZP(r, dt)}
				pb := qmath.Params{Scale: float32(0.001 + r.Float64()*0.1), ZeroPoint: randZP(r, dt)}
				pc := qmath.Params{Scale: float32(0.001 + r.Float64()*0.1), ZeroPoint: randZP(r, dt)}
				lo, hi := int32(0), int32(255)
				if dt == tensor.Int8 {
					lo, hi = -128, 127
				}
				if r.Intn(3) == 0 {
					lo = pc.ZeroPoint // fused Relu
				}
				q := NewQAdd(pa, pb, pc, lo, hi, dt == tensor.Int8)
				a, b := rand8(r, dt, tensor.Shape{n}, true), rand8(r, dt, tensor.Shape{n}, true)
				ab, bb := a.U8, b.U8
				if dt == tensor.Int8 {
					ab, bb = int8Bytes(a.I8), int8Bytes(b.I8)
				}
				got := make([]byte, n)
				q.Apply(got, ab, bb)
				for i := range got {
					want := reference.QAdd(at8(a, i), at8(b, i), pa, pb, pc, lo, hi)
					if at := q.At(at8(a, i), at8(b, i)); at != want {
						t.Fatalf("n=%d %v element %d: At %d, want %d", n, dt, i, at, want)
					}
					if g := int32(got[i]); dt == tensor.Int8 {
						g = int32(int8(got[i]))
						if g != want {
							t.Fatalf("n=%d int8 element %d: %d, want %d", n, i, g, want)
						}
					} else if g != want {
						t.Fatalf("n=%d uint8 element %d: %d, want %d", n, i, g, want)
					}
				}
			}
		}
	})
}
