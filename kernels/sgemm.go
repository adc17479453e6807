package kernels

import (
	"unsafe"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// The assembly float GEMM (AVX-512F or AVX2+FMA micro-kernels, see
// sgemm_gen.go) and its driver. Gemm uses it when the CPU has one of them;
// otherwise, and with the purego build tag, it runs gemmGo.
//
// Numerics: every element of C is one chain of fused multiply-adds,
//
//	c ← fma(op(A)[i][p], op(B)[p][j], c)   for p = 0, 1, …, k−1
//
// starting from C (accumulate) or 0. Blocking only cuts that chain where
// the partial sum is stored to C and loaded back, which is exact, so the
// result depends neither on the blocking nor on how the work is split
// across goroutines (K is never split), nor on which micro-kernel runs:
// the AVX-512 and AVX2 paths agree bit for bit.

// sgemmKernel computes an r×nr tile of C, r fixed by the kernel (1..mr):
//
//	C[i][j] = chain over p < k of fma(A[i·rsA + p·csA], B[p·ldb + j], ·)
//
// from C[i·ldc + j] when load != 0, else from 0. A is read in place
// (rsA/csA are element strides, so op(A) = A or Aᵀ needs no packing); B is
// a packed panel (ldb = nr) or, when op(B) = B and the tile is full width,
// B itself.
type sgemmKernel func(a, b, c *float32, k, rsA, csA, ldb, ldc, load int)

// sgemmImpl is one micro-kernel family: kern[r-1] computes r rows.
type sgemmImpl struct {
	name   string
	mr, nr int
	kern   []sgemmKernel
}

// Blocking. A k block of sgemmKC keeps a B micro-panel (KC×48 floats,
// 24 KiB, half the 48 KiB L1) there while the row panels of A stream past it
// from L2; an sgemmMC×sgemmKC block of A is 256 KiB (a quarter of a 1 MiB
// L2); one goroutine's packed B block is at most sgemmKC×sgemmNC floats.
// KC = 128 measured best among 128/192/256 on the conv-shaped product;
// 512³ was within noise for all three.
const (
	sgemmKC = 128
	sgemmMC = 512
	sgemmNC = 1536 // a multiple of every nr
	// sgemmParallelWork is the number of multiply-adds from which a product
	// is split across goroutines: 4M, some 50 µs on one core, well above
	// the cost of waking a second one (at 256K the 1x1 convolutions of a
	// 32x32 image were split and a CIFAR MobileNetV2 ran slower on two
	// cores than on one).
	sgemmParallelWork = 1 << 22
	// sgemmChunksPerThread is the number of strips per goroutine a split
	// product is cut into.
	sgemmChunksPerThread = 4
)

// sgemmFamily is the name of the float GEMM's kernel family in
// internal/cpu.
const sgemmFamily = "kernels.sgemm"

// sgemmActive is the implementation Gemm uses (nil: gemmGo): the fastest
// this CPU runs, chosen once by internal/cpu from those sgemm_amd64.go
// registers. EIGHTBIT_CPU_DISABLE hides the faster ones.
var sgemmActive *sgemmImpl

var sgemmKernels = cpu.NewFamily(sgemmFamily, &sgemmActive, "go", (*sgemmImpl)(nil))

// sgemm is Gemm on the assembly path; m, n > 0.
func sgemm(impl *sgemmImpl, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	// The kernels index with raw pointers: check the extents first, as the
	// slice expressions of a Go loop would.
	_ = c[(m-1)*ldc+n-1]
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	rsA, csA := lda, 1
	if transA {
		rsA, csA = 1, lda
	}
	_ = a[(m-1)*rsA+(k-1)*csA]
	if transB {
		_ = b[(n-1)*ldb+k-1]
	} else {
		_ = b[(k-1)*ldb+n-1]
	}

	nt := threads()
	if m*n*k < sgemmParallelWork {
		nt = 1
	}
	impl = sgemmNarrow(impl, n)
	mr, nr := impl.mr, impl.nr
	mpan, npan := (m+mr-1)/mr, (n+nr-1)/nr
	nt = min(nt, max(mpan, npan))
	job := sgemmJob{impl: impl, transB: transB, m: m, n: n, k: k, a: a, rsA: rsA, csA: csA, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate}
	if nt <= 1 {
		job.run(0, m, 0, n) // job stays on the stack
		return
	}
	j := new(sgemmJob)
	*j = job
	// Cut the output into strips of whole tiles along the dimension with
	// more tiles (N on a tie: the strips then share A and read disjoint
	// parts of B), about sgemmChunksPerThread per goroutine, and let the
	// goroutines share them out (runChunks): a goroutine that starts late
	// leaves its share to the others instead of delaying the whole product.
	overN := npan >= mpan
	pan := mpan
	if overN {
		pan = npan
	}
	chunks := min(pan, sgemmChunksPerThread*nt)
	runChunks(nt, chunks, func(t int) {
		p0, p1 := t*pan/chunks, (t+1)*pan/chunks
		if overN {
			j.run(0, m, p0*nr, min(p1*nr, n))
		} else {
			j.run(p0*mr, min(p1*mr, m), 0, n)
		}
	})
}

type sgemmJob struct {
	impl       *sgemmImpl
	transB     bool
	m, n, k    int
	a          []float32
	rsA, csA   int
	b          []float32
	ldb        int
	c          []float32
	ldc        int
	accumulate bool
}

// run computes the rows [i0, i1) × columns [j0, j1) of C; i0 is a multiple
// of mr and j0 of nr.
func (j *sgemmJob) run(i0, i1, j0, j1 int) {
	impl := j.impl
	mr, nr := impl.mr, impl.nr
	ncMax := min(sgemmNC, (j1-j0+nr-1)/nr*nr)
	kcMax := min(sgemmKC, j.k)
	raw := getBuf(kcMax*ncMax + 16 + mr*nr)
	defer putBuf(raw)
	bp := align64(*raw)
	tmp := bp[kcMax*ncMax:][:mr*nr]
	bp = bp[:kcMax*ncMax]
	mc := sgemmMC / mr * mr
	a, c, ldc, rsA, csA := j.a, j.c, j.ldc, j.rsA, j.csA
	direct := sgemmDirectB(j.transB)
	for jc := j0; jc < j1; jc += sgemmNC {
		nb := min(sgemmNC, j1-jc)
		for pc := 0; pc < j.k; pc += sgemmKC {
			kb := min(sgemmKC, j.k-pc)
			sgemmPackB(bp, j.transB, direct, j.b, j.ldb, pc, jc, kb, nb, nr)
			load := 0
			if j.accumulate || pc > 0 {
				load = 1
			}
			for ic := i0; ic < i1; ic += mc {
				ie := min(ic+mc, i1)
				for jr := 0; jr < nb; jr += nr {
					cols := min(nr, nb-jr)
					bpan, bst := &bp[jr*kb], nr
					if direct && cols == nr {
						bpan, bst = &j.b[pc*j.ldb+jc+jr], j.ldb
					}
					for i := ic; i < ie; i += mr {
						rows := min(mr, ie-i)
						kern := impl.kern[rows-1]
						ap := &a[i*rsA+pc*csA]
						coff := i*ldc + jc + jr
						if cols == nr {
							kern(ap, bpan, &c[coff], kb, rsA, csA, bst, ldc, load)
							continue
						}
						if e := sgemmNarrow(impl, cols); e != impl {
							j.narrowEdge(e, i, rows, pc, kb, coff, cols, bpan, bst, load, tmp)
							continue
						}
						// Right edge: run the full-width tile on tmp.
						if load != 0 {
							for r := 0; r < rows; r++ {
								copy(tmp[r*nr:r*nr+cols], c[coff+r*ldc:coff+r*ldc+cols])
							}
						}
						kern(ap, bpan, &tmp[0], kb, rsA, csA, bst, nr, load)
						for r := 0; r < rows; r++ {
							copy(c[coff+r*ldc:coff+r*ldc+cols], tmp[r*nr:r*nr+cols])
						}
					}
				}
			}
		}
	}
}

// narrowEdge computes the rows [i, i+rows) of a right-edge tile of cols
// columns with the narrower kernels e (sgemmNarrow), in steps of e.mr rows
// on tmp: for a tail of up to 16 columns a 48-column tile would compute
// mostly padding. B is the packed panel bpan (bst floats per k), whose
// first e.nr columns e reads; the results are those of the wide kernels
// bit for bit.
func (j *sgemmJob) narrowEdge(e *sgemmImpl, i, rows, pc, kb, coff, cols int, bpan *float32, bst, load int, tmp []float32) {
	c, ldc := j.c, j.ldc
	for r0 := 0; r0 < rows; r0 += e.mr {
		rr := min(e.mr, rows-r0)
		co := coff + r0*ldc
		if load != 0 {
			for r := 0; r < rr; r++ {
				copy(tmp[r*e.nr:r*e.nr+cols], c[co+r*ldc:co+r*ldc+cols])
			}
		}
		e.kern[rr-1](&j.a[(i+r0)*j.rsA+pc*j.csA], bpan, &tmp[0], kb, j.rsA, j.csA, bst, e.nr, load)
		for r := 0; r < rr; r++ {
			copy(c[co+r*ldc:co+r*ldc+cols], tmp[r*e.nr:r*e.nr+cols])
		}
	}
}

// align64 returns the suffix of buf that starts on a 64-byte boundary (buf
// must have 15 floats to spare).
func align64(buf []float32) []float32 {
	off := (64 - uintptr(unsafe.Pointer(&buf[0]))%64) % 64 / 4
	return buf[off:]
}

// sgemmDirectB reports whether the kernels read full-width panels of B in
// place rather than from a packed copy: when op(B) = B, whose rows already
// hold nr consecutive floats per k. (Measured on the 64×3136×576 product of
// a 3x3 convolution, where B is the 7 MiB im2col matrix: copying it cost
// about a third of the time; reading it in place, also at the 2 KiB row
// stride of 512×512, keeps the kernels near their L1 speed.)
func sgemmDirectB(transB bool) bool {
	return !transB
}

// sgemmPackB copies the kb×nb block of op(B) at (p0, j0) into nr-column
// panels: panel q holds op(B)[p0+p][j0+q·nr+jj] at q·nr·kb + p·nr + jj, zero
// beyond nb. With direct, only a last partial panel is packed.
func sgemmPackB(dst []float32, transB, direct bool, b []float32, ldb, p0, j0, kb, nb, nr int) {
	if !transB {
		first := 0
		if direct {
			first = nb / nr * nr
		}
		for p := 0; p < kb; p++ {
			row := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+nb]
			for jr := first; jr < nb; jr += nr {
				d := dst[jr*kb+p*nr : jr*kb+p*nr+nr]
				clear(d[copy(d, row[jr:]):])
			}
		}
		return
	}
	for jr := 0; jr < nb; jr += nr {
		pan := dst[jr*kb : jr*kb+kb*nr]
		cols := min(nr, nb-jr)
		jj := 0
		for ; jj+4 <= cols; jj += 4 {
			s0 := b[(j0+jr+jj)*ldb+p0:][:kb]
			s1 := b[(j0+jr+jj+1)*ldb+p0:][:kb]
			s2 := b[(j0+jr+jj+2)*ldb+p0:][:kb]
			s3 := b[(j0+jr+jj+3)*ldb+p0:][:kb]
			for p := range s0 {
				d := pan[p*nr+jj : p*nr+jj+4]
				d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
			}
		}
		for ; jj < cols; jj++ {
			s := b[(j0+jr+jj)*ldb+p0:][:kb]
			for p, v := range s {
				pan[p*nr+jj] = v
			}
		}
		if cols < nr {
			for p := 0; p < kb; p++ {
				clear(pan[p*nr+cols : p*nr+nr])
			}
		}
	}
}
