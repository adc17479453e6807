package kernels

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/eightbitml/eightbit/tensor"
)

// QConvPlan is an integer convolution with its weights packed once; Run may
// be called concurrently. Build one per constant weight tensor.
type QConvPlan struct {
	p     QConvParams
	w     *tensor.Tensor
	bias  []int32
	M     int
	group int
	cg    int // input channels per group
	mg    int // output channels per group
	T     int // taps KH·KW
	C4    int // channel quads per group
	K     int // real reduction length cg·T
	K4    int // groups of 4 reduction values, C4·T
	nb    int // blocks of tileMR output channels per group
	// blocks holds, per group and block, [K4][tileMR][4] signed weights,
	// k4 = c4·T + tap, byte j = channel 4·c4 + j.
	blocks []int8
	ones   []int8 // a block whose row 0 is 1 at every real k (column sums)
	wsum   []int32
	zws    []int32 // weight zero points in the signed domain
	anyZw  bool
	mult   []float32
	dw     *depthwisePlan
	// rowAdd[f] and rowMul are the row corrections of the epilogue for a
	// uint8 (f = 0) or int8 (f = 1) input: bias − zx·Σw + K·zx·zw and −zw.
	rowAdd [2][]int32
	rowMul []int32
}

// NewQConvPlan checks the weights and parameters and packs the weights.
func NewQConvPlan(w *tensor.Tensor, bias []int32, p QConvParams) (*QConvPlan, error) {
	if !is8bit(w) || len(w.Shape) < 3 || len(w.Shape) > 4 {
		return nil, fmt.Errorf("integer conv wants 8-bit weights of rank 3 or 4, have %v %v", w.DType, w.Shape)
	}
	M := w.Shape[0]
	group := max(p.Group, 1)
	if M%group != 0 {
		return nil, fmt.Errorf("%d output channels for group %d", M, group)
	}
	if bias != nil && len(bias) != M {
		return nil, fmt.Errorf("bias has %d values, want %d", len(bias), M)
	}
	if n := len(p.WZeroPoint); n > 1 && n != M {
		return nil, fmt.Errorf("%d weight zero points for %d output channels", n, M)
	}
	if err := p.check(M); err != nil {
		return nil, err
	}
	pl := &QConvPlan{p: p, w: w, bias: bias, M: M, group: group, cg: w.Shape[1], mg: M / group}
	pl.T = w.Shape[2:].Size()
	pl.C4 = (pl.cg + 3) / 4
	pl.K = pl.cg * pl.T
	pl.K4 = pl.C4 * pl.T
	pl.nb = (pl.mg + tileMR - 1) / tileMR
	pl.mult = expandMult(&p.Requant, M)
	var flip int32
	if w.DType == tensor.Uint8 {
		flip = 128
	}
	pl.wsum = make([]int32, M)
	pl.zws = make([]int32, M)
	for m := 0; m < M; m++ {
		pl.zws[m] = p.wzp(m) - flip
		if pl.zws[m] != 0 {
			pl.anyZw = true
		}
	}
	if pl.cg == 1 && pl.mg == 1 && group > 1 {
		pl.dw = newDepthwisePlan(pl, w, flip)
		return pl, nil
	}
	blk := pl.K4 * tileMR * 4
	pl.blocks = make([]int8, group*pl.nb*blk)
	for m := 0; m < M; m++ {
		gr, mm := m/pl.mg, m%pl.mg
		b := pl.blocks[(gr*pl.nb+mm/tileMR)*blk:]
		r := mm % tileMR
		var sum int32
		for c := 0; c < pl.cg; c++ {
			for t := 0; t < pl.T; t++ {
				v := int8(at8(w, (m*pl.cg+c)*pl.T+t) - flip)
				b[((c/4)*pl.T+t)*tileMR*4+r*4+c%4] = v
				sum += int32(v)
			}
		}
		pl.wsum[m] = sum
	}
	pl.rowMul = make([]int32, M)
	for f, zxu := range []int32{p.XZeroPoint, p.XZeroPoint + 128} {
		pl.rowAdd[f] = make([]int32, M)
		for m := range M {
			var b int32
			if bias != nil {
				b = bias[m]
			}
			pl.rowAdd[f][m] = b - zxu*pl.wsum[m] + int32(pl.K)*zxu*pl.zws[m]
			pl.rowMul[m] = -pl.zws[m]
		}
	}
	if pl.anyZw {
		pl.ones = make([]int8, blk)
		for c := 0; c < pl.cg; c++ {
			for t := 0; t < pl.T; t++ {
				pl.ones[((c/4)*pl.T+t)*tileMR*4+c%4] = 1
			}
		}
	}
	return pl, nil
}

// Run computes the requantized convolution of x (reference.ConvAcc, then reference.Requantize).
func (pl *QConvPlan) Run(x *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(nil, x, false, active)
}

// RunWith is Run taking its output tensor from a (see Alloc); every output
// element is written.
func (pl *QConvPlan) RunWith(a Alloc, x *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(a, x, false, active)
}

// RunInt32 computes the int32 accumulators (ConvInteger; bias included).
func (pl *QConvPlan) RunInt32(x *tensor.Tensor) (*tensor.Tensor, error) {
	return pl.run(nil, x, true, active)
}

func (pl *QConvPlan) run(a Alloc, x *tensor.Tensor, int32Out bool, ks *kernelSet) (*tensor.Tensor, error) {
	p := &pl.p
	g, _, err := qconvSetup(x, pl.w, pl.bias, p, false)
	if err != nil {
		return nil, err
	}
	var y *tensor.Tensor
	if int32Out {
		y = newOut(a, tensor.Int32, g.OutShape(pl.M))
	} else {
		y = newOut(a, p.outType(), g.OutShape(pl.M))
	}
	if y.Len() == 0 {
		return y, nil
	}
	sk := newSink(y, &p.Requant, false, ks)
	var xflip byte
	zxu := p.XZeroPoint
	if x.DType == tensor.Int8 {
		xflip, zxu = 0x80, zxu+128
	}
	xb := x.U8
	if x.DType == tensor.Int8 {
		xb = int8Bytes(x.I8)
	}
	if pl.dw != nil {
		pl.dw.run(g, xb, xflip, zxu, sk, ks)
		return y, nil
	}
	rowAdd, rowMul := pl.rowAdd[0], pl.rowMul
	if x.DType == tensor.Int8 {
		rowAdd = pl.rowAdd[1]
	}
	// The work is cut into bands of output rows of one image and group.
	// Each band pads the input rows it reads into a buffer of its own
	// (the few rows a 3×3 kernel shares with the next band are padded
	// twice), so the buffer stays in the cache of the core that runs the
	// band and no core waits for another's padding.
	bands := pl.bands(g)
	jobs := g.N * pl.group * bands
	parallelForChunks(jobs, g.N*pl.M*g.OH*g.OW*pl.K, threads(), func(j0, j1 int) {
		for j := j0; j < j1; j++ {
			n, gr, band := j/(pl.group*bands), j/bands%pl.group, j%bands
			oh0, oh1 := band*g.OH/bands, (band+1)*g.OH/bands
			pl.runBand(g, xb, xflip, zxu, sk, ks, n, gr, oh0, oh1, rowAdd, rowMul)
		}
	})
	return y, nil
}

// convBandBytes bounds the padded input of one band, so that it stays in a
// core's L2 cache.
const convBandBytes = 256 << 10

// bands returns how many bands of output rows each image and group is cut
// into: one per thread when the convolution is split across goroutines
// (fewer bands pad fewer shared rows twice and waste less of the last tile
// of each band), and small enough for convBandBytes.
func (pl *QConvPlan) bands(g *Geometry) int {
	Wp := g.W + g.PadL + g.PadR
	b := 1
	if nt := threads(); nt > 1 && g.N*pl.M*g.OH*g.OW*pl.K >= gemmParallelWork {
		jobs := g.N * pl.group
		b = (nt + jobs - 1) / jobs
	}
	rowBytes := pl.C4 * Wp * 4 * g.SH
	if r := max(convBandBytes/rowBytes, 1); (g.OH+b-1)/b > r {
		b = (g.OH + r - 1) / r
	}
	return max(min(b, g.OH), 1)
}

// bandScratch is the working memory of runBand, pooled so that Runs in
// steady state do not allocate it.
type bandScratch struct {
	acc, cs [tileMR * tileNR]int32
	zeros   [tileNR]int32 // never written
	e       epiArgs
	offs    []int64
	buf     []byte // the padded input rows
	panel   []byte // the gathered tile of a strided convolution
}

var bandScratchPool = sync.Pool{New: func() any { return new(bandScratch) }}

// resize returns s with length n, reallocated only when too small; its
// contents are undefined.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// runBand computes output rows [oh0, oh1) of image n and group gr.
func (pl *QConvPlan) runBand(g *Geometry, xb []byte, xflip byte, zxu int32, sk *sink, ks *kernelSet, n, gr, oh0, oh1 int, rowAdd, rowMul []int32) {
	Wp := g.W + g.PadL + g.PadR
	flat := g.SH == 1 && g.SW == 1 && g.OW == Wp-(g.KW-1)*g.DW
	OHb := oh1 - oh0
	Hb := (OHb-1)*g.SH + (g.KH-1)*g.DH + 1 // padded input rows read
	plane := Hb * Wp
	sc := bandScratchPool.Get().(*bandScratch)
	defer bandScratchPool.Put(sc)
	sc.buf = resize(sc.buf, (pl.C4*plane+tileNR)*4)
	buf := sc.buf
	src := xb[(n*g.C+gr*pl.cg)*g.H*g.W:]
	pl.pad(g, src, buf, oh0*g.SH, Hb, byte(zxu), xflip, ks)

	P := g.OH * g.OW
	Pb := OHb * g.OW
	Q := Pb
	if flat {
		Q = (OHb-1)*Wp + g.OW
	}
	sc.offs = resize(sc.offs, pl.K4)
	offs := sc.offs
	if flat {
		for c4 := 0; c4 < pl.C4; c4++ {
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					offs[c4*pl.T+kh*g.KW+kw] = int64((c4*plane + kh*g.DH*Wp + kw*g.DW) * 4)
				}
			}
		}
	} else {
		for k4 := range offs {
			offs[k4] = int64(k4 * tileNR * 4)
		}
	}
	acc, cs, zeros := &sc.acc, &sc.cs, &sc.zeros
	var panel []byte
	base := &buf[0]
	if !flat {
		sc.panel = resize(sc.panel, pl.K4*tileNR*4+64)
		panel = sc.panel
		base = &panel[0]
	}
	sc.e = epiArgs{accStride: tileNR, outStride: int64(P)}
	e := &sc.e
	if !pl.anyZw {
		e.plain = 1
	}
	blk := pl.K4 * tileMR * 4
	for q0 := 0; q0 < Q; q0 += tileNR {
		tile := ks.tileFor(min(tileNR, Q-q0))
		if flat {
			base = &buf[q0*4]
		} else {
			pl.gather(g, buf, panel, q0, min(tileNR, Pb-q0), Wp, plane)
		}
		colMul := zeros[:]
		if pl.anyZw {
			tile(&pl.ones[0], base, &offs[0], pl.K4, cs, 0)
			colMul = cs[:tileNR]
		}
		for b := 0; b < pl.nb; b++ {
			m0 := gr*pl.mg + b*tileMR
			tile(&pl.blocks[(gr*pl.nb+b)*blk], base, &offs[0], pl.K4, acc, 0)
			e.rows = int64(min(tileMR, pl.mg-b*tileMR))
			e.rowAdd, e.rowMul = &rowAdd[m0], &rowMul[m0]
			yoff := (n*pl.M+m0)*P + oh0*g.OW
			if !flat || Wp == g.OW {
				// A gathered tile, or a flat one whose rows have no
				// padding columns: its pixels are consecutive outputs.
				e.acc, e.n = &acc[0], int64(min(tileNR, Q-q0))
				e.colAdd, e.colMul = &zeros[0], &colMul[0]
				sk.emit(e, yoff+q0, m0, pl.mult[m0:])
				continue
			}
			// Flat tile: emit each output row segment it covers.
			for oh := q0 / Wp; oh < OHb && oh*Wp < q0+tileNR; oh++ {
				s, end := max(q0, oh*Wp), min(q0+tileNR, oh*Wp+g.OW)
				if s >= end {
					continue
				}
				e.acc, e.n = &acc[s-q0], int64(end-s)
				e.colAdd, e.colMul = &zeros[0], &colMul[s-q0]
				sk.emit(e, yoff+oh*g.OW+s-oh*Wp, m0, pl.mult[m0:])
			}
		}
	}
}

// pad writes padded input rows [r0, r0+rows) (row 0 is the first top
// padding row) of the cg channels of one image and group into buf as a
// channel-quad interleaved image [C4][rows][Wp][4], bytes flipped by
// xflip: padding reads the (flipped) zero point zxu, channels past cg read
// 0, and tileNR dwords of slack follow.
func (pl *QConvPlan) pad(g *Geometry, src, buf []byte, r0, rows int, zxu, xflip byte, ks *kernelSet) {
	Wp := g.W + g.PadL + g.PadR
	plane := rows * Wp * 4
	HW := g.H * g.W
	for c4 := 0; c4 < pl.C4; c4++ {
		dst := buf[c4*plane : (c4+1)*plane]
		var zrow [4]byte
		for j := range zrow {
			if c4*4+j < pl.cg {
				zrow[j] = zxu
			}
		}
		fill := func(b []byte) {
			for i := 0; i+4 <= len(b); i += 4 {
				copy(b[i:i+4], zrow[:])
			}
		}
		if Wp == g.W {
			// No padding columns: the rows inside the input are one run
			// of the source planes and of dst.
			lo, hi := min(max(g.PadT-r0, 0), rows), min(max(g.PadT+g.H-r0, 0), rows)
			fill(dst[:lo*Wp*4])
			fill(dst[hi*Wp*4 : rows*Wp*4])
			if lo < hi {
				h0, h1 := r0+lo-g.PadT, r0+hi-g.PadT
				var rs [4][]byte
				for j := 0; j < 4; j++ {
					if c := c4*4 + j; c < pl.cg {
						rs[j] = src[c*HW+h0*g.W : c*HW+h1*g.W]
					}
				}
				ks.interleave(dst[lo*Wp*4:], rs[0], rs[1], rs[2], rs[3], (h1-h0)*g.W, xflip)
			}
			continue
		}
		for r := 0; r < rows; r++ {
			row := dst[r*Wp*4 : (r+1)*Wp*4]
			h := r0 + r - g.PadT
			if h < 0 || h >= g.H {
				fill(row)
				continue
			}
			fill(row[:g.PadL*4])
			fill(row[(g.PadL+g.W)*4:])
			var rs [4][]byte
			for j := 0; j < 4; j++ {
				if c := c4*4 + j; c < pl.cg {
					rs[j] = src[c*HW+h*g.W : c*HW+(h+1)*g.W]
				}
			}
			ks.interleave(row[g.PadL*4:], rs[0], rs[1], rs[2], rs[3], g.W, xflip)
		}
	}
	clear(buf[pl.C4*plane : pl.C4*plane+tileNR*4])
}

// gather packs the tile of output pixels [q0, q0+n) of a strided
// convolution into panel [K4][tileNR][4] from the padded image, one output
// row segment at a time.
func (pl *QConvPlan) gather(g *Geometry, buf, panel []byte, q0, n, Wp, plane int) {
	step := g.SW * 4
	for i := 0; i < n; {
		oh, ow := (q0+i)/g.OW, (q0+i)%g.OW
		run := min(n-i, g.OW-ow) // pixels of output row oh in the tile
		for c4 := 0; c4 < pl.C4; c4++ {
			for kh := 0; kh < g.KH; kh++ {
				row := (c4*plane + (oh*g.SH+kh*g.DH)*Wp) * 4
				for kw := 0; kw < g.KW; kw++ {
					k4 := c4*pl.T + kh*g.KW + kw
					dst := panel[(k4*tileNR+i)*4 : (k4*tileNR+i+run)*4]
					src := buf[row+(ow*g.SW+kw*g.DW)*4:]
					_ = src[(run-1)*step+3] // every dword read below
					sp, dp := unsafe.Pointer(&src[0]), unsafe.Pointer(&dst[0])
					for j := range run {
						*(*uint32)(unsafe.Add(dp, 4*j)) = *(*uint32)(unsafe.Add(sp, j*step))
					}
				}
			}
		}
		i += run
	}
}
