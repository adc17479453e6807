package kernels

import (
	"fmt"
	"unsafe"

	"github.com/eightbitml/eightbit/tensor"
)

// QGemmPlan is an integer matrix product with B packed once (B is usually
// a constant weight); Run may be called concurrently.
//
// In the engine's terms the rows of A are the signed broadcast operand S
// and the columns of B the unsigned vector operand U: B is packed into
// panels of tileNR columns, [K4][tileNR][4] bytes, with its top bit flipped
// when it is int8; A is flipped when it is uint8.
type QGemmPlan struct {
	p      QGemmParams
	b      *tensor.Tensor
	transB bool
	bias   []int32
	K, N   int
	K4     int
	np     int // panels
	panels []byte
	colsum []int32 // Σ_k U[k][j] over real k
	zbu    []int32 // B zero points in the unsigned domain
	mult   []float32
}

// NewQGemmPlan checks B and the parameters and packs B.
func NewQGemmPlan(b *tensor.Tensor, transB bool, bias []int32, p QGemmParams) (*QGemmPlan, error) {
	if !is8bit(b) || len(b.Shape) != 2 {
		return nil, fmt.Errorf("integer matmul wants a 2-D 8-bit B, have %v %v", b.DType, b.Shape)
	}
	K, N := b.Shape[0], b.Shape[1]
	if transB {
		K, N = N, K
	}
	if bias != nil && len(bias) != N {
		return nil, fmt.Errorf("bias has %d values, want %d", len(bias), N)
	}
	if nz := len(p.BZeroPoint); nz > 1 && nz != N {
		return nil, fmt.Errorf("%d B zero points for %d columns", nz, N)
	}
	if err := p.check(N); err != nil {
		return nil, err
	}
	pl := &QGemmPlan{p: p, b: b, transB: transB, bias: bias, K: K, N: N, K4: (K + 3) / 4}
	pl.np = (N + tileNR - 1) / tileNR
	var flip byte
	var shift int32
	bb := b.U8
	if b.DType == tensor.Int8 {
		flip, shift = 0x80, 128
		bb = int8Bytes(b.I8)
	}
	pl.zbu = make([]int32, pl.np*tileNR)
	for j := 0; j < N; j++ {
		pl.zbu[j] = p.bzp(j) + shift
	}
	pl.colsum = make([]int32, pl.np*tileNR)
	pl.panels = make([]byte, pl.np*pl.K4*tileNR*4+64)
	for pj := 0; pj < pl.np; pj++ {
		j0 := pj * tileNR
		nc := min(tileNR, N-j0)
		panel := pl.panels[pj*pl.K4*tileNR*4:]
		for k4 := 0; k4 < pl.K4; k4++ {
			dst := panel[k4*tileNR*4 : (k4+1)*tileNR*4]
			if transB {
				for c := 0; c < nc; c++ {
					for t := 0; t < 4 && 4*k4+t < K; t++ {
						dst[c*4+t] = bb[(j0+c)*K+4*k4+t] ^ flip
					}
				}
				continue
			}
			var rs [4][]byte
			for t := 0; t < 4; t++ {
				if k := 4*k4 + t; k < K {
					rs[t] = bb[k*N+j0 : k*N+j0+nc]
				}
			}
			interleaveGo(dst, rs[0], rs[1], rs[2], rs[3], nc, flip)
		}
		for c := 0; c < nc; c++ {
			var s int32
			for k := 0; k < K; k++ {
				s += int32(panel[(k/4)*tileNR*4+c*4+k%4])
			}
			pl.colsum[j0+c] = s
		}
	}
	pl.mult = expandMult(&p.Requant, pl.np*tileNR)
	return pl, nil
}

// Run computes the requantized product of A [..., K] with B
// (reference.MatMulAcc, then reference.Requantize).
func (pl *QGemmPlan) Run(a *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(nil, a, false, active)
}

// RunWith is Run taking its output tensor from al (see Alloc); every
// output element is written.
func (pl *QGemmPlan) RunWith(al Alloc, a *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(al, a, false, active)
}

// RunInt32 computes the int32 accumulators (MatMulInteger; bias included).
func (pl *QGemmPlan) RunInt32(a *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(nil, a, true, active)
}

func (pl *QGemmPlan) run(al Alloc, a *tensor.Tensor, int32Out bool, ks *kernelSet) (*tensor.Tensor, error) {
	p := pl.p
	m, K, N, out, err := qgemmSetup(a, pl.b, pl.transB, pl.bias, &p, false)
	if err != nil {
		return nil, err
	}
	var y *tensor.Tensor
	if int32Out {
		y = newOut(al, tensor.Int32, out)
	} else {
		y = newOut(al, p.outType(), out)
	}
	if y.Len() == 0 {
		return y, nil
	}
	sk := newSink(y, &p.Requant, true, ks)
	ab := a.U8
	var aflip uint32
	zas := p.AZeroPoint
	if a.DType == tensor.Int8 {
		ab = int8Bytes(a.I8)
	} else {
		aflip, zas = 0x80808080, zas-128
	}
	colAdd := make([]int32, pl.np*tileNR)
	colMul := make([]int32, pl.np*tileNR)
	for j := 0; j < N; j++ {
		var b int32
		if pl.bias != nil {
			b = pl.bias[j]
		}
		colAdd[j] = b - zas*pl.colsum[j] + int32(K)*zas*pl.zbu[j]
		colMul[j] = -pl.zbu[j]
	}
	nbr := (m + tileMR - 1) / tileMR
	K4 := pl.K4
	offs := make([]int64, max(K4, 1))
	for k4 := range offs {
		offs[k4] = int64(k4 * tileNR * 4)
	}
	// A is read in place by the tile (rows of ld bytes) after prep has
	// flipped it and formed the row sums; rows past m in the last block
	// are left as they are: their accumulators are never stored.
	ld := max(K4*4, 4)
	parallelFor(nbr, m*N*K, func(b0, b1 int) {
		buf := getBytes((b1-b0)*tileMR*ld + 64)
		defer putBytes(buf)
		rowsum := make([]int32, (b1-b0)*tileMR)
		ks.prep(buf, ab[b0*tileMR*K:], min(b1*tileMR, m)-b0*tileMR, K, ld, byte(aflip), rowsum)
		zeros := make([]int32, tileMR)
		var acc [tileMR * tileNR]int32
		e := epiArgs{accStride: tileNR, outStride: int64(N)}
		for pj := 0; pj < pl.np; pj++ {
			j0 := pj * tileNR
			u := &pl.panels[pj*K4*tileNR*4]
			tile := ks.tileFor(min(tileNR, N-j0))
			for bi := b0; bi < b1; bi++ {
				tile((*int8)(unsafe.Pointer(&buf[(bi-b0)*tileMR*ld])), u, &offs[0], K4, &acc, ld)
				i0 := bi * tileMR
				e.acc = &acc[0]
				e.rows, e.n = int64(min(tileMR, m-i0)), int64(min(tileNR, N-j0))
				e.rowAdd, e.rowMul = &zeros[0], &rowsum[(bi-b0)*tileMR]
				e.colAdd, e.colMul = &colAdd[j0], &colMul[j0]
				sk.emit(&e, i0*N+j0, j0, pl.mult[j0:])
			}
		}
	})
	return y, nil
}
