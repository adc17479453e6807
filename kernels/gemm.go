package kernels

import (
	"runtime"
	"sync"
)

// Blocking parameters of the float GEMM. The K dimension is cut into blocks
// of gemmKC, the N dimension into blocks of gemmNC; within a block, A is
// packed into 4-row panels and B into 4-column panels that the 4x4 register
// kernel walks.
const (
	gemmKC = 256
	gemmNC = 512
	gemmMC = 64
	// gemmParallelWork is the number of multiply-adds from which a GEMM is
	// split across goroutines.
	gemmParallelWork = 1 << 21
)

// MaxThreads bounds the goroutines one GEMM uses (0 means GOMAXPROCS).
// Results never depend on it: work is split on output rows only.
var MaxThreads = 0

func threads() int {
	t := runtime.GOMAXPROCS(0)
	if MaxThreads > 0 && MaxThreads < t {
		t = MaxThreads
	}
	return t
}

// Gemm computes C = op(A)·op(B), or C += op(A)·op(B) when accumulate is
// true, for row-major matrices: op(A) is m×k (A is stored k×m when transA),
// op(B) is k×n (B is stored n×k when transB); lda, ldb and ldc are the row
// strides of the stored matrices.
//
// On amd64 (without the purego tag) an assembly SGEMM runs (sgemm.go):
// AVX-512F, else AVX2+FMA, chosen once by internal/cpu (family
// kernels.sgemm; EIGHTBIT_CPU_DISABLE hides the faster ones). Each
// element of C is then a single chain of
// fused multiply-adds in increasing k, from C (accumulate) or 0, so the
// result is the same for every goroutine count and for both kernel
// families. Otherwise gemmGo runs: the sum over k is formed in blocks of
// 256 in increasing k order, each block sum added to C; the order of
// additions does not depend on the number of goroutines either. Results
// are reproducible on a given build and CPU family.
func Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m == 0 || n == 0 {
		return
	}
	if impl := sgemmActive; impl != nil {
		sgemm(impl, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	gemmGo(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// gemmGo is the pure-Go Gemm (no assembly, or EIGHTBIT_CPU_DISABLE=avx512,avx2): K blocks
// of 256 summed separately and added to C, 4x4 register tiles.
func gemmGo(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if !accumulate {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] = 0
			}
		}
	}
	if k == 0 {
		return
	}
	if m <= 2 {
		gemmSmallM(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	nt := threads()
	if m*n*k < gemmParallelWork || m < 8 {
		nt = 1
	}
	nc := gemmNC
	if n < nc {
		nc = n
	}
	kc := min(gemmKC, k)
	bbuf := getBuf(kc * roundUp4(nc))
	defer putBuf(bbuf)
	bpack := *bbuf
	apacks := make([][]float32, nt)
	for t := range apacks {
		abuf := getBuf(min(gemmMC, roundUp4(m)) * kc)
		defer putBuf(abuf)
		apacks[t] = *abuf
	}
	for j0 := 0; j0 < n; j0 += gemmNC {
		nb := min(gemmNC, n-j0)
		for p0 := 0; p0 < k; p0 += gemmKC {
			kb := min(gemmKC, k-p0)
			packB(transB, b, ldb, p0, j0, kb, nb, bpack)
			// Row blocks of gemmMC are dealt out to the goroutines.
			nblocks := (m + gemmMC - 1) / gemmMC
			if nt == 1 || nblocks == 1 {
				for i0 := 0; i0 < m; i0 += gemmMC {
					mb := min(gemmMC, m-i0)
					packA(transA, a, lda, i0, p0, mb, kb, apacks[0])
					macroKernel(mb, nb, kb, apacks[0], bpack, c[i0*ldc+j0:], ldc)
				}
				continue
			}
			var wg sync.WaitGroup
			for t := 0; t < nt; t++ {
				wg.Add(1)
				go func(t int) {
					defer wg.Done()
					for blk := t; blk < nblocks; blk += nt {
						i0 := blk * gemmMC
						mb := min(gemmMC, m-i0)
						packA(transA, a, lda, i0, p0, mb, kb, apacks[t])
						macroKernel(mb, nb, kb, apacks[t], bpack, c[i0*ldc+j0:], ldc)
					}
				}(t)
			}
			wg.Wait()
		}
	}
}

func roundUp4(x int) int { return (x + 3) &^ 3 }

// packPool recycles packing and scratch buffers between calls; it holds
// *[]float32 so that handing a buffer back allocates nothing.
var packPool sync.Pool

// getBuf returns a buffer of at least n floats (*b[:n] is the slice to
// use); give it back with putBuf.
func getBuf(n int) *[]float32 {
	b, ok := packPool.Get().(*[]float32)
	if !ok {
		b = new([]float32)
	}
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return b
}

func putBuf(b *[]float32) { packPool.Put(b) }

// packA copies the mb×kb block of op(A) at (i0, p0) into 4-row panels:
// panel r holds, for each p, the four values A[i0+4r+0..3][p0+p] (zero
// beyond mb).
func packA(transA bool, a []float32, lda, i0, p0, mb, kb int, dst []float32) {
	idx := 0
	for r := 0; r < mb; r += 4 {
		rows := min(4, mb-r)
		for p := 0; p < kb; p++ {
			for ii := 0; ii < 4; ii++ {
				var v float32
				if ii < rows {
					if transA {
						v = a[(p0+p)*lda+i0+r+ii]
					} else {
						v = a[(i0+r+ii)*lda+p0+p]
					}
				}
				dst[idx] = v
				idx++
			}
		}
	}
}

// packB copies the kb×nb block of op(B) at (p0, j0) into 4-column panels.
func packB(transB bool, b []float32, ldb, p0, j0, kb, nb int, dst []float32) {
	idx := 0
	for c := 0; c < nb; c += 4 {
		cols := min(4, nb-c)
		for p := 0; p < kb; p++ {
			if !transB && cols == 4 {
				src := b[(p0+p)*ldb+j0+c : (p0+p)*ldb+j0+c+4]
				dst[idx], dst[idx+1], dst[idx+2], dst[idx+3] = src[0], src[1], src[2], src[3]
				idx += 4
				continue
			}
			for jj := 0; jj < 4; jj++ {
				var v float32
				if jj < cols {
					if transB {
						v = b[(j0+c+jj)*ldb+p0+p]
					} else {
						v = b[(p0+p)*ldb+j0+c+jj]
					}
				}
				dst[idx] = v
				idx++
			}
		}
	}
}

func macroKernel(mb, nb, kb int, ap, bp []float32, c []float32, ldc int) {
	for r := 0; r < mb; r += 4 {
		apan := ap[r*kb : r*kb+4*kb]
		rows := min(4, mb-r)
		for q := 0; q < nb; q += 4 {
			bpan := bp[q*kb : q*kb+4*kb]
			cols := min(4, nb-q)
			kernel4x4(apan, bpan, c[r*ldc+q:], ldc, rows, cols)
		}
	}
}

// kernel4x4 adds the product of a 4-row panel and a 4-column panel to the
// rows×cols corner of c, keeping the 16 partial sums in registers.
func kernel4x4(ap, bp []float32, c []float32, ldc, rows, cols int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for len(ap) >= 4 && len(bp) >= 4 {
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		ap = ap[4:]
		bp = bp[4:]
	}
	acc := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := 0; i < rows; i++ {
		row := c[i*ldc : i*ldc+cols]
		for j := range row {
			row[j] += acc[i][j]
		}
	}
}

// gemmSmallM handles one or two rows of op(A) (matrix-vector products)
// without packing.
func gemmSmallM(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	av := make([]float32, k)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			if transA {
				av[p] = a[p*lda+i]
			} else {
				av[p] = a[i*lda+p]
			}
		}
		crow := c[i*ldc : i*ldc+n]
		if transB {
			for j := range crow {
				brow := b[j*ldb : j*ldb+k]
				var s0, s1, s2, s3 float32
				p := 0
				for ; p+4 <= k; p += 4 {
					s0 += av[p] * brow[p]
					s1 += av[p+1] * brow[p+1]
					s2 += av[p+2] * brow[p+2]
					s3 += av[p+3] * brow[p+3]
				}
				for ; p < k; p++ {
					s0 += av[p] * brow[p]
				}
				crow[j] += (s0 + s1) + (s2 + s3)
			}
			continue
		}
		for p := 0; p < k; p++ {
			x := av[p]
			brow := b[p*ldb : p*ldb+n]
			for j, w := range brow {
				crow[j] += x * w
			}
		}
	}
}
