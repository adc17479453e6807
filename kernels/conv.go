package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/kernels/reference"
	"github.com/eightbitml/eightbit/tensor"
)

// ConvParams are the attributes of ONNX Conv (and, without Group, of the
// pooling operators). Zero values mean the ONNX defaults: strides and
// dilations 1, no padding, group 1, auto_pad NOTSET.
type ConvParams struct {
	// KernelShape is the spatial kernel size; for Conv it defaults to the
	// weight's spatial dimensions.
	KernelShape []int
	Strides     []int
	Dilations   []int
	// Pads are [begin_1, ..., begin_n, end_1, ..., end_n].
	Pads []int
	// AutoPad is "NOTSET" (or ""), "SAME_UPPER", "SAME_LOWER" or "VALID".
	AutoPad string
	Group   int
	// CeilMode rounds the output size up (pooling only).
	CeilMode bool
}

// Geometry is a resolved 2-D window geometry (1-D inputs use H = 1): the
// sizes, strides, dilations and padding of reference.Window, and the
// input's spatial rank.
type Geometry struct {
	reference.Window
	spatialRank int
}

// OutShape returns the output shape [N, channels, OH(, OW)] in the input's
// rank.
func (g *Geometry) OutShape(channels int) tensor.Shape {
	if g.spatialRank == 1 {
		return tensor.Shape{g.N, channels, g.OW}
	}
	return tensor.Shape{g.N, channels, g.OH, g.OW}
}

func pick(v []int, i, def int) int {
	if i < len(v) {
		return v[i]
	}
	return def
}

// ResolveGeometry computes the window geometry of an NCHW (or NCW) input
// shape for the given spatial kernel size and attributes.
func ResolveGeometry(in tensor.Shape, kernel []int, p ConvParams) (*Geometry, error) {
	sr := len(in) - 2
	if sr != 1 && sr != 2 {
		return nil, fmt.Errorf("input of shape %v: only 1-D and 2-D spatial inputs are supported", in)
	}
	if len(kernel) != sr {
		return nil, fmt.Errorf("kernel shape %v does not match input shape %v", kernel, in)
	}
	if len(p.Strides) > sr || len(p.Dilations) > sr || (len(p.Pads) != 0 && len(p.Pads) != 2*sr) {
		return nil, fmt.Errorf("strides %v, dilations %v or pads %v do not match input shape %v", p.Strides, p.Dilations, p.Pads, in)
	}
	g := &Geometry{Window: reference.Window{N: in[0], C: in[1]}, spatialRank: sr}
	var sizes, ks, st, dl, pb, pe, out [2]int
	off := 2 - sr // 1-D maps to the W axis
	sizes[0], ks[0], st[0], dl[0], out[0] = 1, 1, 1, 1, 1
	for i := 0; i < sr; i++ {
		d := i + off
		sizes[d] = in[2+i]
		ks[d] = kernel[i]
		st[d] = pick(p.Strides, i, 1)
		dl[d] = pick(p.Dilations, i, 1)
		pb[d] = pick(p.Pads, i, 0)
		pe[d] = pick(p.Pads, i+sr, 0)
		if ks[d] < 1 || st[d] < 1 || dl[d] < 1 || pb[d] < 0 || pe[d] < 0 {
			return nil, fmt.Errorf("invalid kernel %v, strides %v, dilations %v or pads %v", kernel, p.Strides, p.Dilations, p.Pads)
		}
		var err error
		out[d], pb[d], pe[d], err = resolveAxis(sizes[d], ks[d], st[d], dl[d], pb[d], pe[d], p.AutoPad, p.CeilMode)
		if err != nil {
			return nil, err
		}
	}
	g.H, g.W = sizes[0], sizes[1]
	g.KH, g.KW = ks[0], ks[1]
	g.SH, g.SW = st[0], st[1]
	g.DH, g.DW = dl[0], dl[1]
	g.PadT, g.PadL, g.PadB, g.PadR = pb[0], pb[1], pe[0], pe[1]
	g.OH, g.OW = out[0], out[1]
	if err := CheckSize(tensor.Shape{g.N, g.C, g.OH, g.OW}); err != nil {
		return nil, err
	}
	if err := CheckSize(tensor.Shape{g.C, g.KH, g.KW, g.OH, g.OW}); err != nil {
		return nil, err
	}
	return g, nil
}

// resolveAxis computes the output size and the begin and end padding of
// one spatial axis of a window operator.
func resolveAxis(size, k, st, dl, pb, pe int, autoPad string, ceil bool) (out, padB, padE int, err error) {
	if k > MaxElements || st > MaxElements || dl > MaxElements || pb > MaxElements || pe > MaxElements {
		return 0, 0, 0, fmt.Errorf("kernel %d, stride %d, dilation %d or pads %d, %d out of range", k, st, dl, pb, pe)
	}
	eff := (k-1)*dl + 1
	switch autoPad {
	case "", "NOTSET":
		num := size + pb + pe - eff
		if num < 0 {
			return 0, 0, 0, fmt.Errorf("window %d larger than padded input %d", eff, size+pb+pe)
		}
		if ceil {
			out = (num+st-1)/st + 1
			// A window must start inside the input or its begin padding.
			if (out-1)*st >= size+pb {
				out--
			}
		} else {
			out = num/st + 1
		}
	case "VALID":
		pb, pe = 0, 0
		if size < eff {
			return 0, 0, 0, fmt.Errorf("window %d larger than input %d", eff, size)
		}
		out = (size-eff)/st + 1
	case "SAME_UPPER", "SAME_LOWER":
		out = (size + st - 1) / st
		total := max(0, (out-1)*st+eff-size)
		if autoPad == "SAME_UPPER" {
			pb = total / 2
		} else {
			pb = (total + 1) / 2
		}
		pe = total - pb
	default:
		return 0, 0, 0, fmt.Errorf("unknown auto_pad %q", autoPad)
	}
	return out, pb, pe, nil
}

// Conv computes an ONNX Conv of x [N,C,H,W] (or [N,C,W]) with weights
// w [M, C/group, kH, kW] and optional bias b [M] in float32.
//
// Grouped convolutions with one input channel per group (depthwise) run as
// row kernels on a zero-padded copy of each plane (depthwiseRows); the
// others unfold the input (im2col, skipped for 1x1 stride-1 kernels without
// padding, which multiply the NCHW input in place) and multiply with Gemm.
func Conv(x, w, b *tensor.Tensor, p ConvParams) (*tensor.Tensor, error) {
	return ConvWith(nil, x, w, b, p)
}

// ConvWith is Conv with the output and the im2col scratch taken from a.
func ConvWith(a Alloc, x, w, b *tensor.Tensor, p ConvParams) (*tensor.Tensor, error) {
	return ConvFusedWith(a, x, w, b, nil, p, float32(math.Inf(-1)), float32(math.Inf(1)))
}

// ConvFusedWith is ConvWith followed, element by element, by
//
//	y = clamp(y + r, lo, hi)
//
// (r optional; clamp as Clip: NaN stays NaN), the epilogue of a
// convolution fused with a residual Add and a Relu or Clip. An r of
// another shape than the output is broadcast as by Add, in separate
// passes.
// The result is the one of the separate operators bit for bit: the sum is
// (conv + bias) + r, rounded in that order, and it is applied to each row
// of the output right after it is computed, while it is in cache.
func ConvFusedWith(a Alloc, x, w, b, r *tensor.Tensor, p ConvParams, lo, hi float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || w.DType != tensor.Float32 || (b != nil && b.DType != tensor.Float32) || (r != nil && r.DType != tensor.Float32) {
		return nil, fmt.Errorf("conv wants float32 tensors")
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("weight shape %v does not match input shape %v", w.Shape, x.Shape)
	}
	kernel := []int(w.Shape[2:])
	if len(p.KernelShape) > 0 && !tensor.Shape(p.KernelShape).Equal(tensor.Shape(kernel)) {
		return nil, fmt.Errorf("kernel_shape %v does not match weight shape %v", p.KernelShape, w.Shape)
	}
	g, err := ResolveGeometry(x.Shape, kernel, p)
	if err != nil {
		return nil, err
	}
	group := max(p.Group, 1)
	M := w.Shape[0]
	if g.C%group != 0 || M%group != 0 || w.Shape[1]*group != g.C {
		return nil, fmt.Errorf("input channels %d, weight shape %v and group %d do not agree", g.C, w.Shape, group)
	}
	if b != nil && b.Len() != M {
		return nil, fmt.Errorf("bias has %d elements, want %d", b.Len(), M)
	}
	shape := g.OutShape(M)
	ep := convEpilogue{lo: lo, hi: hi}
	split := r != nil && !r.Shape.Equal(shape)
	if split {
		ep.lo, ep.hi = float32(math.Inf(-1)), float32(math.Inf(1))
	} else if r != nil {
		ep.r = r.F32
	}
	y := newOut(a, tensor.Float32, shape)
	var bias []float32
	if b != nil {
		bias = b.F32
	}
	convFloat(a, g, group, M, x.F32, w.F32, bias, y.F32, ep)
	if split {
		// r broadcasts: the separate operators.
		s, err := BinaryWith(a, OpAdd, y, r)
		if err != nil {
			return nil, err
		}
		f32BiasClamp(s.F32, s.F32, nil, negZero, lo, hi)
		return s, nil
	}
	return y, nil
}

// convEpilogue is what a fused convolution applies to every output
// element after its bias: y = clamp(y + r, lo, hi), r optional.
type convEpilogue struct {
	r      []float32
	lo, hi float32
}

// trivial reports whether the epilogue changes nothing.
func (e convEpilogue) trivial() bool {
	return e.r == nil && math.IsInf(float64(e.lo), -1) && math.IsInf(float64(e.hi), 1)
}

// apply finishes the row of output channel ch that starts at element off
// of y: dst = clamp(src + bias + r[off:], lo, hi) over len(dst) elements
// (no bias: −0, which adds nothing); src may be dst.
func (e convEpilogue) apply(dst, src []float32, off int, bias []float32, ch int) {
	bv := negZero
	if bias != nil {
		bv = bias[ch]
	}
	var r []float32
	if e.r != nil {
		r = e.r[off : off+len(dst)]
	}
	f32BiasClamp(dst, src, r, bv, e.lo, e.hi)
}

// convFloat writes every element of y; the im2col buffer comes from a.
func convFloat(a Alloc, g *Geometry, group, M int, x, w, bias, y []float32, ep convEpilogue) {
	cg := g.C / group
	mg := M / group
	kk := cg * g.KH * g.KW
	P := g.OH * g.OW
	if cg == 1 && mg == 1 {
		depthwiseRows(g, x, w, bias, y, ep)
		return
	}
	pointwise := g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0 && g.PadB == 0 && g.PadR == 0
	if !pointwise && g.KH*g.KW > 1 {
		if pp := newPaddedPlanes(g); pp.wide*8 <= P*9 {
			convWide(a, g, pp, group, M, x, w, bias, y, ep)
			return
		}
	}
	var col []float32
	if !pointwise {
		col = scratch(a, kk*P)
		defer unscratch(a, col)
	}
	finish := bias != nil || !ep.trivial()
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < group; gr++ {
			xin := x[(n*g.C+gr*cg)*g.H*g.W:]
			src := xin
			if !pointwise {
				im2col(g, cg, xin, col, 0)
				src = col
			}
			o0 := (n*M + gr*mg) * P
			out := y[o0 : o0+mg*P]
			Gemm(false, false, mg, P, kk, w[gr*mg*kk:], kk, src, P, out, P, false)
			if finish {
				for m := 0; m < mg; m++ {
					row := out[m*P : (m+1)*P]
					ep.apply(row, row, o0+m*P, bias, gr*mg+m)
				}
			}
		}
	}
}

// convWide is convFloat in the wide layout of paddedPlanes, used when it
// adds at most an eighth to the columns: each row (channel, tap) of the
// unfolded matrix is one contiguous run of a padded copy of the channel
// plane (a long copy instead of one short copy per output row), the GEMM
// computes the wide outputs, and each output row is compacted into y and
// finished by the epilogue. The unfolded values, the padding zeros and so
// the results are those of the im2col path bit for bit.
func convWide(a Alloc, g *Geometry, pp *paddedPlanes, group, M int, x, w, bias, y []float32, ep convEpilogue) {
	cg, mg := g.C/group, M/group
	ksz := g.KH * g.KW
	kk := cg * ksz
	P, HW, wide := g.OH*g.OW, g.H*g.W, pp.wide
	col := scratch(a, kk*wide)
	defer unscratch(a, col)
	out := scratch(a, mg*wide)
	defer unscratch(a, out)
	for n := 0; n < g.N; n++ {
		for gr := 0; gr < group; gr++ {
			xin := x[(n*g.C+gr*cg)*HW:]
			// Channels are independent (pure data movement): split for
			// large inputs.
			parallelFor(cg, cg*wide*ksz/4, func(c0, c1 int) {
				bb := getBuf(pp.size)
				defer putBuf(bb)
				for c := c0; c < c1; c++ {
					if c == c0 {
						pp.fill(xin[c*HW:(c+1)*HW], *bb, 0)
					} else {
						pp.refill(xin[c*HW:(c+1)*HW], *bb)
					}
					for t, o := range pp.offs {
						copy(col[(c*ksz+t)*wide:(c*ksz+t+1)*wide], (*bb)[o:])
					}
				}
			})
			Gemm(false, false, mg, wide, kk, w[gr*mg*kk:], kk, col, wide, out, wide, false)
			for m := 0; m < mg; m++ {
				o := (n*M + gr*mg + m) * P
				plane := y[o : o+P]
				pp.finish(plane, out[m*wide:], ep, o, bias, gr*mg+m)
			}
		}
	}
}

// im2col unfolds cg channels of one image into col [cg*KH*KW, OH*OW]; taps
// that fall into the padding get the value pad.
func im2col[T float32 | uint8](g *Geometry, cg int, x []T, col []T, pad T) {
	P := g.OH * g.OW
	// Rows of the unfolded matrix (channel, tap) are independent: large
	// unfoldings are split over goroutines (pure data movement, so the
	// split cannot change a value).
	rows := cg * g.KH * g.KW
	parallelFor(rows, rows*P/4, func(r0, r1 int) {
		for idx := r0; idx < r1; idx++ {
			c, kh, kw := idx/(g.KH*g.KW), idx/g.KW%g.KH, idx%g.KW
			im2colRow(g, x[c*g.H*g.W:(c+1)*g.H*g.W], kh, kw, col[idx*P:(idx+1)*P], pad)
		}
	})
}

// im2colRow writes tap (kh, kw) of one channel plane for every output
// pixel into dst; taps in the padding get pad.
func im2colRow[T float32 | uint8](g *Geometry, plane []T, kh, kw int, dst []T, pad T) {
	o := 0
	for oh := 0; oh < g.OH; oh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		out := dst[o : o+g.OW]
		o += g.OW
		if ih < 0 || ih >= g.H {
			for i := range out {
				out[i] = pad
			}
			continue
		}
		row := plane[ih*g.W : (ih+1)*g.W]
		iw0 := -g.PadL + kw*g.DW
		if g.SW == 1 {
			// Padding on the left, a contiguous run, padding on the right.
			lo := min(max(-iw0, 0), g.OW)     // first ow inside the row
			hi := max(min(g.W-iw0, g.OW), lo) // first ow past the row
			for i := 0; i < lo; i++ {
				out[i] = pad
			}
			copy(out[lo:hi], row[iw0+lo:iw0+hi])
			for i := hi; i < g.OW; i++ {
				out[i] = pad
			}
			continue
		}
		iw := iw0
		for ow := range out {
			if iw >= 0 && iw < g.W {
				out[ow] = row[iw]
			} else {
				out[ow] = pad
			}
			iw += g.SW
		}
	}
}

// depthwise convolves every channel with its own kernel (group == C, one
// output channel per group): the reference of depthwiseRows, and what runs
// when a weight is not finite.
func depthwise(g *Geometry, x, w, bias, y []float32) {
	HW := g.H * g.W
	P := g.OH * g.OW
	ksz := g.KH * g.KW
	for n := 0; n < g.N; n++ {
		for c := 0; c < g.C; c++ {
			plane := x[(n*g.C+c)*HW : (n*g.C+c+1)*HW]
			ker := w[c*ksz : (c+1)*ksz]
			out := y[(n*g.C+c)*P : (n*g.C+c+1)*P]
			var bv float32
			if bias != nil {
				bv = bias[c]
			}
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var s float32
					for kh := 0; kh < g.KH; kh++ {
						ih := oh*g.SH - g.PadT + kh*g.DH
						if ih < 0 || ih >= g.H {
							continue
						}
						row := plane[ih*g.W : (ih+1)*g.W]
						kr := ker[kh*g.KW : (kh+1)*g.KW]
						iw := ow*g.SW - g.PadL
						for _, kv := range kr {
							if iw >= 0 && iw < g.W {
								s += float32(row[iw] * kv)
							}
							iw += g.DW
						}
					}
					out[oh*g.OW+ow] = s + bv
				}
			}
		}
	}
}

// depthwiseRows is depthwise computed with the row kernel f32TapSum over
// a zero-padded copy of each plane (paddedPlanes), followed by the epilogue
// (bias, residual, clamp) on each output row while it is in cache. Each
// output is the sum of the same products in the same tap order as in
// depthwise; the padding taps add products w·0 = ±0, which leave the sum
// unchanged (it starts at +0 and is never −0) as long as w is finite, so
// with finite weights the two agree bit for bit. Channels are split across
// goroutines for large inputs.
func depthwiseRows(g *Geometry, x, w, bias, y []float32, ep convEpilogue) {
	ksz := g.KH * g.KW
	if !allFinite(w[:g.C*ksz]) {
		depthwise(g, x, w, bias, y)
		if bias != nil || !ep.trivial() {
			// bias is already in y.
			P := g.OH * g.OW
			for i := 0; i < g.N*g.C; i++ {
				row := y[i*P : (i+1)*P]
				ep.apply(row, row, i*P, nil, 0)
			}
		}
		return
	}
	pp := newPaddedPlanes(g)
	planes, P := g.N*g.C, g.OH*g.OW
	parallelFor(planes, planes*P*ksz, func(lo, hi int) {
		bb := getBuf(pp.size + pp.wide)
		defer putBuf(bb)
		src, wide := (*bb)[:pp.size], (*bb)[pp.size:]
		for i := lo; i < hi; i++ {
			c := i % g.C
			if i == lo {
				pp.fill(x[i*g.H*g.W:(i+1)*g.H*g.W], src, 0)
			} else {
				pp.refill(x[i*g.H*g.W:(i+1)*g.H*g.W], src)
			}
			f32TapSum(wide, src, pp.offs, w[c*ksz:(c+1)*ksz])
			plane := y[i*P : (i+1)*P]
			pp.finish(plane, wide, ep, i*P, bias, c)
		}
	})
}

// allFinite reports whether no element of s is infinite or NaN.
func allFinite(s []float32) bool {
	for _, v := range s {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // exponent all ones
			return false
		}
	}
	return true
}

// paddedPlanes lays out the padded copy of one input plane that the row
// kernels of depthwiseRows and of the float pools read: the plane with its
// padding (and, for ceil-mode pools, whatever the last windows reach
// beyond it) filled with a pad value, split into SH·SW phases by row and
// column (phase (p, q) holds the padded rows p, p+SH, ... and columns q,
// q+SW, ...). Then tap t = kh·KW+kw of every output (oh, ow) is element
// offs[t] + oh·wq + ow: one row kernel call over the wide outputs
// [0, wide) computes the whole plane, output (oh, ow) at oh·wq + ow (the
// elements with ow ≥ OW are discarded).
type paddedPlanes struct {
	g       *Geometry
	hq, wq  int // rows and columns of one phase
	size    int // floats of one copy
	wide    int // (OH−1)·wq + OW
	offs    []int
	offsBuf [25]int // offs of kernels up to 5x5
}

func newPaddedPlanes(g *Geometry) *paddedPlanes {
	hp := max(g.PadT+g.H+g.PadB, (g.OH-1)*g.SH+(g.KH-1)*g.DH+1)
	wp := max(g.PadL+g.W+g.PadR, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	hq, wq := (hp+g.SH-1)/g.SH, (wp+g.SW-1)/g.SW
	pp := &paddedPlanes{g: g, hq: hq, wq: wq, size: g.SH * g.SW * hq * wq, wide: (g.OH-1)*wq + g.OW}
	pp.offs = pp.offsBuf[:0]
	for kh := 0; kh < g.KH; kh++ {
		for kw := 0; kw < g.KW; kw++ {
			r0, c0 := kh*g.DH, kw*g.DW
			pp.offs = append(pp.offs, (r0%g.SH*g.SW+c0%g.SW)*hq*wq+r0/g.SH*wq+c0/g.SW)
		}
	}
	return pp
}

// compact copies the outputs of the wide layout (see paddedPlanes) into
// the OH×OW plane dst.
func (pp *paddedPlanes) compact(dst, wide []float32) {
	ow := pp.g.OW
	for oh := 0; oh < pp.g.OH; oh++ {
		copyShort(dst[oh*ow:(oh+1)*ow], wide[oh*pp.wq:])
	}
}

// finish is compact followed by ep.apply on the plane of channel ch that
// starts at element off of the output. Rows of more than 32 outputs go
// through the epilogue straight from the wide layout (one pass instead of
// a copy and a pass); the values are the same.
func (pp *paddedPlanes) finish(dst, wide []float32, ep convEpilogue, off int, bias []float32, ch int) {
	ow := pp.g.OW
	if ow <= 32 {
		pp.compact(dst, wide)
		ep.apply(dst, dst, off, bias, ch)
		return
	}
	for oh := 0; oh < pp.g.OH; oh++ {
		ep.apply(dst[oh*ow:(oh+1)*ow], wide[oh*pp.wq:oh*pp.wq+ow], off+oh*ow, bias, ch)
	}
}

// copyShort is copy for the short rows of small planes, where calling
// memmove costs more than the loop.
func copyShort(dst, src []float32) {
	if len(dst) > 16 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = v
	}
}

// fill copies an H×W plane into dst (pp.size floats), pad elsewhere.
func (pp *paddedPlanes) fill(plane, dst []float32, pad float32) {
	dst = dst[:pp.size]
	if pad == 0 {
		clear(dst)
	} else {
		for i := range dst {
			dst[i] = pad
		}
	}
	pp.refill(plane, dst)
}

// refill is fill into a dst that fill has filled before with the same pad:
// it writes the plane's elements only, since the padding elements are the
// same for every plane of one layout. Loops over planes fill the first one
// and refill the others (at small planes clearing the copy cost as much as
// the copy itself).
func (pp *paddedPlanes) refill(plane, dst []float32) {
	g := pp.g
	dst = dst[:pp.size]
	phase := pp.hq * pp.wq
	for ih := 0; ih < g.H; ih++ {
		src := plane[ih*g.W : (ih+1)*g.W]
		r := ih + g.PadT
		base := r%g.SH*g.SW*phase + r/g.SH*pp.wq
		if g.SW == 1 {
			copyShort(dst[base+g.PadL:base+g.PadL+g.W], src)
			continue
		}
		if g.SW == 2 {
			// Even and odd input columns go to the phases of padded
			// columns PadL + iw, at (PadL + iw)/2.
			ne, no := (g.W+1)/2, g.W/2
			ev := dst[base+g.PadL%2*phase+g.PadL/2:][:ne]
			od := dst[base+(g.PadL+1)%2*phase+(g.PadL+1)/2:][:no]
			f32Deinterleave2(ev, od, src)
			if ne > no {
				ev[no] = src[2*no]
			}
			continue
		}
		// Column phase q holds the input columns iw ≡ q − PadL (mod SW),
		// from padded column c = iw + PadL at position c/SW.
		for q := 0; q < g.SW; q++ {
			iw := ((q-g.PadL)%g.SW + g.SW) % g.SW
			if iw >= len(src) {
				continue
			}
			out := dst[base+q*phase+(iw+g.PadL)/g.SW:]
			for j := 0; iw < len(src); iw, j = iw+g.SW, j+1 {
				out[j] = src[iw]
			}
		}
	}
}
