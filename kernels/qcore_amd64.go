//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// Assembly implementations of the integer engine (qcore_amd64.s), and
// their registration with internal/cpu. Each stub's comment is the Go loop
// it computes (tileGo, epilogueGo, interleaveGo, prepRowsGo in qcore.go).

// gemmS8U8Tile6x64AVX512VNNI computes one 6×64 tile of signed S times
// unsigned U (tileFunc) with VPDPBUSD, as tileGo:
//
//	acc = 0
//	for k4 < k4n { for r < 6 { for c < 64 { for t < 4 {
//		acc[r*64+c] += int32(S(k4, r, t)) * int32(u[offs[k4]+c*4+t])
//	}}}}
//
// S(k4, r, t) = s[k4*24+r*4+t] when sld = 0 (packed), s[r*sld+k4*4+t]
// otherwise.
//
//go:noescape
func gemmS8U8Tile6x64AVX512VNNI(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

// gemmS8U8Tile6x16AVX512VNNI is gemmS8U8Tile6x64AVX512VNNI for the first
// 16 columns only (c < 16; the other columns of acc are left as they are),
// for the last tile of a row of pixels; the 6x32 and 6x48 tiles likewise
// for 32 and 48 columns.
//
//go:noescape
func gemmS8U8Tile6x16AVX512VNNI(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

//go:noescape
func gemmS8U8Tile6x32AVX512VNNI(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

//go:noescape
func gemmS8U8Tile6x48AVX512VNNI(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

// requantI32AVX512 is epilogueGo, the engine's requantization, with masked
// tails: for r < rows, c < n,
//
//	v = acc[r*accStride+c] + rowAdd[r] + colAdd[c] + rowMul[r]*colMul[c]
//	f = min(max(float32(v)*mult[r or c], flo), fhi)
//	out[r*outStride+c] = byte(round_half_even(f) + zy)
//
//go:noescape
func requantI32AVX512(e *epiArgs)

// interleave4U8AVX512 is interleaveGo on four rows (none nil) with a
// masked tail, flip broadcast to the four bytes of a uint32:
//
//	for i < n { for t < 4 { dst[4*i+t] = rows[t][i] ^ byte(flip) } }
//
//go:noescape
func interleave4U8AVX512(dst, r0, r1, r2, r3 *byte, n int, flip uint32)

// prepRowsS8AVX512 is prepRowsGo (rows, k > 0), flip broadcast to the four
// bytes of a uint32:
//
//	for r < rows { sum = 0; for i < k { v = src[r*k+i] ^ byte(flip); dst[r*ld+i] = v; sum += int32(int8(v)) }; sums[r] = sum }
//
//go:noescape
func prepRowsS8AVX512(dst, src *byte, rows, k, ld int, flip uint32, sums *int32)

// prepRowsAVX512 is prepRowsGo through prepRowsS8AVX512.
func prepRowsAVX512(dst, src []byte, rows, k, ld int, flip byte, sums []int32) {
	if rows == 0 || k == 0 {
		clear(sums[:rows])
		return
	}
	_, _, _ = dst[(rows-1)*ld+k-1], src[rows*k-1], sums[rows-1]
	prepRowsS8AVX512(&dst[0], &src[0], rows, k, ld, uint32(flip)*0x01010101, &sums[0])
}

var vnniKernels = &kernelSet{name: "avx512vnni", tile: gemmS8U8Tile6x64AVX512VNNI, narrow: [3]tileFunc{gemmS8U8Tile6x16AVX512VNNI, gemmS8U8Tile6x32AVX512VNNI, gemmS8U8Tile6x48AVX512VNNI}, epi: requantI32AVX512, interleave: interleaveAVX512, prep: prepRowsAVX512, dwRow: dwRowAVX2, centre: centreAVX2, deint2: deinterleave2AVX2, maxU8: maxIntoU8AVX512, maxU8Stride2: maxInto2U8AVX512, maxU8K3S2: maxK3S2U8AVX512}

func init() {
	if cpu.Has(cpu.AVX512VBMI) {
		vnniKernels.dw = depthwiseS8U8AVX512VBMI
	}
	integerKernels.Register(vnniKernels.name, cpu.AVX512VNNI, vnniKernels)
	integerKernels.Register(avx2Kernels.name, cpu.AVX2, avx2Kernels)
}

// interleaveAVX512 runs interleave4U8AVX512 (masked tail); a nil row becomes a
// row of flip bytes, which the flip turns into zeros.
func interleaveAVX512(dst []byte, r0, r1, r2, r3 []byte, n int, flip byte) {
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
	interleave4U8AVX512(&dst[0], &rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0], n, uint32(flip)*0x01010101)
}

// gemmS8U8Tile6x64AVX2 is gemmS8U8Tile6x64AVX512VNNI with AVX2 (S and U
// widened to int16, VPMADDWD) over at most avx2Chunk k4 groups, S widened
// into buf first; first = 1 sets acc, first = 0 adds to it:
//
//	if first { acc = 0 }
//	for k4 < k4n { for r < 6 { for c < 64 { for t < 4 {
//		acc[r*64+c] += int32(S(k4, r, t)) * int32(u[offs[k4]+c*4+t])
//	}}}}
//
//go:noescape
func gemmS8U8Tile6x64AVX2(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, buf *int16, first, sld int)

// requantI32AVX2 is requantI32AVX512 on the first n8 columns, n8 a
// multiple of 8 (epilogueAVX2 finishes the row with epilogueGo).
//
//go:noescape
func requantI32AVX2(e *epiArgs, n8 int)

var avx2Kernels = &kernelSet{name: "avx2", tile: gemmS8U8Tile6x64AVX2Chunked, epi: epilogueAVX2, interleave: interleaveGo, prep: prepRowsGo, dwRow: dwRowAVX2, centre: centreAVX2, deint2: deinterleave2AVX2, maxU8: maxIntoU8AVX2, maxU8Stride2: maxInto2U8AVX2, maxU8K3S2: maxK3S2U8AVX2}

// avx2Chunk is the number of k4 groups gemmS8U8Tile6x64AVX2 widens at a
// time (into a 6 KB stack buffer).
const avx2Chunk = 128

// gemmS8U8Tile6x64AVX2Chunked is the tileFunc of the AVX2 engine:
// gemmS8U8Tile6x64AVX2 over chunks of avx2Chunk k4 groups.
func gemmS8U8Tile6x64AVX2Chunked(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int) {
	var buf [avx2Chunk * tileMR * 4]int16
	kstep, _ := sSteps(sld)
	first := 1
	for k0 := 0; ; k0 += avx2Chunk {
		n := min(avx2Chunk, k4n-k0)
		gemmS8U8Tile6x64AVX2((*int8)(unsafe.Add(unsafe.Pointer(s), k0*kstep)), u,
			(*int64)(unsafe.Add(unsafe.Pointer(offs), k0*8)), n, acc, &buf[0], first, sld)
		first = 0
		if k0+n >= k4n {
			return
		}
	}
}

// epilogueAVX2 runs requantI32AVX2 on the multiple-of-8 prefix of the columns
// and epilogueGo on the rest.
func epilogueAVX2(e *epiArgs) {
	n8 := e.n &^ 7
	if n8 > 0 {
		requantI32AVX2(e, int(n8))
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

// peakLoopAVX512VNNI runs n·24 VPDPBUSD without memory operands
// (benchmarks: for i < n { 24 independent VPDPBUSD }).
//
//go:noescape
func peakLoopAVX512VNNI(n int)
