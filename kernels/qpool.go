package kernels

import "sync"

// 8-bit MaxPool, separably. For integers the maximum of a window does not
// depend on the order of its taps, and a padding tap equal to the type's
// lowest value never changes it (a window of padding alone gives the
// lowest value, as maxPoolReference does), so
//
//	v[i]      = max over kh of x[oh·SH − PadT + kh·DH][i − PadL]   (lowest outside)
//	y[oh][ow] = max over kw of v[ow·SW + kw·DW]
//
// is maxPoolReference bit for bit. Both passes are runs of whole-row
// maxima, which the vector kernels compute 32 or 64 bytes at a time.

// maxRowOps are the row kernels of maxPool8 for one 8-bit type.
type maxRowOps struct {
	// into sets dst[i] = max(dst[i], src[i]) for i < len(dst).
	into func(dst, src []byte)
	// into2 sets dst[j] = max(dst[j], src[2j]) for j < len(dst).
	into2 func(dst, src []byte)
	// signed compares the bytes as int8.
	signed bool
}

// larger reports whether a > b in the ops' type.
func (o maxRowOps) larger(a, b byte) bool {
	if o.signed {
		return int8(a) > int8(b)
	}
	return a > b
}

// maxIntoU8Go is maxRowOps.into for uint8.
func maxIntoU8Go(dst, src []byte) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

// maxInto2U8Go is maxRowOps.into2 for uint8.
func maxInto2U8Go(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = max(dst[j], src[2*j])
	}
}

// maxIntoI8Go is maxRowOps.into for int8 (as two's-complement bytes).
func maxIntoI8Go(dst, src []byte) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = byte(max(int8(dst[i]), int8(v)))
	}
}

// maxInto2I8Go is maxRowOps.into2 for int8.
func maxInto2I8Go(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = byte(max(int8(dst[j]), int8(src[2*j])))
	}
}

// maxOpsU8 returns the uint8 row kernels of the active implementation.
func maxOpsU8() maxRowOps {
	ops := maxRowOps{into: maxIntoU8Go, into2: maxInto2U8Go}
	if active.maxU8 != nil {
		ops.into = active.maxU8
	}
	if active.maxU8Stride2 != nil {
		ops.into2 = active.maxU8Stride2
	}
	return ops
}

// poolRows holds the scratch row (v above) of maxPool8 calls.
var poolRows = sync.Pool{New: func() any { return new([]byte) }}

// maxPool8 is maxPoolReference for uint8 or int8 planes x, y (as bytes),
// lowest being the type's smallest value, with the planes split over the
// worker pool.
func maxPool8(g *Geometry, x, y []byte, lowest byte, ops maxRowOps) {
	HW, P := g.H*g.W, g.OH*g.OW
	// v[i] stands for input column i − PadL; it spans every tap of the
	// row (ceil mode may reach past the right padding).
	span := max(g.PadL+g.W, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	parallelFor(g.N*g.C, g.N*g.C*P*g.KH*g.KW, func(c0, c1 int) {
		buf := poolRows.Get().(*[]byte)
		if cap(*buf) < span {
			*buf = make([]byte, span)
		}
		v := (*buf)[:span]
		for i := range v {
			v[i] = lowest
		}
		inner := v[g.PadL : g.PadL+g.W]
		for nc := c0; nc < c1; nc++ {
			plane := x[nc*HW : (nc+1)*HW]
			out := y[nc*P : (nc+1)*P]
			for oh := 0; oh < g.OH; oh++ {
				first := true
				for kh := 0; kh < g.KH; kh++ {
					ih := oh*g.SH - g.PadT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					row := plane[ih*g.W : (ih+1)*g.W]
					if first {
						copy(inner, row)
						first = false
					} else {
						ops.into(inner, row)
					}
				}
				if first { // no input row: the window is padding only
					for i := range inner {
						inner[i] = lowest
					}
				}
				maxRow8(g, out[oh*g.OW:(oh+1)*g.OW], v, lowest, ops)
			}
		}
		poolRows.Put(buf)
	})
}

// maxRow8 sets dst[ow] = max over kw of v[ow·SW + kw·DW].
func maxRow8(g *Geometry, dst, v []byte, lowest byte, ops maxRowOps) {
	switch g.SW {
	case 1:
		copy(dst, v)
		for kw := 1; kw < g.KW; kw++ {
			ops.into(dst, v[kw*g.DW:])
		}
	case 2:
		for i := range dst {
			dst[i] = lowest
		}
		for kw := 0; kw < g.KW; kw++ {
			ops.into2(dst, v[kw*g.DW:])
		}
	default:
		for ow := range dst {
			m := v[ow*g.SW]
			for kw := 1; kw < g.KW; kw++ {
				if t := v[ow*g.SW+kw*g.DW]; ops.larger(t, m) {
					m = t
				}
			}
			dst[ow] = m
		}
	}
}
