package kernels

import (
	"math"
	"unsafe"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// The integer engine. Every integer product (convolution or matrix product)
// is computed as tiles of
//
//	acc[r][c] = Σ_k S[r][k] · U[k][c]
//
// with S signed bytes (broadcast operand) and U unsigned bytes (vector
// operand), the operand types of VPDPBUSD. Any 8-bit operand is brought to
// the needed signedness by flipping its top bit (v ^ 0x80 = v ± 128) and
// moving its zero point by the same 128, so that
//
//	Σ (u − zu)(s − zs) = Σ u·s − zs·Σu − zu·Σs + K·zu·zs
//
// is exact in int32 (wrap-around arithmetic agrees with the reference
// modulo 2^32, hence bit for bit). The correction terms are folded into the
// epilogue as v = acc + rowAdd[r] + colAdd[c] + rowMul[r]·colMul[c], which is
// then requantized.
//
// A tile is tileMR rows by tileNR columns. S is either packed per block of
// tileMR rows as [K/4][tileMR][4] bytes (sld = 0: constant weights), or
// read in place from tileMR rows of sld bytes each (sld > 0: the rows of a
// GEMM's A, after the flip). U is read through a table of byte offsets,
// one per group of 4 k: the vector of tileNR columns × 4 bytes for group k4
// starts at u + offs[k4]. A packed panel ([K/4][tileNR][4]) uses
// offs[k4] = k4·tileNR·4; a stride-1 convolution reads its (padded,
// channel-quad interleaved) input directly, with one offset per
// (channel quad, tap), so it needs no im2col at all.
const (
	tileMR = 6
	tileNR = 64
)

// tileFunc computes one tile: acc[r*tileNR+c] = Σ_k4 Σ_t S(k4, r, t)
// · u[offs[k4]+c*4+t] for k4 < k4n (s signed, u unsigned), where S(k4, r, t)
// is s[k4*tileMR*4+r*4+t] when sld = 0 and s[r*sld+k4*4+t] otherwise.
type tileFunc func(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int)

// sSteps returns the step between k4 groups and between rows of S.
func sSteps(sld int) (kstep, rstep int) {
	if sld == 0 {
		return tileMR * 4, 4
	}
	return 4, sld
}

// epiArgs describes an epilogue over rows × n accumulators. Every field is
// 8 bytes wide; the assembly reads them by offset.
type epiArgs struct {
	acc       *int32 // rows × accStride
	accStride int64  // in elements
	out       unsafe.Pointer
	outStride int64 // in bytes (or int32 elements for int32 output)
	rows, n   int64
	rowAdd    *int32 // [rows]
	rowMul    *int32 // [rows]
	colAdd    *int32 // [n]
	colMul    *int32 // [n]
	mult      *float32
	multCol   int64 // 1: mult is per column, 0: per row
	zy        int64
	flo, fhi  float32 // lo−zy, hi−zy as float32
	// plain = 1 promises that colAdd, and rowMul or colMul, are all zero:
	// v = acc + rowAdd (a convolution without weight zero points).
	plain int64
}

// epiFunc requantizes (ONNX Runtime rule) and stores bytes.
type epiFunc func(e *epiArgs)

// kernelSet is one implementation of the engine.
type kernelSet struct {
	name string
	tile tileFunc
	// narrow[v] computes only the first 16·(v+1) columns of a tile (the
	// others of acc are left as they are); nil entries run tile.
	narrow [3]tileFunc
	epi    epiFunc
	// interleave writes dst[4*i+t] = rows[t][i] ^ flip for i < n (t < 4);
	// a nil row writes 0.
	interleave func(dst []byte, r0, r1, r2, r3 []byte, n int, flip byte)
	// prep writes rows × k bytes of src (row stride k) to dst (row stride
	// ld ≥ k) with their top bit flipped by flip, and the signed sum of each
	// written row to sums (the A side of a GEMM).
	prep func(dst, src []byte, rows, k, ld int, flip byte, sums []int32)
	// dw is the vector depthwise kernel over one channel plane (see
	// qdepthwise.go); nil runs the stencil form.
	dw func(a *dwArgs)
	// dwRow is one output row of the stencil form (see dwRowGo); nil runs
	// dwRowGo.
	dwRow func(acc []int32, plane []int16, offs []int64, coefs []int32)
	// centre writes dst[i] = (src[i] ^ flip) − zx for i < len(src) (the
	// stencil form's input); nil runs centreGo.
	centre func(dst []int16, src []byte, flip byte, zx int32)
	// deint2 is centre for a column stride of 2: even[k] from src[2k],
	// odd[k] from src[2k+1]; nil runs deinterleave2Go.
	deint2 func(even, odd []int16, src []byte, flip byte, zx int32)
	// maxU8 and maxU8Stride2 are the uint8 row kernels of MaxPool
	// (maxRowOps.into and into2); nil runs maxIntoU8Go and maxInto2U8Go.
	maxU8, maxU8Stride2 func(dst, src []byte)
	// maxU8K3S2 is maxRowOps.k3s2 for uint8; nil runs maxK3S2U8Go.
	maxU8K3S2 func(dst, src []byte)
	// quantize, dequantize and qadd are the element-wise row kernels of
	// qelem.go (quantizeGo, dequantizeGo, qaddGo); nil runs the Go ones
	// (QAdd.Apply then looks its bytes up in a table).
	quantize   func(dst []byte, src []float32, q quantRow)
	dequantize func(dst []float32, src []byte, scale float32, zp int32, signed bool)
	qadd       func(dst, a, b []byte, q *qaddConsts)
}

// tileFor returns the tile kernel for a tile of which only the first n
// columns are used.
func (ks *kernelSet) tileFor(n int) tileFunc {
	if v := (n+15)/16 - 1; v < len(ks.narrow) && ks.narrow[v] != nil {
		return ks.narrow[v]
	}
	return ks.tile
}

// goKernels is the pure-Go implementation, the reference for the others.
var goKernels = &kernelSet{name: "go", tile: tileGo, epi: epilogueGo, interleave: interleaveGo, prep: prepRowsGo}

// integerFamily is the name of the integer engine's kernel family in
// internal/cpu.
const integerFamily = "kernels.integer"

// active is the implementation in use: the fastest this CPU runs, chosen
// once by internal/cpu from the implementations qcore_amd64.go registers
// (goKernels without them); tests select each in turn
// (cputest.TestAllImplementations).
var active *kernelSet

var integerKernels = cpu.NewFamily(integerFamily, &active, goKernels.name, goKernels)

func tileGo(s *int8, u *uint8, offs *int64, k4n int, acc *[tileMR * tileNR]int32, sld int) {
	kstep, rstep := sSteps(sld)
	of := unsafe.Slice(offs, k4n)
	*acc = [tileMR * tileNR]int32{}
	for k4 := 0; k4 < k4n; k4++ {
		uu := unsafe.Slice((*uint8)(unsafe.Add(unsafe.Pointer(u), of[k4])), tileNR*4)
		for r := 0; r < tileMR; r++ {
			sk := (*[4]int8)(unsafe.Add(unsafe.Pointer(s), k4*kstep+r*rstep))
			s0, s1, s2, s3 := int32(sk[0]), int32(sk[1]), int32(sk[2]), int32(sk[3])
			if s0|s1|s2|s3 == 0 {
				continue
			}
			row := acc[r*tileNR : (r+1)*tileNR]
			for c := range row {
				q := uu[c*4 : c*4+4]
				row[c] += s0*int32(q[0]) + s1*int32(q[1]) + s2*int32(q[2]) + s3*int32(q[3])
			}
		}
	}
}

// slices views the operands of e.
func (e *epiArgs) slices() (acc []int32, rowAdd, rowMul, colAdd, colMul []int32, mult []float32) {
	rows, n := int(e.rows), int(e.n)
	acc = unsafe.Slice(e.acc, (rows-1)*int(e.accStride)+n)
	rowAdd = unsafe.Slice(e.rowAdd, rows)
	rowMul = unsafe.Slice(e.rowMul, rows)
	colAdd = unsafe.Slice(e.colAdd, n)
	colMul = unsafe.Slice(e.colMul, n)
	switch {
	case e.mult == nil:
	case e.multCol != 0:
		mult = unsafe.Slice(e.mult, n)
	default:
		mult = unsafe.Slice(e.mult, rows)
	}
	return
}

func epilogueGo(e *epiArgs) {
	acc, rowAdd, rowMul, colAdd, colMul, mult := e.slices()
	rows, n := int(e.rows), int(e.n)
	out := unsafe.Slice((*byte)(e.out), (rows-1)*int(e.outStride)+n)
	zy := int32(e.zy)
	for r := 0; r < rows; r++ {
		a := acc[r*int(e.accStride):]
		o := out[r*int(e.outStride):]
		for c := 0; c < n; c++ {
			v := a[c] + rowAdd[r] + colAdd[c] + rowMul[r]*colMul[c]
			var m float32
			if e.multCol != 0 {
				m = mult[c]
			} else {
				m = mult[r]
			}
			f := float32(v) * m
			if f < e.flo {
				f = e.flo
			} else if f > e.fhi {
				f = e.fhi
			}
			o[c] = byte(int32(math.RoundToEven(float64(f))) + zy)
		}
	}
}

// epilogueValues is the epilogue of the int32 output mode (ConvInteger,
// MatMulInteger): it hands each corrected accumulator to put.
func epilogueValues(e *epiArgs, put func(r, c int, v int32)) {
	acc, rowAdd, rowMul, colAdd, colMul, _ := e.slices()
	for r := 0; r < int(e.rows); r++ {
		a := acc[r*int(e.accStride):]
		for c := 0; c < int(e.n); c++ {
			put(r, c, a[c]+rowAdd[r]+colAdd[c]+rowMul[r]*colMul[c])
		}
	}
}

func prepRowsGo(dst, src []byte, rows, k, ld int, flip byte, sums []int32) {
	for r := 0; r < rows; r++ {
		d := dst[r*ld : r*ld+k]
		var sum int32
		for i, v := range src[r*k : (r+1)*k] {
			v ^= flip
			d[i] = v
			sum += int32(int8(v))
		}
		sums[r] = sum
	}
}

func interleaveGo(dst []byte, r0, r1, r2, r3 []byte, n int, flip byte) {
	rows := [4][]byte{r0, r1, r2, r3}
	dst = dst[:4*n]
	for t, r := range rows {
		if r == nil {
			for i := 0; i < n; i++ {
				dst[4*i+t] = 0
			}
			continue
		}
		r = r[:n]
		for i, v := range r {
			dst[4*i+t] = v ^ flip
		}
	}
}

// asBytes views the data of an 8-bit tensor slice as bytes.
func int8Bytes(v []int8) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}
