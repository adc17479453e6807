package kernels

import (
	"runtime"
	"sync"
	"unsafe"

	"github.com/eightbitml/eightbit/tensor"
)

// depthwisePlan is the convolution of every channel with its own kernel
// (group = C = M): it needs no reduction over channels, so it runs as a
// direct stencil over each channel's plane instead of through the tile
// engine.
//
// Two forms compute it. The pure-Go stencil (the reference among the
// implementations) centres the input into an int16 plane and accumulates
// tap by tap. The vector form (ks.dw, AVX-512 VNNI + VBMI) puts 16 output
// pixels of one row in the dword lanes of a zmm register: for each kernel
// row and each group of four kernel columns it loads 64 input bytes
// (masked: bytes outside the image read the input zero point), gathers the
// four taps of every pixel into its dword with VPERMB, and accumulates
// VPDPBUSD against the four weights broadcast. Like the tile engine it
// multiplies unsigned (top-bit flipped) inputs by signed weights and
// corrects the zero points afterwards:
//
//	Σ (u − zu)(s − zs) = Σ u·s − zs·Σu − zu·Σs + T·zu·zs
//
// where Σu (the window sum, needed only when zs ≠ 0) is a second VPDPBUSD
// against weights of 1. The epilogue (requantization, clamp, store of 16
// bytes) is fused in.
type depthwisePlan struct {
	pl *QConvPlan
	// w holds, per channel, the T taps in the signed domain minus the weight
	// zero point (s − zs), as int16 (Go stencil).
	w []int16
	// For the vector form: nj groups of 4 kernel columns; wq [M][KH·nj]
	// holds the signed weights 4 to an int32 (0 past KW), ones [KH·nj] 1s
	// at the real taps, wsum [M] Σs.
	nj   int
	wq   []int32
	ones []int32
	wsum []int32
}

// dwLoad is one 64-byte load of the vector depthwise kernel: a column
// block and a group of 4 kernel columns. The assembly reads the fields by
// offset.
type dwLoad struct {
	col  int64  // column of the first byte, relative to the row
	mask uint64 // bytes of the 64 that lie inside the image
}

// dwBlock is one block of 16 output columns.
type dwBlock struct {
	off  int64 // first output column
	mask int64 // output columns present (16 bits)
}

// dwArgs is one channel plane for the vector depthwise kernel; every field
// is 8 bytes wide (or a pair of 4-byte fields) and read by offset.
type dwArgs struct {
	rows   *uintptr // 0: [hp] pointers to the rows of the padded image
	loads  *dwLoad  // 8: [nblk][nj]
	nj     int64    // 16
	blocks *dwBlock // 24: [nblk]
	nblk   int64    // 32
	oh     int64    // 40: output rows
	ohStep int64    // 48: SH·nj·64, the scratch advance per output row
	out    unsafe.Pointer
	outRow int64      // 64: bytes per output row
	idx    *[64]uint8 // 72: VPERMB indices
	fill   uint64     // 80: the padding byte (input zero point, raw domain)
	flip   int64      // 88: 1 when the input is int8 (flip the top bit)
	useSum int64      // 96: 1 when the weight zero point is not 0 (signed domain)
	out32  int64      // 104: 1: store the corrected int32 values
	rowAdd int32      // 112
	rowMul int32      // 116
	mult   float32    // 120
	zy     int32      // 124
	flo    float32    // 128
	fhi    float32    // 132
	w      *int32     // 136: [ntaps] weights of the channel
	ones   *int32     // 144: [ntaps]
	hp     int64      // 152: padded input rows
	scr    *byte      // 160: scratch [hp][nj][64]
	toffs  *int64     // 168: [ntaps] scratch offset of tap (kh, j): (kh·DH·nj + j)·64
	ntaps  int64      // 176
}

func newDepthwisePlan(pl *QConvPlan, w *tensor.Tensor, flip int32) *depthwisePlan {
	d := &depthwisePlan{pl: pl, w: make([]int16, pl.M*pl.T)}
	for m := 0; m < pl.M; m++ {
		for t := 0; t < pl.T; t++ {
			d.w[m*pl.T+t] = int16(at8(w, m*pl.T+t) - flip - pl.zws[m])
		}
	}
	kh, kw := 1, w.Shape[len(w.Shape)-1]
	if len(w.Shape) == 4 {
		kh = w.Shape[2]
	}
	d.nj = (kw + 3) / 4
	nt := kh * d.nj
	d.wq = make([]int32, pl.M*nt)
	d.ones = make([]int32, nt)
	d.wsum = make([]int32, pl.M)
	for m := 0; m < pl.M; m++ {
		for r := 0; r < kh; r++ {
			for c := 0; c < kw; c++ {
				s := at8(w, m*pl.T+r*kw+c) - flip
				d.wsum[m] += s
				t := r*d.nj + c/4
				d.wq[m*nt+t] |= int32(uint32(uint8(int8(s))) << (8 * (c % 4)))
				if m == 0 {
					d.ones[t] |= 1 << (8 * (c % 4))
				}
			}
		}
	}
	return d
}

// run computes, per channel m and output pixel,
//
//	acc = bias[m] + Σ_t (w_t − zw)·(x_t − zx)
//
// and hands it to the sink.
func (d *depthwisePlan) run(g *Geometry, xb []byte, xflip byte, zxu int32, sk *sink, ks *kernelSet) {
	if ks.dw != nil && d.vectorFits(g) {
		d.runVector(g, xb, xflip, zxu, sk, ks)
		return
	}
	d.runGo(g, xb, xflip, zxu, sk, ks)
}

// vectorFits reports whether the 16 pixels × 4 taps of one load lie in
// 64 bytes.
func (d *depthwisePlan) vectorFits(g *Geometry) bool {
	return 15*g.SW+(min(4, g.KW)-1)*g.DW < 64
}

// dwScratch is the working memory of runVector (the block tables of a
// call, or the rows of one of its chunks), pooled so that Runs in steady
// state do not allocate it.
type dwScratch struct {
	blocks []dwBlock
	loads  []dwLoad
	toffs  []int64
	padRow []byte
	rows   []uintptr
	scr    []byte
}

var dwScratchPool = sync.Pool{New: func() any { return new(dwScratch) }}

func (d *depthwisePlan) runVector(g *Geometry, xb []byte, xflip byte, zxu int32, sk *sink, ks *kernelSet) {
	pl := d.pl
	Hp := g.H + g.PadT + g.PadB
	P := g.OH * g.OW
	nt := g.KH * d.nj
	nblk := (g.OW + 15) / 16
	var idx [64]uint8
	for i := 0; i < 16; i++ {
		for t := 0; t < min(4, g.KW); t++ {
			idx[4*i+t] = uint8(g.SW*i + t*g.DW)
		}
	}
	need := 15*g.SW + (min(4, g.KW)-1)*g.DW + 1
	geo := dwScratchPool.Get().(*dwScratch)
	defer dwScratchPool.Put(geo)
	geo.blocks = resize(geo.blocks, nblk)
	geo.loads = resize(geo.loads, nblk*d.nj)
	blocks, loads := geo.blocks, geo.loads
	for b := range blocks {
		n := min(16, g.OW-16*b)
		blocks[b] = dwBlock{off: int64(16 * b), mask: int64(1)<<n - 1}
		for j := 0; j < d.nj; j++ {
			col := 16*b*g.SW - g.PadL + 4*j*g.DW
			var mask uint64
			for q := 0; q < need; q++ {
				if c := col + q; c >= 0 && c < g.W {
					mask |= 1 << q
				}
			}
			loads[b*d.nj+j] = dwLoad{col: int64(col), mask: mask}
		}
	}
	geo.toffs = resize(geo.toffs, nt)
	toffs := geo.toffs
	for r := 0; r < g.KH; r++ {
		for j := 0; j < d.nj; j++ {
			toffs[r*d.nj+j] = int64((r*g.DH*d.nj + j) * 64)
		}
	}
	fill := byte(zxu) ^ xflip
	int32s := sk.int32s
	jobs := g.N * pl.M
	parallelFor(jobs, jobs*P*pl.T, func(j0, j1 int) {
		sc := dwScratchPool.Get().(*dwScratch)
		defer dwScratchPool.Put(sc)
		sc.padRow = resize(sc.padRow, max(g.W, 1))
		padRow := sc.padRow
		for i := range padRow {
			padRow[i] = fill
		}
		sc.rows = resize(sc.rows, Hp)
		sc.scr = resize(sc.scr, Hp*d.nj*64)
		rows, scr := sc.rows, sc.scr
		var acc, zeros []int32
		if int32s {
			acc = make([]int32, P)
			zeros = make([]int32, g.OW)
		}
		a := dwArgs{loads: &loads[0], nj: int64(d.nj), blocks: &blocks[0], nblk: int64(nblk),
			oh: int64(g.OH), ohStep: int64(g.SH * d.nj * 64), idx: &idx, fill: uint64(fill), ones: &d.ones[0],
			zy: int32(sk.zy), flo: sk.flo, fhi: sk.fhi, hp: int64(Hp), scr: &scr[0], toffs: &toffs[0], ntaps: int64(nt)}
		if xflip != 0 {
			a.flip = 1
		}
		if int32s {
			a.out32, a.outRow = 1, int64(g.OW*4)
		} else {
			a.outRow = int64(g.OW)
		}
		a.rows = &rows[0]
		for job := j0; job < j1; job++ {
			n, m := job/pl.M, job%pl.M
			src := xb[(n*g.C+m)*g.H*g.W : (n*g.C+m+1)*g.H*g.W]
			for r := range rows {
				if h := r - g.PadT; h >= 0 && h < g.H {
					rows[r] = uintptr(unsafe.Pointer(&src[h*g.W]))
				} else {
					rows[r] = uintptr(unsafe.Pointer(&padRow[0]))
				}
			}
			var bias int32
			if pl.bias != nil {
				bias = pl.bias[m]
			}
			zs := pl.zws[m]
			a.rowAdd = bias - zxu*d.wsum[m] + int32(pl.T)*zxu*zs
			a.rowMul = -zs
			a.useSum = 0
			if zs != 0 {
				a.useSum = 1
			}
			a.mult = pl.mult[m]
			a.w = &d.wq[m*nt]
			off := (n*pl.M + m) * P
			if int32s {
				a.out = unsafe.Pointer(&acc[0])
			} else {
				a.out = unsafe.Pointer(&sk.bytes[off])
			}
			ks.dw(&a)
			if int32s {
				var zero int32
				for oh := 0; oh < g.OH; oh++ {
					e := epiArgs{acc: &acc[oh*g.OW], accStride: int64(g.OW), outStride: int64(P), rows: 1, n: int64(g.OW),
						rowAdd: &zero, rowMul: &zero, colAdd: &zeros[0], colMul: &zeros[0]}
					sk.emit(&e, off+oh*g.OW, m, pl.mult[m:])
				}
			}
		}
		// The row table holds addresses only; keep the rows alive.
		runtime.KeepAlive(xb)
		runtime.KeepAlive(padRow)
	})
}

// runGo is the stencil form. Each channel is centred (x − zx) into int16
// phase planes: with column stride SW, plane p holds the padded columns
// p, p+SW, p+2·SW, ..., so every tap of every output row reads a
// contiguous run of a plane, whatever the stride. An output row is then
//
//	acc[ow] = Σ_t c_t · plane[off_t + ow]
//
// over the nonzero taps t (c_t = w_t − zw), computed by ks.dwRow
// (dwRowGo, the reference, or a vector kernel).
func (d *depthwisePlan) runGo(g *Geometry, xb []byte, xflip byte, zxu int32, sk *sink, ks *kernelSet) {
	pl := d.pl
	Hp, Wp := g.H+g.PadT+g.PadB, g.W+g.PadL+g.PadR
	SW := g.SW
	Wq := (Wp + SW - 1) / SW // columns of a phase plane
	P := g.OH * g.OW
	dwRow, centre := ks.dwRow, ks.centre
	if dwRow == nil {
		dwRow = dwRowGo
	}
	if centre == nil {
		centre = centreGo
	}
	deint2 := ks.deint2
	if deint2 == nil {
		deint2 = deinterleave2Go
	}
	jobs := g.N * pl.M
	parallelFor(jobs, jobs*P*pl.T, func(j0, j1 int) {
		planes := make([]int16, SW*Hp*Wq)
		acc := make([]int32, P) // a channel's outputs, row after row
		zeros := make([]int32, P)
		offs := make([]int64, pl.T)
		coefs := make([]int32, pl.T)
		var rowMul, bias int32
		var e epiArgs
		for job := j0; job < j1; job++ {
			n, m := job/pl.M, job%pl.M
			src := xb[(n*g.C+m)*g.H*g.W:]
			// Centre the input: padding becomes 0.
			clear(planes)
			for h := 0; h < g.H; h++ {
				in := src[h*g.W : (h+1)*g.W]
				if SW == 1 {
					centre(planes[(g.PadT+h)*Wq+g.PadL:][:g.W], in, xflip, zxu)
					continue
				}
				if SW == 2 {
					// Even inputs go to phase PadL mod 2, odd ones to the other.
					pe, po := g.PadL%2, 1-g.PadL%2
					even := planes[pe*Hp*Wq+(g.PadT+h)*Wq+g.PadL/2:][:(g.W+1)/2]
					odd := planes[po*Hp*Wq+(g.PadT+h)*Wq+(g.PadL+1)/2:][:g.W/2]
					deint2(even, odd, in, xflip, zxu)
					continue
				}
				for ph := 0; ph < SW; ph++ {
					// Input columns i with (PadL+i) mod SW = ph, from i0.
					i0 := ((ph-g.PadL)%SW + SW) % SW
					if i0 >= g.W {
						continue
					}
					row := planes[ph*Hp*Wq+(g.PadT+h)*Wq+(g.PadL+i0)/SW:]
					k := 0
					for i := i0; i < g.W; i += SW {
						row[k] = int16(int32(in[i]^xflip) - zxu)
						k++
					}
				}
			}
			bias = 0
			if pl.bias != nil {
				bias = pl.bias[m]
			}
			wt := d.w[m*pl.T : (m+1)*pl.T]
			nt := 0
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					c := int32(wt[kh*g.KW+kw])
					if c == 0 {
						continue
					}
					col := kw * g.DW
					offs[nt] = int64((col%SW)*Hp*Wq + kh*g.DH*Wq + col/SW)
					coefs[nt] = c
					nt++
				}
			}
			for oh := 0; oh < g.OH; oh++ {
				dwRow(acc[oh*g.OW:(oh+1)*g.OW], planes[oh*g.SH*Wq:], offs[:nt], coefs[:nt])
			}
			// One epilogue over the channel: its outputs are contiguous.
			e = epiArgs{acc: &acc[0], accStride: int64(P), outStride: int64(P), rows: 1, n: int64(P),
				rowAdd: &bias, rowMul: &rowMul, colAdd: &zeros[0], colMul: &zeros[0]}
			sk.emit(&e, (n*pl.M+m)*P, m, pl.mult[m:])
		}
	})
}

// centreGo writes dst[i] = (src[i] ^ flip) − zx for i < len(src).
func centreGo(dst []int16, src []byte, flip byte, zx int32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = int16(int32(v^flip) - zx)
	}
}

// deinterleave2Go writes even[k] = (src[2k] ^ flip) − zx and odd[k] =
// (src[2k+1] ^ flip) − zx for every such index of src.
func deinterleave2Go(even, odd []int16, src []byte, flip byte, zx int32) {
	for i, v := range src {
		c := int16(int32(v^flip) - zx)
		if i%2 == 0 {
			even[i/2] = c
		} else {
			odd[i/2] = c
		}
	}
}

// dwRowGo sets acc[i] = Σ_t coefs[t]·plane[offs[t]+i] for i < len(acc)
// (0 when there are no taps). Products and sums wrap in int32, as in the
// vector kernels.
func dwRowGo(acc []int32, plane []int16, offs []int64, coefs []int32) {
	clear(acc)
	for t, o := range offs {
		c := coefs[t]
		row := plane[o : int(o)+len(acc)]
		for i := range acc {
			acc[i] += c * int32(row[i])
		}
	}
}
