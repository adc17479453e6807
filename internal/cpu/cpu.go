// Package cpu reports the x86 instruction-set features eightbit's integer
// kernels use, read once from golang.org/x/sys/cpu. The variable Disable
// (environment EIGHTBIT_CPU_DISABLE, a comma-separated list of "avx512",
// "avx2") hides features, to run the slower implementations on a fast
// machine: "avx512" selects the AVX2 kernels where the CPU has AVX2, and
// "avx512,avx2" the pure-Go ones.
package cpu

import (
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

var (
	// AVX512VNNI reports AVX-512 F, BW, VL and VNNI (VPDPBUSD on zmm).
	AVX512VNNI bool
	// AVX512VBMI reports AVX512VNNI plus VBMI (VPERMB), which the
	// depthwise kernel uses to gather its taps.
	AVX512VBMI bool
	// AVX2 reports AVX2 (VPMADDWD, VPMOVZXBW on ymm).
	AVX2 bool
)

func init() {
	dis := os.Getenv("EIGHTBIT_CPU_DISABLE")
	off := func(name string) bool {
		for _, f := range strings.Split(dis, ",") {
			if strings.TrimSpace(f) == name {
				return true
			}
		}
		return false
	}
	x := cpu.X86
	AVX512VNNI = x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI && !off("avx512")
	AVX512VBMI = AVX512VNNI && x.HasAVX512VBMI
	AVX2 = x.HasAVX2 && !off("avx2")
}
