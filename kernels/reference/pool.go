package reference

// MaxPool sets every output of the planes y [N·C, OH, OW] to the maximum
// of its window over the planes x [N·C, H, W]: the first of the window's
// in-range taps in row-major order, replaced by each later tap that is
// larger or NaN (so a NaN anywhere in the window wins, and of +0 and −0 the
// first stays). A window of padding alone gives lowest.
func MaxPool[T float32 | uint8 | int8](g *Window, x, y []T, lowest T) {
	HW, P := g.H*g.W, g.OH*g.OW
	for nc := 0; nc < g.N*g.C; nc++ {
		plane := x[nc*HW : (nc+1)*HW]
		out := y[nc*P : (nc+1)*P]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				out[oh*g.OW+ow] = MaxPoolWindow(g, plane, oh, ow, lowest)
			}
		}
	}
}

// MaxPoolWindow is the output (oh, ow) of MaxPool over one plane.
func MaxPoolWindow[T float32 | uint8 | int8](g *Window, plane []T, oh, ow int, lowest T) T {
	m := lowest
	seen := false
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		for kw := 0; kw < g.KW; kw++ {
			iw := ow*g.SW - g.PadL + kw*g.DW
			if iw < 0 || iw >= g.W {
				continue
			}
			v := plane[ih*g.W+iw]
			if !seen || v > m || v != v {
				m = v
				seen = true
			}
		}
	}
	return m
}

// AveragePool sets every output of the planes y to the float32 sum of its
// window's in-range taps of x, in row-major order, divided by their count,
// or with countPad by the number of taps inside the explicit padding; a
// window with nothing to count gives 0.
func AveragePool(g *Window, countPad bool, x, y []float32) {
	HW, P := g.H*g.W, g.OH*g.OW
	for nc := 0; nc < g.N*g.C; nc++ {
		plane := x[nc*HW : (nc+1)*HW]
		out := y[nc*P : (nc+1)*P]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				var s float32
				n, npad := 0, 0
				for kh := 0; kh < g.KH; kh++ {
					ih := oh*g.SH - g.PadT + kh*g.DH
					inH := ih >= 0 && ih < g.H
					padH := ih >= -g.PadT && ih < g.H+g.PadB
					for kw := 0; kw < g.KW; kw++ {
						iw := ow*g.SW - g.PadL + kw*g.DW
						if padH && iw >= -g.PadL && iw < g.W+g.PadR {
							npad++
						}
						if inH && iw >= 0 && iw < g.W {
							s += plane[ih*g.W+iw]
							n++
						}
					}
				}
				if countPad {
					n = npad
				}
				if n == 0 {
					out[oh*g.OW+ow] = 0
					continue
				}
				out[oh*g.OW+ow] = s / float32(n)
			}
		}
	}
}
