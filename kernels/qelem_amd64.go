//go:build amd64 && !purego

package kernels

import "github.com/eightbitml/eightbit/internal/cpu"

// Assembly element-wise row kernels (qelem_amd64.s). The AVX-512 ones
// finish their rows under a mask; the AVX2 ones take a multiple of 8
// values, and their wrappers finish the row in Go.

//go:noescape
func quantizeAVX512(dst *byte, src *float32, n int, q *quantRow)

//go:noescape
func quantizeAVX2(dst *byte, src *float32, n int, q *quantRow)

//go:noescape
func dequantizeAVX512(dst *float32, src *byte, n int, scale float32, zp int32, signed int)

//go:noescape
func dequantizeAVX2(dst *float32, src *byte, n int, scale float32, zp int32, signed int)

//go:noescape
func qaddAVX512(dst, a, b *byte, n int, k *qaddConsts)

//go:noescape
func qaddAVX2(dst, a, b *byte, n int, k *qaddConsts)

func init() {
	vnniKernels.quantize, vnniKernels.dequantize, vnniKernels.qadd = quantize512, dequantize512, qadd512
	if cpu.Has(cpu.FMA) {
		avx2Kernels.quantize, avx2Kernels.dequantize, avx2Kernels.qadd = quantize2, dequantize2, qadd2
	}
}

func quantize512(dst []byte, src []float32, q quantRow) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		quantizeAVX512(&dst[0], &src[0], n, &q)
	}
}

func quantize2(dst []byte, src []float32, q quantRow) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_ = src[len(dst)-1]
		quantizeAVX2(&dst[0], &src[0], n8, &q)
	}
	quantizeGo(dst[n8:], src[n8:], q)
}

func signedInt(signed bool) int {
	if signed {
		return 1
	}
	return 0
}

func dequantize512(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		dequantizeAVX512(&dst[0], &src[0], n, scale, zp, signedInt(signed))
	}
}

func dequantize2(dst []float32, src []byte, scale float32, zp int32, signed bool) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_ = src[len(dst)-1]
		dequantizeAVX2(&dst[0], &src[0], n8, scale, zp, signedInt(signed))
	}
	dequantizeGo(dst[n8:], src[n8:], scale, zp, signed)
}

func qadd512(dst, a, b []byte, k *qaddConsts) {
	if n := len(dst); n > 0 {
		_, _ = a[n-1], b[n-1]
		qaddAVX512(&dst[0], &a[0], &b[0], n, k)
	}
}

func qadd2(dst, a, b []byte, k *qaddConsts) {
	n8 := len(dst) &^ 7
	if n8 > 0 {
		_, _ = a[len(dst)-1], b[len(dst)-1]
		qaddAVX2(&dst[0], &a[0], &b[0], n8, k)
	}
	qaddGo(dst[n8:], a[n8:], b[n8:], k)
}
