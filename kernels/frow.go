package kernels

import (
	"math"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// Float row kernels: the inner loops of the float depthwise convolution and
// of the convolution epilogue (bias, residual, clamp), in pure Go here and
// in assembly in frow_amd64.s. Every output element is computed
// independently with the same operations in the same order (multiplies and
// adds rounded one by one, never fused), so all implementations agree bit
// for bit and the assembly needs no tolerance against these loops.

// f32TapSumGo is the reference of f32TapSum: for every i < len(dst),
//
//	s = 0; for t := range ker { s += float32(ker[t] · src[offs[t]+i]) }; dst[i] = s
//
// (the float32 conversion keeps the compiler from fusing the multiply
// and the add).
func f32TapSumGo(dst, src []float32, offs []int, ker []float32) {
	for i := range dst {
		var s float32
		for t, k := range ker {
			s += float32(k * src[offs[t]+i])
		}
		dst[i] = s
	}
}

// f32Deinterleave2Go is the reference of f32Deinterleave2: for every
// k < len(od), ev[k] = src[2k] and od[k] = src[2k+1] (the even and odd
// columns of a row, as the stride-2 padded planes of paddedPlanes want
// them). ev may be longer than od; its extra elements are not written.
func f32Deinterleave2Go(ev, od, src []float32) {
	src = src[:2*len(od)]
	ev = ev[:len(od)]
	for k := range od {
		p := src[2*k : 2*k+2 : 2*k+2]
		ev[k], od[k] = p[0], p[1]
	}
}

// f32TapMaxGo is the reference of f32TapMax: for every i < len(dst),
//
//	m = src[offs[0]+i]; for t ≥ 1 { v = src[offs[t]+i]; if v > m || v != v { m = v } }; dst[i] = m
//
// the rule of reference.MaxPool (a NaN wins, −0 and +0 keep the first).
func f32TapMaxGo(dst, src []float32, offs []int) {
	for i := range dst {
		m := src[offs[0]+i]
		for _, o := range offs[1:] {
			if v := src[o+i]; v > m || v != v {
				m = v
			}
		}
		dst[i] = m
	}
}

// f32BiasClampGo is the reference of f32BiasClamp: for every i < len(dst),
//
//	v = x[i] + bias; if r != nil { v += r[i] }; if v < lo { v = lo }; if v > hi { v = hi }; dst[i] = v
//
// so NaN stays NaN and −0 stays −0 when lo ≤ 0. A bias of −0 adds
// nothing (x + (−0) = x for every x); dst may be x.
func f32BiasClampGo(dst, x, r []float32, bias, lo, hi float32) {
	x = x[:len(dst)]
	if r != nil {
		r = r[:len(dst)]
	}
	for i, v := range x {
		v += bias
		if r != nil {
			v += r[i]
		}
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		dst[i] = v
	}
}

// f32LRN075Go is the reference of f32LRN075, LRN's last step for beta
// 0.75: for every i < len(dst),
//
//	t = bias + a·sq[i]; dst[i] = x[i] / √(t·√t)
//
// in float32, each operation rounded (square roots correctly rounded).
func f32LRN075Go(dst, x, sq []float32, bias, a float32) {
	x, sq = x[:len(dst)], sq[:len(dst)]
	for i, v := range x {
		t := bias + float32(a*sq[i])
		r := float32(math.Sqrt(float64(t)))
		p := float32(math.Sqrt(float64(float32(t * r))))
		dst[i] = v / p
	}
}

// frowISA names an implementation of the float row kernels: the Go loops
// here, or the assembly twins of frow_amd64.s on whole 8-float vectors
// with the tail in Go (AVX2) or with masked tails (AVX-512F).
type frowISA int

const (
	frowGo frowISA = iota
	frowAVX2
	frowAVX512
)

// frowFamily is the name of the float row kernels' family in internal/cpu.
const frowFamily = "kernels.frow"

// frowActive is the implementation in use, chosen once by internal/cpu
// from those frow_amd64.go registers (frowGo without them).
var frowActive frowISA

var frowKernels = cpu.NewFamily(frowFamily, &frowActive, "go", frowGo)

// negZero is −0, the bias that adds nothing.
var negZero = math.Float32frombits(1 << 31)
