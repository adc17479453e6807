//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// Assembly implementations (qcore_amd64.s).

//go:noescape
func tileVNNI(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

// tileVNNI16, tileVNNI32 and tileVNNI48 are tileVNNI for the first 16, 32
// or 48 columns (qtile_amd64.s), for the last tile of a row of pixels.
//
//go:noescape
func tileVNNI16(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

//go:noescape
func tileVNNI32(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

//go:noescape
func tileVNNI48(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

//go:noescape
func epilogueAVX512(e *epiArgs)

//go:noescape
func interleaveAVX512(dst, r0, r1, r2, r3 *byte, n int, flip uint32)

//go:noescape
func depthwiseVNNI(a *dwArgs)

//go:noescape
func prepRowsAVX512(dst, src *byte, rows, k, ld int, flip uint32, sums *int32)

func prepRows512(dst, src []byte, rows, k, ld int, flip byte, sums []int32) {
	if rows == 0 || k == 0 {
		clear(sums[:rows])
		return
	}
	_, _, _ = dst[(rows-1)*ld+k-1], src[rows*k-1], sums[rows-1]
	prepRowsAVX512(&dst[0], &src[0], rows, k, ld, uint32(flip)*0x01010101, &sums[0])
}

//go:noescape
func dwRowAVX2(acc *int32, plane *int16, offs *int64, coefs *int32, ntaps, n int)

// dwRow2 runs dwRowAVX2 on the first multiple of 8 outputs and, for the
// rest, once more on the last 8 (the kernel sets acc, so outputs computed
// twice come out the same); rows shorter than 8 go to dwRowGo.
func dwRow2(acc []int32, plane []int16, offs []int64, coefs []int32) {
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
	dwRowAVX2(&acc[0], &plane[0], &offs[0], &coefs[0], len(offs), n8)
	if n8 < n {
		dwRowAVX2(&acc[n-8], &plane[n-8], &offs[0], &coefs[0], len(offs), 8)
	}
}

//go:noescape
func centreAVX2(dst *int16, src *byte, n int, flip, zx int)

// centre2 runs centreAVX2 on the first multiple of 16 values and, for the
// rest, once more on the last 16; shorter rows go to centreGo.
func centre2(dst []int16, src []byte, flip byte, zx int32) {
	n := len(src)
	if n < 16 {
		centreGo(dst, src, flip, zx)
		return
	}
	_ = dst[n-1]
	n16 := n &^ 15
	centreAVX2(&dst[0], &src[0], n16, int(flip), int(zx))
	if n16 < n {
		centreAVX2(&dst[n-16], &src[n-16], 16, int(flip), int(zx))
	}
}

//go:noescape
func deinterleave2AVX2(even, odd *int16, src *byte, n, flip, zx int)

// deinterleave2 runs deinterleave2AVX2 on the first multiple of 32 bytes,
// then once more on the last 32 from an even offset (so that the phases
// line up; values written twice come out the same), and deinterleave2Go
// on what is left (at most one byte).
func deinterleave2(even, odd []int16, src []byte, flip byte, zx int32) {
	n := len(src)
	done := n &^ 31
	if done > 0 {
		_, _ = even[(n+1)/2-1], odd[n/2-1]
		deinterleave2AVX2(&even[0], &odd[0], &src[0], done, int(flip), int(zx))
		if s := (n - 32) &^ 1; s+32 > done {
			deinterleave2AVX2(&even[s/2], &odd[s/2], &src[s], 32, int(flip), int(zx))
			done = s + 32
		}
	}
	deinterleave2Go(even[done/2:], odd[done/2:], src[done:], flip, zx)
}

var vnniKernels = &kernelSet{name: "avx512vnni", tile: tileVNNI, narrow: [3]tileFunc{tileVNNI16, tileVNNI32, tileVNNI48}, epi: epilogueAVX512, interleave: interleave512, prep: prepRows512, dwRow: dwRow2, centre: centre2, deint2: deinterleave2, maxU8: maxU8512, maxU8Stride2: maxU8Stride2512, maxU8K3S2: maxU8K3S2512}

func init() {
	if cpu.Has(cpu.AVX512VBMI) {
		vnniKernels.dw = depthwiseVNNI
	}
	integerKernels.Register(vnniKernels.name, cpu.AVX512VNNI, vnniKernels)
	integerKernels.Register(avx2Kernels.name, cpu.AVX2, avx2Kernels)
}

// interleave512 runs interleaveAVX512 (masked tail); a nil row becomes a
// row of flip bytes, which the flip turns into zeros.
func interleave512(dst []byte, r0, r1, r2, r3 []byte, n int, flip byte) {
	if n == 0 {
		return
	}
	var fill []byte
	rows := [4][]byte{r0, r1, r2, r3}
	for i, r := range rows {
		if r == nil {
			if fill == nil {
				fill = make([]byte, n)
				for j := range fill {
					fill[j] = flip
				}
			}
			rows[i] = fill
		} else {
			_ = r[n-1]
		}
	}
	_ = dst[4*n-1]
	interleaveAVX512(&dst[0], &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], n, uint32(flip)*0x01010101)
}

//go:noescape
func tileAVX2(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, buf *int16, first, sld int)

//go:noescape
func epilogueAVX2(e *epiArgs, n8 int)

var avx2Kernels = &kernelSet{name: "avx2", tile: tileAVX2Chunks, epi: epilogue2, interleave: interleaveGo, prep: prepRowsGo, dwRow: dwRow2, centre: centre2, deint2: deinterleave2, maxU8: maxU82, maxU8Stride2: maxU8Stride22, maxU8K3S2: maxU8K3S22}

// avx2Chunk is the number of k4 groups tileAVX2 widens at a time (into a
// 6 KB stack buffer).
const avx2Chunk = 128

func tileAVX2Chunks(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int) {
	var buf [avx2Chunk * tileMR * 4]int16
	kstep, _ := sSteps(sld)
	first := 1
	for k0 := 0; ; k0 += avx2Chunk {
		n := min(avx2Chunk, k4n-k0)
		tileAVX2((*int8)(unsafe.Add(unsafe.Pointer(s), k0*kstep)), u,
			(*int64)(unsafe.Add(unsafe.Pointer(offs), k0*8)), n, acc, &buf[0], first, sld)
		first = 0
		if k0+n >= k4n {
			return
		}
	}
}

// epilogue2 runs epilogueAVX2 on the multiple-of-8 prefix of the columns
// and epilogueGo on the rest.
func epilogue2(e *epiArgs) {
	n8 := e.n &^ 7
	if n8 > 0 {
		epilogueAVX2(e, int(n8))
	}
	if n8 < e.n {
		t := *e
		t.acc = (*int32)(unsafe.Add(unsafe.Pointer(e.acc), n8*4))
		t.out = unsafe.Add(e.out, n8)
		t.n = e.n - n8
		t.colAdd = (*int32)(unsafe.Add(unsafe.Pointer(e.colAdd), n8*4))
		t.colMul = (*int32)(unsafe.Add(unsafe.Pointer(e.colMul), n8*4))
		if e.multCol != 0 {
			t.mult = (*float32)(unsafe.Add(unsafe.Pointer(e.mult), n8*4))
		}
		epilogueGo(&t)
	}
}

// vnniPeakLoop runs n·24 VPDPBUSD without memory operands (benchmarks).
//
//go:noescape
func vnniPeakLoop(n int)
