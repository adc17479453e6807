//go:build amd64 && !purego

package calibrate

import "github.com/eightbitml/eightbit/internal/cpu"

//go:noescape
func binAVX2(vs *float32, n int, idx *int32, p *binParams)

//go:noescape
func scanAVX2(vs *float32, n int, p *binParams)

// binVector and scanVector are the vector kernels (nil: the Go loops).
var (
	binVector  func(vs *float32, n int, idx *int32, p *binParams)
	scanVector func(vs *float32, n int, p *binParams)
)

func init() {
	if cpu.Has(cpu.AVX2) {
		binVector, scanVector = binAVX2, scanAVX2
	}
}
