package kernels

import (
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math/rand"
	"testing"
)

func TestPrepRows(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		ks := active
		for _, k := range []int{1, 3, 4, 63, 64, 65, 130, 512} {
			for _, flip := range []byte{0, 0x80} {
				rows := 1 + r.Intn(7)
				ld := (k+3)/4*4 + 4*r.Intn(2)
				src := make([]byte, rows*k)
				r.Read(src)
				want, got := make([]byte, rows*ld), make([]byte, rows*ld)
				ws, gs := make([]int32, rows), make([]int32, rows)
				prepRowsGo(want, src, rows, k, ld, flip, ws)
				ks.prep(got, src, rows, k, ld, flip, gs)
				for i := 0; i < rows; i++ {
					if string(want[i*ld:i*ld+k]) != string(got[i*ld:i*ld+k]) || ws[i] != gs[i] {
						t.Fatalf("%s k %d ld %d flip %#x row %d: sums %d, %d", ks.name, k, ld, flip, i, ws[i], gs[i])
					}
				}
			}
		}
	})
}
