package cpu

import (
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// Feature is a set of x86 instruction-set features.
type Feature uint32

const (
	// AVX2 is AVX2 (VPMADDWD, VPMOVZXBW on ymm).
	AVX2 Feature = 1 << iota
	// FMA is AVX2 and FMA3 (VFMADD231PS on ymm).
	FMA
	// AVX512F is AVX-512 Foundation and FMA3, with OS support for the zmm
	// and opmask state (VFMADD231PS on zmm).
	AVX512F
	// AVX512VNNI is AVX-512 F, BW, VL and VNNI (VPDPBUSD on zmm).
	AVX512VNNI
	// AVX512VBMI is AVX512VNNI plus VBMI (VPERMB).
	AVX512VBMI
)

// String returns the names of the features in f, joined by "+".
func (f Feature) String() string {
	var names []string
	for i, n := range []string{"avx2", "fma", "avx512f", "avx512vnni", "avx512vbmi"} {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// features are the features this CPU has, less those EIGHTBIT_CPU_DISABLE
// hides.
var features = detect(os.Getenv("EIGHTBIT_CPU_DISABLE"))

// detect reads the CPU's features and drops those the comma-separated
// list disable names ("avx512", "avx2").
func detect(disable string) Feature {
	off := func(name string) bool {
		for _, f := range strings.Split(disable, ",") {
			if strings.TrimSpace(f) == name {
				return true
			}
		}
		return false
	}
	x := cpu.X86
	var f Feature
	if x.HasAVX2 && !off("avx2") {
		f |= AVX2
		if x.HasFMA {
			f |= FMA
		}
	}
	if !off("avx512") {
		if x.HasAVX512F && x.HasFMA {
			f |= AVX512F
		}
		if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI {
			f |= AVX512VNNI
			if x.HasAVX512VBMI {
				f |= AVX512VBMI
			}
		}
	}
	return f
}

// Has reports whether the CPU has every feature in f (and none of them is
// hidden by EIGHTBIT_CPU_DISABLE).
func Has(f Feature) bool { return features&f == f }
