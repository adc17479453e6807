//go:build amd64 && !purego

package kernels

// Assembly row kernels of MaxPool (qpool_amd64.s). dst and src never
// overlap.

//go:noescape
func maxU8AVX512(dst, src *byte, n int)

//go:noescape
func maxU8Stride2AVX512(dst, src *byte, n int)

//go:noescape
func maxU8AVX2(dst, src *byte, n int)

//go:noescape
func maxU8Stride2AVX2(dst, src *byte, n int)

// maxU8512 is maxIntoU8Go through maxU8AVX512.
func maxU8512(dst, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[n-1]
	maxU8AVX512(&dst[0], &src[0], n)
}

// maxU8Stride2512 is maxInto2U8Go through maxU8Stride2AVX512, which reads
// one byte past the last tap: when src ends at that tap, the last output
// is computed here.
func maxU8Stride2512(dst, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	if len(src) < 2*n {
		n--
		dst[n] = max(dst[n], src[2*n])
	}
	if n > 0 {
		maxU8Stride2AVX512(&dst[0], &src[0], n)
	}
}

// maxU82 runs maxU8AVX2 on the first multiple of 32 bytes and, for the
// rest, once more on the last 32 (the maximum is idempotent); shorter rows
// go to maxIntoU8Go.
func maxU82(dst, src []byte) {
	n := len(dst)
	if n < 32 {
		maxIntoU8Go(dst, src)
		return
	}
	_ = src[n-1]
	n32 := n &^ 31
	maxU8AVX2(&dst[0], &src[0], n32)
	if n32 < n {
		maxU8AVX2(&dst[n-32], &src[n-32], 32)
	}
}

// maxU8Stride22 runs maxU8Stride2AVX2 on the first multiple of 16 outputs
// and once more on the last 16, as maxU82; the last output is computed
// here when src ends at its tap, and rows shorter than 17 go to
// maxInto2U8Go.
func maxU8Stride22(dst, src []byte) {
	n := len(dst)
	if n <= 16 {
		maxInto2U8Go(dst, src)
		return
	}
	if len(src) < 2*n {
		n--
		dst[n] = max(dst[n], src[2*n])
	}
	n16 := n &^ 15
	maxU8Stride2AVX2(&dst[0], &src[0], n16)
	if n16 < n {
		maxU8Stride2AVX2(&dst[n-16], &src[2*(n-16)], 16)
	}
}

//go:noescape
func maxU8K3S2AVX512(dst, src *byte, n int)

//go:noescape
func maxU8K3S2AVX2(dst, src *byte, n int)

// maxU8K3S2512 is maxK3S2U8Go through maxU8K3S2AVX512, which reads one
// byte past the last window: when src ends there, the last output is
// computed here.
func maxU8K3S2512(dst, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	if len(src) < 2*n+2 {
		n--
		maxK3S2U8Go(dst[n:], src[2*n:])
	}
	if n > 0 {
		maxU8K3S2AVX512(&dst[0], &src[0], n)
	}
}

// maxU8K3S22 runs maxU8K3S2AVX2 on the first multiple of 16 outputs and
// once more on the last 16 (it sets dst from src alone), the last output
// in Go when src ends at its window; rows shorter than 17 go to
// maxK3S2U8Go.
func maxU8K3S22(dst, src []byte) {
	n := len(dst)
	if n <= 16 {
		maxK3S2U8Go(dst, src)
		return
	}
	if len(src) < 2*n+2 {
		n--
		maxK3S2U8Go(dst[n:], src[2*n:])
	}
	n16 := n &^ 15
	maxU8K3S2AVX2(&dst[0], &src[0], n16)
	if n16 < n {
		maxU8K3S2AVX2(&dst[n-16], &src[2*(n-16)], 16)
	}
}
