//go:build amd64 && !purego

package kernels

import "github.com/eightbitml/eightbit/internal/cpu"

// Assembly element-wise row kernels (qelem_amd64.s). The AVX-512 ones
// finish their rows under a mask; the AVX2 ones take a multiple of 8
// values, and their wrappers finish the row in Go. Each stub's comment is
// the Go loop it computes (quantizeGo, dequantizeGo, qaddGo in qelem.go).

// quantizeF32Q8AVX512 is quantizeGo:
//
//	for i < n { v = src[i] / q.scale; if v != v { v = 0 }; dst[i] = byte(int32(round_half_even(min(max(v, q.lo), q.hi))) + q.zp) }
//
//go:noescape
func quantizeF32Q8AVX512(dst *byte, src *float32, n int, q *quantRow)

// quantizeF32Q8AVX2 is quantizeF32Q8AVX512 for n a multiple of 8.
//
//go:noescape
func quantizeF32Q8AVX2(dst *byte, src *float32, n int, q *quantRow)

// dequantizeQ8F32AVX512 is dequantizeGo:
//
//	for i < n { v = signed != 0 ? int32(int8(src[i])) : int32(src[i]); dst[i] = float32(v-zp) * scale }
//
//go:noescape
func dequantizeQ8F32AVX512(dst *float32, src *byte, n int, scale float32, zp int32, signed int)

// dequantizeQ8F32AVX2 is dequantizeQ8F32AVX512 for n a multiple of 8.
//
//go:noescape
func dequantizeQ8F32AVX2(dst *float32, src *byte, n int, scale float32, zp int32, signed int)

// qaddQ8AVX512 is qaddGo (a, b as int8 when k.signed):
//
//	for i < n { v = fma(float32(a[i]), k.ra, fma(float32(b[i]), k.rb, k.fixed)); dst[i] = byte(int32(round_half_even(min(max(v, k.lo), k.hi)))) }
//
//go:noescape
func qaddQ8AVX512(dst, a, b *byte, n int, k *qaddConsts)

// qaddQ8AVX2 is qaddQ8AVX512 for n a multiple of 8.
//
//go:noescape
func qaddQ8AVX2(dst, a, b *byte, n int, k *qaddConsts)

func init() {
	vnniKernels.quantize, vnniKernels.dequantize, vnniKernels.qadd = quantizeAVX512, dequantizeAVX512, qaddAVX512
	if cpu.Has(cpu.FMA) {
		avx2Kernels.quantize, avx2Kernels.dequantize, avx2Kernels.qadd = quantizeAVX2, dequantizeAVX2, qaddAVX2
	}
}

func quantizeAVX512(dst []byte, src []float32, q quantRow) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		quantizeF32Q8AVX512(&dst[0], &src[0], n, &q)
	}
}

func quantizeAVX2(dst []byte, src []float32, q quantRow) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_ = src[len(dst)-1]
		quantizeF32Q8AVX2(&dst[0], &src[0], n8, &q)
	}
	quantizeGo(dst[n8:], src[n8:], q)
}

func signedInt(signed bool) int {
	if signed {
		return 1
	}
	return 0
}

func dequantizeAVX512(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		dequantizeQ8F32AVX512(&dst[0], &src[0], n, scale, zp, signedInt(signed))
	}
}

func dequantizeAVX2(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_ = src[len(dst)-1]
		dequantizeQ8F32AVX2(&dst[0], &src[0], n8, scale, zp, signedInt(signed))
	}
	dequantizeGo(dst[n8:], src[n8:], scale, zp, signed)
}

func qaddAVX512(dst, a, b []byte, k *qaddConsts) {
	if n := len(dst); n > 0 {
		_, _ = a[n-1], b[n-1]
		qaddQ8AVX512(&dst[0], &a[0], &b[0], n, k)
	}
}

func qaddAVX2(dst, a, b []byte, k *qaddConsts) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_, _ = a[len(dst)-1], b[len(dst)-1]
		qaddQ8AVX2(&dst[0], &a[0], &b[0], n8, k)
	}
	qaddGo(dst[n8:], a[n8:], b[n8:], k)
}
