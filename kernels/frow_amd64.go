//go:build amd64 && !purego

package kernels

import "github.com/eightbitml/eightbit/internal/cpu"

// Assembly twins of the float row kernels (frow.go), chosen once by
// internal/cpu: AVX-512F with masked tails, else AVX2 on whole 8-float
// vectors with the tail in Go, else the Go loops.

func init() {
	frowKernels.Register("avx512", cpu.AVX512F|cpu.FMA, frowAVX512)
	frowKernels.Register("avx2", cpu.FMA, frowAVX2)
}

// f32TapSumAVX512 is, for i < n:
//
//	s = 0; for t < taps { s += ker[t] · src[offs[t]+i] }; dst[i] = s
//
// multiplies and adds rounded separately (VMULPS, VADDPS), 64 outputs per
// step, then 16, then a masked tail.
//
//go:noescape
func f32TapSumAVX512(dst, src *float32, offs *int, ker *float32, taps, n int)

// f32TapSumAVX2 is f32TapSumAVX512 for n a multiple of 8 (32, then 8
// outputs per step).
//
//go:noescape
func f32TapSumAVX2(dst, src *float32, offs *int, ker *float32, taps, n int)

// f32TapMaxAVX512 is, for i < n:
//
//	m = src[offs[0]+i]; for 1 ≤ t < taps { v = src[offs[t]+i]; if v > m || v != v { m = v } }; dst[i] = m
//
// as m = v > m ? v : m (VMAXPS with m second), then m = v where v is NaN
// (VCMPPS unordered, masked move); 64, then 16 outputs per step, then a
// masked tail.
//
//go:noescape
func f32TapMaxAVX512(dst, src *float32, offs *int, taps, n int)

// f32TapMaxAVX2 is f32TapMaxAVX512 for n a multiple of 8 (the NaN select
// with VBLENDVPS).
//
//go:noescape
func f32TapMaxAVX2(dst, src *float32, offs *int, taps, n int)

// f32LRN075AVX512 is, for i < n:
//
//	t = bias + a·sq[i]; dst[i] = x[i] / √(t·√t)
//
// (VMULPS, VADDPS, VSQRTPS, VMULPS, VSQRTPS, VDIVPS), masked tail.
//
//go:noescape
func f32LRN075AVX512(dst, x, sq *float32, n int, bias, a float32)

// f32LRN075AVX2 is f32LRN075AVX512 for n a multiple of 8.
//
//go:noescape
func f32LRN075AVX2(dst, x, sq *float32, n int, bias, a float32)

// f32BiasClampAVX512 is, for i < n:
//
//	v = x[i] + bias; if r != nil { v += r[i] }; dst[i] = min(max(v, lo), hi)
//
// with max(v, lo) = lo > v ? lo : v and min(v, hi) = hi < v ? hi : v
// (VMAXPS/VMINPS with v second, so NaN and −0 pass as in the Go loop).
//
//go:noescape
func f32BiasClampAVX512(dst, x, r *float32, n int, bias, lo, hi float32)

// f32BiasClampAVX2 is f32BiasClampAVX512 for n a multiple of 8.
//
//go:noescape
func f32BiasClampAVX2(dst, x, r *float32, n int, bias, lo, hi float32)

// f32Deinterleave2AVX512 is, for k < n rounded down to a multiple of 16,
// ev[k] = src[2k] and od[k] = src[2k+1] (two VPERMI2PS per 32 source
// elements); the caller does the rest.
//
//go:noescape
func f32Deinterleave2AVX512(ev, od, src *float32, n int)

// f32Deinterleave2 is f32Deinterleave2Go, 16 pairs at a time with
// AVX-512.
func f32Deinterleave2(ev, od, src []float32) {
	n := len(od)
	v := 0
	if frowActive == frowAVX512 && n >= 16 {
		v = n &^ 15
		_, _ = ev[v-1], src[2*v-1]
		f32Deinterleave2AVX512(&ev[0], &od[0], &src[0], v)
	}
	f32Deinterleave2Go(ev[v:], od[v:], src[2*v:])
}

// f32TapSum computes dst with the fastest available twin of f32TapSumGo.
// Every offs[t]+len(dst)-1 must index src.
func f32TapSum(dst, src []float32, offs []int, ker []float32) {
	n := len(dst)
	if n == 0 || len(ker) == 0 || frowActive == frowGo {
		f32TapSumGo(dst, src, offs, ker)
		return
	}
	offs = offs[:len(ker)]
	for _, o := range offs {
		_ = src[o+n-1] // the assembly reads src[o : o+n]
	}
	if frowActive == frowAVX512 {
		f32TapSumAVX512(&dst[0], &src[0], &offs[0], &ker[0], len(ker), n)
		return
	}
	v := n &^ 7
	if v > 0 {
		f32TapSumAVX2(&dst[0], &src[0], &offs[0], &ker[0], len(ker), v)
	}
	if v < n {
		f32TapSumGo(dst[v:], src[v:], offs, ker)
	}
}

// f32TapMax computes dst with the fastest available twin of f32TapMaxGo.
// Every offs[t]+len(dst)-1 must index src; offs must not be empty.
func f32TapMax(dst, src []float32, offs []int) {
	n := len(dst)
	if n == 0 || frowActive == frowGo {
		f32TapMaxGo(dst, src, offs)
		return
	}
	for _, o := range offs {
		_ = src[o+n-1] // the assembly reads src[o : o+n]
	}
	if frowActive == frowAVX512 {
		f32TapMaxAVX512(&dst[0], &src[0], &offs[0], len(offs), n)
		return
	}
	v := n &^ 7
	if v > 0 {
		f32TapMaxAVX2(&dst[0], &src[0], &offs[0], len(offs), v)
	}
	if v < n {
		f32TapMaxGo(dst[v:], src[v:], offs)
	}
}

// f32BiasClamp computes dst with the fastest available twin of
// f32BiasClampGo.
func f32BiasClamp(dst, x, r []float32, bias, lo, hi float32) {
	n := len(dst)
	if n == 0 || frowActive == frowGo {
		f32BiasClampGo(dst, x, r, bias, lo, hi)
		return
	}
	x = x[:n]
	var rp *float32
	if r != nil {
		r = r[:n]
		rp = &r[0]
	}
	if frowActive == frowAVX512 {
		f32BiasClampAVX512(&dst[0], &x[0], rp, n, bias, lo, hi)
		return
	}
	v := n &^ 7
	if v > 0 {
		f32BiasClampAVX2(&dst[0], &x[0], rp, v, bias, lo, hi)
	}
	if v < n {
		var rt []float32
		if r != nil {
			rt = r[v:]
		}
		f32BiasClampGo(dst[v:], x[v:], rt, bias, lo, hi)
	}
}

// f32LRN075 computes dst with the fastest available twin of f32LRN075Go.
func f32LRN075(dst, x, sq []float32, bias, a float32) {
	n := len(dst)
	if n == 0 || frowActive == frowGo {
		f32LRN075Go(dst, x, sq, bias, a)
		return
	}
	x, sq = x[:n], sq[:n]
	if frowActive == frowAVX512 {
		f32LRN075AVX512(&dst[0], &x[0], &sq[0], n, bias, a)
		return
	}
	v := n &^ 7
	if v > 0 {
		f32LRN075AVX2(&dst[0], &x[0], &sq[0], v, bias, a)
	}
	if v < n {
		f32LRN075Go(dst[v:], x[v:], sq[v:], bias, a)
	}
}
