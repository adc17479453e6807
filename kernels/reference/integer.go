package reference

import (
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// at8 reads element i of a uint8 or int8 tensor.
func at8(t *tensor.Tensor, i int) int32 {
	if t.DType == tensor.Int8 {
		return int32(t.I8[i])
	}
	return int32(t.U8[i])
}

// zeroPoint returns zp[c], the single value of a per-tensor zp, or 0 when
// there is none.
func zeroPoint(zp []int32, c int) int32 {
	switch len(zp) {
	case 0:
		return 0
	case 1:
		return zp[0]
	}
	return zp[c]
}

// ConvAcc returns the int32 accumulators [N, M, OH, OW] of the integer
// convolution of 8-bit x [N, C, H, W] with 8-bit w [M, C/group, KH, KW]
// over the window g:
//
//	acc[n][m][oh][ow] = bias[m] + Σ_{c, kh, kw} (x − zx)·(w[m][c][kh][kw] − zw[m])
//
// where x is the input of channel group(m)·C/group + c at the tap's
// position, zx for padding taps (which therefore add nothing). bias may be
// nil; zw holds no value (0), one, or one per output channel. Products and
// sums wrap in int32. group = C is the depthwise convolution.
func ConvAcc(g *Window, group int, x, w *tensor.Tensor, bias []int32, zx int32, zw []int32) []int32 {
	M := w.Shape[0]
	cg, mg := g.C/group, M/group
	acc := make([]int32, g.N*M*g.OH*g.OW)
	i := 0
	for n := 0; n < g.N; n++ {
		for m := 0; m < M; m++ {
			gr := m / mg
			zwm := zeroPoint(zw, m)
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var a int32
					if bias != nil {
						a = bias[m]
					}
					for c := 0; c < cg; c++ {
						ic := gr*cg + c
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih := oh*g.SH - g.PadT + kh*g.DH
								iw := ow*g.SW - g.PadL + kw*g.DW
								xv := zx
								if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
									xv = at8(x, ((n*g.C+ic)*g.H+ih)*g.W+iw)
								}
								wv := at8(w, ((m*cg+c)*g.KH+kh)*g.KW+kw)
								a += (xv - zx) * (wv - zwm)
							}
						}
					}
					acc[i] = a
					i++
				}
			}
		}
	}
	return acc
}

// MatMulAcc returns the int32 accumulators [m, n] of the integer product
// of 8-bit A [m, k] and 8-bit B [k, n] (stored [n, k] when transB):
//
//	acc[i][j] = bias[j] + Σ_kk (A[i][kk] − za)·(B[kk][j] − zb[j])
//
// bias may be nil; zb holds no value (0), one, or one per column. Products
// and sums wrap in int32.
func MatMulAcc(a, b *tensor.Tensor, transB bool, m, k, n int, bias []int32, za int32, zb []int32) []int32 {
	acc := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			if bias != nil {
				s = bias[j]
			}
			zbj := zeroPoint(zb, j)
			for kk := 0; kk < k; kk++ {
				bi := kk*n + j
				if transB {
					bi = j*k + kk
				}
				s += (at8(a, i*k+kk) - za) * (at8(b, bi) - zbj)
			}
			acc[i*n+j] = s
		}
	}
	return acc
}

// Requantize is the one requantization rule, ONNX Runtime's
// (qmath.Requantize): every accumulator acc[i] of channel c = channel(i)
// becomes
//
//	y[i] = min(max(round_half_even(float32(acc[i])·mult[c]) + zy, lo), hi)
//
// with one float32 multiplication; mult holds one multiplier or one per
// channel, and [lo, hi] is the output type's range, narrowed by a fused
// Relu or Clip. y is a uint8 or int8 tensor of len(acc) elements.
func Requantize(y *tensor.Tensor, acc []int32, channel func(i int) int, mult []float32, zy, lo, hi int32) {
	for i, a := range acc {
		m := mult[0]
		if len(mult) > 1 {
			m = mult[channel(i)]
		}
		v := qmath.Requantize(a, m, zy, lo, hi)
		if y.DType == tensor.Int8 {
			y.I8[i] = int8(v)
		} else {
			y.U8[i] = uint8(v)
		}
	}
}
