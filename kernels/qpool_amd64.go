//go:build amd64 && !purego

package kernels

// Assembly row kernels of MaxPool (qpool_amd64.s). dst and src never
// overlap. Each stub's comment is the Go loop it computes (maxIntoU8Go,
// maxInto2U8Go, maxK3S2U8Go in qpool.go).

// maxU8AVX512 is maxIntoU8Go with a masked tail:
//
//	for i < n { dst[i] = max(dst[i], src[i]) }
//
//go:noescape
func maxU8AVX512(dst, src *byte, n int)

// maxU8Stride2AVX512 is maxInto2U8Go, reading src[2n−1] too:
//
//	for j < n { dst[j] = max(dst[j], src[2*j]) }
//
//go:noescape
func maxU8Stride2AVX512(dst, src *byte, n int)

// maxU8AVX2 is maxU8AVX512 for n a multiple of 32.
//
//go:noescape
func maxU8AVX2(dst, src *byte, n int)

// maxU8Stride2AVX2 is maxU8Stride2AVX512 for n a multiple of 16.
//
//go:noescape
func maxU8Stride2AVX2(dst, src *byte, n int)

// maxIntoU8AVX512 is maxIntoU8Go through maxU8AVX512.
func maxIntoU8AVX512(dst, src []byte) {
	n := len(dst)
	if n == 0 {
		return
	}
	_ = src[n-1]
	maxU8AVX512(&dst[0], &src[0], n)
}

// maxInto2U8AVX512 is maxInto2U8Go through maxU8Stride2AVX512, which reads
// one byte past the last tap: when src ends at that tap, the last output
// is computed here.
func maxInto2U8AVX512(dst, src []byte) {
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

// maxIntoU8AVX2 runs maxU8AVX2 on the first multiple of 32 bytes and, for the
// rest, once more on the last 32 (the maximum is idempotent); shorter rows
// go to maxIntoU8Go.
func maxIntoU8AVX2(dst, src []byte) {
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

// maxInto2U8AVX2 runs maxU8Stride2AVX2 on the first multiple of 16 outputs
// and once more on the last 16, as maxIntoU8AVX2; the last output is computed
// here when src ends at its tap, and rows shorter than 17 go to
// maxInto2U8Go.
func maxInto2U8AVX2(dst, src []byte) {
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

// maxU8K3S2AVX512 is maxK3S2U8Go, reading src[2n+2] too:
//
//	for j < n { dst[j] = max(src[2*j], src[2*j+1], src[2*j+2]) }
//
//go:noescape
func maxU8K3S2AVX512(dst, src *byte, n int)

// maxU8K3S2AVX2 is maxU8K3S2AVX512 for n a multiple of 16.
//
//go:noescape
func maxU8K3S2AVX2(dst, src *byte, n int)

// maxK3S2U8AVX512 is maxK3S2U8Go through maxU8K3S2AVX512, which reads one
// byte past the last window: when src ends there, the last output is
// computed here.
func maxK3S2U8AVX512(dst, src []byte) {
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

// maxK3S2U8AVX2 runs maxU8K3S2AVX2 on the first multiple of 16 outputs and
// once more on the last 16 (it sets dst from src alone), the last output
// in Go when src ends at its window; rows shorter than 17 go to
// maxK3S2U8Go.
func maxK3S2U8AVX2(dst, src []byte) {
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
