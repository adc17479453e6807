package kernels

import (
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math/rand"
	"testing"
)

// TestNarrowTiles compares each implementation's narrow tiles with the
// first columns of tileGo on random operands, packed and strided S.
func TestNarrowTiles(t *testing.T) {
	r := rand.New(rand.NewSource(16))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		for _, k4n := range []int{0, 1, 7, 40} {
			for _, sld := range []int{0, 4*k4n + 12} {
				s := make([]int8, tileMR*4*k4n+tileMR*sld+4)
				for i := range s {
					s[i] = int8(r.Intn(256) - 128)
				}
				u := make([]uint8, (k4n+1)*tileNR*4)
				r.Read(u)
				offs := make([]int64, k4n+1)
				for i := range offs {
					offs[i] = int64(i * tileNR * 4)
				}
				var want [tileMR * tileNR]int32
				tileGo(&s[0], &u[0], &offs[0], k4n, &want, sld)
				for n := 1; n <= tileNR; n++ {
					var got [tileMR * tileNR]int32
					active.tileFor(n)(&s[0], &u[0], &offs[0], k4n, &got, sld)
					for row := 0; row < tileMR; row++ {
						for c := 0; c < n; c++ {
							if got[row*tileNR+c] != want[row*tileNR+c] {
								t.Fatalf("k4n=%d sld=%d n=%d: acc[%d][%d] = %d, want %d", k4n, sld, n, row, c, got[row*tileNR+c], want[row*tileNR+c])
							}
						}
					}
				}
			}
		}
	})
}
