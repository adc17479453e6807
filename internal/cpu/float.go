package cpu

import (
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// Features of the float kernels (kernels/sgemm*). They honour the same
// EIGHTBIT_CPU_DISABLE names: "avx512" clears AVX512F, "avx2" clears FMA.
var (
	// AVX512F reports AVX-512 Foundation with OS support for the zmm and
	// opmask state (VFMADD231PS on zmm).
	AVX512F bool
	// FMA reports AVX2 and FMA3 (VFMADD231PS on ymm).
	FMA bool
)

func init() {
	x := cpu.X86
	AVX512F = x.HasAVX512F && x.HasFMA && !floatDisabled("avx512")
	FMA = x.HasAVX2 && x.HasFMA && !floatDisabled("avx2")
}

// floatDisabled reports whether EIGHTBIT_CPU_DISABLE names the feature.
func floatDisabled(name string) bool {
	for _, f := range strings.Split(os.Getenv("EIGHTBIT_CPU_DISABLE"), ",") {
		if strings.TrimSpace(f) == name {
			return true
		}
	}
	return false
}
