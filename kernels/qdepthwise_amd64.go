//go:build amd64 && !purego

package kernels

// Assembly kernels of the depthwise convolution (qdepthwise_amd64.s), which
// qcore_amd64.go puts in the integer engine's kernel sets. Each stub's
// comment is the Go loop it computes.

// depthwiseS8U8AVX512VBMI is the vector form of one channel plane of the
// depthwise convolution (runVector in qdepthwise.go; dwArgs holds the
// operands), as the reference loop
//
//	for oh < a.oh { for ow in the blocks {
//		acc = rowAdd + Σ_t w[t]·x(oh, ow, t) (+ rowMul·Σ_t x(oh, ow, t) when useSum)
//		out[oh][ow] = out32 ? acc : byte(round_half_even(min(max(float32(acc)·mult, flo), fhi)) + zy)
//	}}
//
// where x(oh, ow, t) is the (flipped) input byte of tap t, padding reading
// fill.
//
//go:noescape
func depthwiseS8U8AVX512VBMI(a *dwArgs)

// dwRowI16AVX2 is dwRowGo for n a multiple of 8:
//
//	for i < n { acc[i] = Σ_{t < ntaps} coefs[t] * int32(plane[offs[t]+i]) }   (int32, wrapping)
//
//go:noescape
func dwRowI16AVX2(acc *int32, plane *int16, offs *int64, coefs *int32, ntaps, n int)

// dwRowAVX2 runs dwRowI16AVX2 on the first multiple of 8 outputs and, for the
// rest, once more on the last 8 (the kernel sets acc, so outputs computed
// twice come out the same); rows shorter than 8 go to dwRowGo.
func dwRowAVX2(acc []int32, plane []int16, offs []int64, coefs []int32) {
	n := len(acc)
	if n < 8 || len(offs) == 0 {
		dwRowGo(acc, plane, offs, coefs)
		return
	}
	for _, o := range offs {
		_ = plane[int(o)+n-1] // the kernel reads plane[o : o+n]
	}
	_ = coefs[len(offs)-1]
	n8 := n &^ 7
	dwRowI16AVX2(&acc[0], &plane[0], &offs[0], &coefs[0], len(offs), n8)
	if n8 < n {
		dwRowI16AVX2(&acc[n-8], &plane[n-8], &offs[0], &coefs[0], len(offs), 8)
	}
}

// centreU8I16AVX2 is centreGo for n a multiple of 16:
//
//	for i < n { dst[i] = int16(int32(src[i]^byte(flip)) - int32(zx)) }
//
//go:noescape
func centreU8I16AVX2(dst *int16, src *byte, n int, flip, zx int)

// centreAVX2 runs centreU8I16AVX2 on the first multiple of 16 values and, for the
// rest, once more on the last 16; shorter rows go to centreGo.
func centreAVX2(dst []int16, src []byte, flip byte, zx int32) {
	n := len(src)
	if n < 16 {
		centreGo(dst, src, flip, zx)
		return
	}
	_ = dst[n-1]
	n16 := n &^ 15
	centreU8I16AVX2(&dst[0], &src[0], n16, int(flip), int(zx))
	if n16 < n {
		centreU8I16AVX2(&dst[n-16], &src[n-16], 16, int(flip), int(zx))
	}
}

// deinterleave2U8I16AVX2 is deinterleave2Go for n a multiple of 32:
//
//	for i < n { c = int16(int32(src[i]^byte(flip)) - int32(zx)); if i%2 == 0 { even[i/2] = c } else { odd[i/2] = c } }
//
//go:noescape
func deinterleave2U8I16AVX2(even, odd *int16, src *byte, n, flip, zx int)

// deinterleave2AVX2 runs deinterleave2U8I16AVX2 on the first multiple of 32 bytes,
// then once more on the last 32 from an even offset (so that the phases
// line up; values written twice come out the same), and deinterleave2Go
// on what is left (at most one byte).
func deinterleave2AVX2(even, odd []int16, src []byte, flip byte, zx int32) {
	n := len(src)
	done := n &^ 31
	if done > 0 {
		_, _ = even[(n+1)/2-1], odd[n/2-1]
		deinterleave2U8I16AVX2(&even[0], &odd[0], &src[0], done, int(flip), int(zx))
		if s := (n - 32) &^ 1; s+32 > done {
			deinterleave2U8I16AVX2(&even[s/2], &odd[s/2], &src[s], 32, int(flip), int(zx))
			done = s + 32
		}
	}
	deinterleave2Go(even[done/2:], odd[done/2:], src[done:], flip, zx)
}
