package kernels

import (
	"bytes"
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// TestMaxRowKernels compares each implementation's uint8 MaxPool row
// kernels with the Go ones on every length up to 300, at unaligned
// offsets, with src cut right after the last tap and one byte later.
func TestMaxRowKernels(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		ops := maxOpsU8()
		for n := 0; n <= 300; n++ {
			off := r.Intn(8)
			src := make([]byte, off+2*n+2)
			r.Read(src)
			dst := make([]byte, n)
			r.Read(dst)
			want := bytes.Clone(dst)
			got := bytes.Clone(dst)
			maxIntoU8Go(want, src[off:off+n])
			ops.into(got, src[off:off+n])
			if !bytes.Equal(got, want) {
				t.Fatalf("into, n=%d: got %v, want %v", n, got, want)
			}
			end := off + max(2*n-1, 0)
			want, got = bytes.Clone(dst), bytes.Clone(dst)
			maxInto2U8Go(want, src[off:end])
			ops.into2(got, src[off:end])
			if !bytes.Equal(got, want) {
				t.Fatalf("into2, n=%d: got %v, want %v", n, got, want)
			}
			want, got = bytes.Clone(dst), bytes.Clone(dst)
			maxInto2U8Go(want, src[off:end+1])
			ops.into2(got, src[off:end+1])
			if !bytes.Equal(got, want) {
				t.Fatalf("into2 with slack, n=%d: got %v, want %v", n, got, want)
			}
			for _, slack := range []int{0, 1} {
				end := off + 2*n + 1 + slack
				if n == 0 {
					end = off
				}
				want, got = bytes.Clone(dst), bytes.Clone(dst)
				maxK3S2U8Go(want, src[off:end])
				ops.k3s2(got, src[off:end])
				if !bytes.Equal(got, want) {
					t.Fatalf("k3s2, n=%d, slack %d: got %v, want %v", n, slack, got, want)
				}
			}
		}
	})
}

// TestMaxPool8MatchesReference compares 8-bit MaxPool in every
// implementation with maxPoolReference on random geometries with rows
// long enough for the vector kernels and their tails.
func TestMaxPool8MatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for trial := 0; trial < 200; trial++ {
			kh, kw := 1+r.Intn(4), 1+r.Intn(4)
			p := PoolParams{ConvParams: ConvParams{KernelShape: []int{kh, kw},
				Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
				Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
				Pads:      []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
				CeilMode:  r.Intn(2) == 0}}
			shape := tensor.Shape{1, 1 + r.Intn(8), 1 + r.Intn(20), 1 + r.Intn(160)}
			g, err := ResolveGeometry(shape, p.KernelShape, p.ConvParams)
			if err != nil {
				continue
			}
			for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
				x := rand8(r, dt, shape, true)
				got, err := MaxPool(x, p)
				if err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				want := tensor.New(dt, got.Shape)
				if dt == tensor.Uint8 {
					reference.MaxPool(&g.Window, x.U8, want.U8, 0)
				} else {
					reference.MaxPool(&g.Window, x.I8, want.I8, -128)
				}
				if !want.Equal(got) {
					t.Fatalf("trial %d %v %+v: %v MaxPool differs from the reference", trial, shape, p, dt)
				}
			}
		}
	})
}

// TestAveragePoolQDQ compares AveragePoolQDQWith with DequantizeLinear,
// AveragePool and QuantizeLinear run one after the other, bit for bit, on
// random geometries (with and without count_include_pad and ceil mode)
// for every combination of uint8 and int8 input and output.
func TestAveragePoolQDQ(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for trial := 0; trial < 200; trial++ {
			kh, kw := 1+r.Intn(4), 1+r.Intn(4)
			p := PoolParams{ConvParams: ConvParams{KernelShape: []int{kh, kw},
				Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
				Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
				Pads:      []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
				CeilMode:  r.Intn(2) == 0}, CountIncludePad: r.Intn(2) == 0}
			shape := tensor.Shape{1 + r.Intn(2), 1 + r.Intn(5), 1 + r.Intn(20), 1 + r.Intn(40)}
			if _, err := ResolveGeometry(shape, p.KernelShape, p.ConvParams); err != nil {
				continue
			}
			for _, in := range []tensor.DType{tensor.Uint8, tensor.Int8} {
				for _, out := range []tensor.DType{tensor.Uint8, tensor.Int8} {
					px := qmath.Params{Scale: float32(0.001 + r.Float64()*0.1), ZeroPoint: randZP(r, in)}
					py := qmath.Params{Scale: float32(0.001 + r.Float64()*0.1), ZeroPoint: randZP(r, out)}
					x := rand8(r, in, shape, true)
					got, err := AveragePoolQDQWith(nil, x, px, p, py, out)
					if err != nil {
						t.Fatal(err)
					}
					sx := tensor.FromFloat32(tensor.Shape{1}, []float32{px.Scale})
					zx := tensor.New(in, tensor.Shape{1})
					store8(zx, 0, px.ZeroPoint)
					sy := tensor.FromFloat32(tensor.Shape{1}, []float32{py.Scale})
					zy := tensor.New(out, tensor.Shape{1})
					store8(zy, 0, py.ZeroPoint)
					f, err := DequantizeLinear(x, sx, zx, 1)
					if err != nil {
						t.Fatal(err)
					}
					if f, err = AveragePool(f, p); err != nil {
						t.Fatal(err)
					}
					want, err := QuantizeLinear(f, sy, zy, 1)
					if err != nil {
						t.Fatal(err)
					}
					if !want.Equal(got) {
						t.Fatalf("trial %d %v %+v %v->%v: differs from the float operators", trial, shape, p, in, out)
					}
				}
			}
		}
	})
}
