package kernels

import (
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math/rand"
	"slices"
	"testing"
)

// TestDepthwiseRowKernels compares every kernel set's depthwise helpers
// (dwRow, centre, deint2) with the Go references on every length up to 100,
// so that the vector kernels' full blocks, their overlapping last blocks
// and the Go tails are all checked; outputs must not be written past their
// length.
func TestDepthwiseRowKernels(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		ks := active
		if ks.dwRow == nil && ks.centre == nil && ks.deint2 == nil {
			t.Skip("no vector depthwise row kernels")
		}
		for n := 0; n <= 100; n++ {
			src := make([]byte, n)
			for i := range src {
				src[i] = byte(r.Intn(256))
			}
			flip, zx := byte(r.Intn(2)*0x80), int32(r.Intn(256)-128)
			if ks.centre != nil {
				want, got := make([]int16, n+1), make([]int16, n+1)
				want[n], got[n] = 7, 7 // a guard past the end
				centreGo(want[:n], src, flip, zx)
				ks.centre(got[:n], src, flip, zx)
				if !slices.Equal(want, got) {
					t.Fatalf("centre, n=%d: %v, want %v", n, got, want)
				}
			}
			if ks.deint2 != nil {
				ne, no := (n+1)/2, n/2
				we, wo, ge, gro := make([]int16, ne+1), make([]int16, no+1), make([]int16, ne+1), make([]int16, no+1)
				we[ne], wo[no], ge[ne], gro[no] = 7, 7, 7, 7
				deinterleave2Go(we[:ne], wo[:no], src, flip, zx)
				ks.deint2(ge[:ne], gro[:no], src, flip, zx)
				if !slices.Equal(we, ge) || !slices.Equal(wo, gro) {
					t.Fatalf("deint2, n=%d: %v %v, want %v %v", n, ge, gro, we, wo)
				}
			}
			if ks.dwRow != nil {
				ntaps := r.Intn(10)
				offs, coefs := make([]int64, ntaps), make([]int32, ntaps)
				for i := range offs {
					offs[i], coefs[i] = int64(r.Intn(40)), int32(r.Intn(511)-255)
				}
				plane := make([]int16, n+40)
				for i := range plane {
					plane[i] = int16(r.Intn(511) - 255)
				}
				want, got := make([]int32, n+1), make([]int32, n+1)
				want[n], got[n] = 7, 7
				for i := range got[:n] {
					got[i] = -1 // the kernel sets, not adds
				}
				dwRowGo(want[:n], plane, offs, coefs)
				ks.dwRow(got[:n], plane, offs, coefs)
				if !slices.Equal(want, got) {
					t.Fatalf("dwRow, n=%d, %d taps: %v, want %v", n, ntaps, got, want)
				}
			}
		}
	})
}
