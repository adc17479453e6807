package quantize

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// AdaRound (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training
// Quantization", 2020). Rounding each weight to nearest minimizes each
// weight's own error, not the layer's output error: errors of correlated
// inputs add up. AdaRound learns, per weight, whether to round down or up,
// minimizing E[(Δ·x)²] = Δᵀ·G·Δ per output channel, where Δ is the
// channel's weight error and G = E[x·xᵀ] the second moment of the layer's
// input patches on the calibration split (calibrate.Gram). The rounding is
// relaxed to h(V) = clip(σ(V)·(ζ−γ)+γ, 0, 1) and optimized with Adam; a
// regularizer λ·Σ(1−|2h−1|^β), with β annealed from 20 to 2 after a warm-up
// of a fifth of the iterations, drives every h to 0 or 1. The scales and
// zero points stay those of the scheme.
//
// The solve is deterministic on every platform and core count: channels are
// independent, the arithmetic is float64 without fused operations, and the
// sigmoid uses its own exponential rather than math.Exp, whose assembly
// differs between CPUs.

// DefaultAdaRoundIters is the number of optimization steps per layer when
// Options.AdaRoundIters is 0.
const DefaultAdaRoundIters = 1000

// AdaRound hyper-parameters, as in the paper.
const (
	adaZeta   = 1.1
	adaGamma  = -0.1
	adaLambda = 0.01
	adaLR     = 1e-2
	adaBeta1  = 0.9
	adaBeta2  = 0.999
	adaEps    = 1e-8
)

// quantWeight is a weight's quantized values and parameters.
type quantWeight struct {
	qt     *tensor.Tensor
	params []qmath.Params
}

// weight returns the quantized weight wn of target n along axis, computed
// once: the scheme's rounding to nearest, or AdaRound's where Options.AdaRound
// has the layer's input moments and n is the weight's only reader.
func (q *quantizer) weight(n *graph.Node, wn string, axis int) (*tensor.Tensor, []qmath.Params, error) {
	if c, ok := q.quantWeights[wn]; ok {
		return c.qt, c.params, nil
	}
	w := q.g.Initializers[wn]
	qt, params := q.sch.weight(w, axis)
	if gram := q.grams[q.layerOf[n]]; gram != nil && gram.Samples() > 0 && readers(q.g, wn) == 1 {
		iters := q.adaIters
		if iters == 0 {
			iters = DefaultAdaRoundIters
		}
		res, err := adaRound(n, w, qt, params, axis, gram, iters)
		if err != nil {
			return nil, nil, fmt.Errorf("quantize: AdaRound of %s: %w", n.Label(), err)
		}
		q.sum.AdaRounded++
		q.sum.AdaRoundFlipped += res.Flipped
	}
	q.quantWeights[wn] = quantWeight{qt, params}
	return qt, params, nil
}

func readers(g *graph.Graph, name string) int {
	r := 0
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == name {
				r++
			}
		}
	}
	return r
}

// AdaRoundResult describes the rounding chosen for one layer.
type AdaRoundResult struct {
	// Flipped is the number of weights rounded the other way than to
	// nearest.
	Flipped int
	// Before and After are Σ over channels of Δᵀ·G·Δ for rounding to
	// nearest and for the rounding kept.
	Before, After float64
}

// adaRound replaces the nearest rounding of qt (the quantized w with
// params, along axis) by the adaptive one for the layer n.
func adaRound(n *graph.Node, w, qt *tensor.Tensor, params []qmath.Params, axis int, gram *calibrate.Gram, iters int) (AdaRoundResult, error) {
	var res AdaRoundResult
	co, k, at, err := adaLayout(n, w, axis)
	if err != nil {
		return res, err
	}
	if gram.PatchLen() != k {
		return res, fmt.Errorf("a %d-value patch observer for %d weights per channel", gram.PatchLen(), k)
	}
	groups := 1
	if n.OpType == "Conv" {
		groups = int(n.AttrInt("group", 1))
	}
	mats := make([][]float64, groups)
	for gi := range mats {
		mats[gi] = gram.Matrix(gi)
		if mats[gi] == nil {
			return res, fmt.Errorf("no calibration samples")
		}
	}
	qmin, qmax := int32(qmath.Int8Min), int32(qmath.Int8Max)
	if qt.DType == tensor.Uint8 {
		qmin, qmax = qmath.Uint8Min, qmath.Uint8Max
	}
	type chanRes struct {
		flipped       int
		before, after float64
	}
	out := make([]chanRes, co)
	workers := min(runtime.GOMAXPROCS(0), co)
	var wg sync.WaitGroup
	for t := 0; t < workers; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			sol := newAdaSolver(k)
			for o := t * co / workers; o < (t+1)*co/workers; o++ {
				p := params[min(o, len(params)-1)]
				for j := 0; j < k; j++ {
					sol.w[j] = float64(w.F32[at(o, j)])
				}
				g := mats[o/(co/groups)]
				up, before, after := sol.solve(g, float64(p.Scale), p.ZeroPoint, qmin, qmax, iters)
				r := chanRes{before: before, after: after}
				for j := 0; j < k; j++ {
					i := at(o, j)
					v := int32(math.Floor(sol.w[j]/float64(p.Scale))) + p.ZeroPoint
					if up[j] {
						v++
					}
					v = max(qmin, min(qmax, v))
					var old int32
					if qt.DType == tensor.Uint8 {
						old = int32(qt.U8[i])
						qt.U8[i] = uint8(v)
					} else {
						old = int32(qt.I8[i])
						qt.I8[i] = int8(v)
					}
					if old != v {
						r.flipped++
					}
				}
				out[o] = r
			}
		}(t)
	}
	wg.Wait()
	for _, r := range out {
		res.Flipped += r.flipped
		res.Before += r.before
		res.After += r.after
	}
	return res, nil
}

// adaLayout returns the output channel count, the weights per channel and
// the index in w of weight j of output channel o, for a Conv weight
// [Co, Ci/g, kh, kw] (axis 0) or a Gemm weight ([N, K] with transB, axis 0;
// [K, N] without, axis 1).
func adaLayout(n *graph.Node, w *tensor.Tensor, axis int) (co, k int, at func(o, j int) int, err error) {
	switch {
	case n.OpType == "Conv" && len(w.Shape) == 4 && axis == 0:
		co, k = w.Shape[0], w.Shape[1]*w.Shape[2]*w.Shape[3]
		return co, k, func(o, j int) int { return o*k + j }, nil
	case n.OpType == "Gemm" && len(w.Shape) == 2 && axis == 0:
		co, k = w.Shape[0], w.Shape[1]
		return co, k, func(o, j int) int { return o*k + j }, nil
	case n.OpType == "Gemm" && len(w.Shape) == 2 && axis == 1:
		co, k = w.Shape[1], w.Shape[0]
		return co, k, func(o, j int) int { return j*co + o }, nil
	}
	return 0, 0, nil, fmt.Errorf("AdaRound does not handle a %s weight %v along axis %d", n.OpType, w.Shape, axis)
}

// adaSolver holds one channel's working arrays.
type adaSolver struct {
	w, base, v, h, delta, gd, m, s []float64
	fixed                          []bool // the weight saturates: rounding cannot change it
}

func newAdaSolver(k int) *adaSolver {
	f := func() []float64 { return make([]float64, k) }
	return &adaSolver{w: f(), base: f(), v: f(), h: f(), delta: f(), gd: f(), m: f(), s: f(), fixed: make([]bool, k)}
}

// solve returns, for the weights in a.w quantized with scale and zero
// point zp into [qmin, qmax], whether each rounds up from floor(w/scale),
// and Δᵀ·G·Δ for rounding to nearest and for the returned rounding (never
// worse than nearest).
func (a *adaSolver) solve(g []float64, scale float64, zp, qmin, qmax int32, iters int) (up []bool, before, after float64) {
	k := len(a.w)
	up = make([]bool, k)
	nearest := make([]bool, k)
	var trace float64
	for j := 0; j < k; j++ {
		trace += g[j*k+j]
	}
	norm := float64(scale*scale) * trace / float64(k)
	for j, w := range a.w {
		x := w / scale
		b := math.Floor(x)
		a.base[j] = b
		frac := x - b
		nearest[j] = math.RoundToEven(x) > b
		lo, hi := int32(b)+zp, int32(b)+1+zp
		a.fixed[j] = lo < qmin || hi > qmax
		// h(V) = frac at the start: σ(V) = (frac−γ)/(ζ−γ).
		sg := (frac - adaGamma) / (adaZeta - adaGamma)
		a.v[j] = -detLog(1/sg - 1)
		a.m[j], a.s[j] = 0, 0
	}
	loss := func(round []bool) float64 {
		for j := range a.w {
			a.delta[j] = a.w[j] - scale*(a.clamped(j, round[j], zp, qmin, qmax)-float64(zp))
		}
		return quadForm(g, a.delta)
	}
	before = loss(nearest)
	if norm == 0 || iters <= 0 {
		copy(up, nearest)
		return up, before, before
	}
	warm := iters / 5
	b1t, b2t := 1.0, 1.0
	for it := 0; it < iters; it++ {
		for j := range a.w {
			sg := detSigmoid(a.v[j])
			a.h[j] = max(0, min(1, float64(sg*(adaZeta-adaGamma))+adaGamma))
			q := a.base[j] + a.h[j] + float64(zp)
			q = max(float64(qmin), min(float64(qmax), q))
			a.delta[j] = a.w[j] - scale*(q-float64(zp))
		}
		matVec(g, a.delta, a.gd)
		beta := 0.0
		if it >= warm {
			// β from 20 down to 2, in whole steps (no math.Pow).
			beta = math.Round(20 - 18*float64(it-warm)/float64(max(1, iters-warm)))
		}
		b1t *= adaBeta1
		b2t *= adaBeta2
		for j := range a.w {
			if a.fixed[j] {
				continue
			}
			sg := detSigmoid(a.v[j])
			raw := float64(sg*(adaZeta-adaGamma)) + adaGamma
			if raw <= 0 || raw >= 1 {
				// Clipped: no gradient through h; the regularizer has
				// its minimum here anyway.
				continue
			}
			gh := -2 * scale * a.gd[j] / norm
			if beta > 0 {
				u := 2*a.h[j] - 1
				p := powInt(math.Abs(u), int(beta)-1)
				sign := 1.0
				if u < 0 {
					sign = -1
				}
				gh += adaLambda * (-beta * p * sign * 2)
			}
			gv := gh * float64(float64(sg*(1-sg))*(adaZeta-adaGamma))
			a.m[j] = float64(adaBeta1*a.m[j]) + float64((1-adaBeta1)*gv)
			a.s[j] = float64(adaBeta2*a.s[j]) + float64(float64((1-adaBeta2)*gv)*gv)
			mh, sh := a.m[j]/(1-b1t), a.s[j]/(1-b2t)
			a.v[j] -= adaLR * mh / (math.Sqrt(sh) + adaEps)
		}
	}
	for j := range a.w {
		up[j] = float64(detSigmoid(a.v[j])*(adaZeta-adaGamma))+adaGamma >= 0.5
	}
	after = loss(up)
	if !(after < before) {
		copy(up, nearest)
		after = before
	}
	return up, before, after
}

// clamped returns weight j's quantized value rounded down or up, saturated.
func (a *adaSolver) clamped(j int, up bool, zp, qmin, qmax int32) float64 {
	q := a.base[j] + float64(zp)
	if up {
		q++
	}
	return max(float64(qmin), min(float64(qmax), q))
}

// matVec sets y = G·x for a k×k row-major G, each sum in increasing
// index order without fused multiply-adds.
func matVec(g, x, y []float64) {
	k := len(x)
	for r := 0; r < k; r++ {
		row := g[r*k : (r+1)*k]
		var s float64
		for c, v := range row {
			s += float64(v * x[c])
		}
		y[r] = s
	}
}

// quadForm returns xᵀ·G·x.
func quadForm(g, x []float64) float64 {
	k := len(x)
	var s float64
	for r := 0; r < k; r++ {
		row := g[r*k : (r+1)*k]
		var t float64
		for c, v := range row {
			t += float64(v * x[c])
		}
		s += float64(x[r] * t)
	}
	return s
}

func powInt(x float64, n int) float64 {
	r := 1.0
	for ; n > 0; n-- {
		r *= x
	}
	return r
}

// detSigmoid is 1/(1+e^−x) with detExp.
func detSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + detExp(-x))
	}
	e := detExp(x)
	return e / (1 + e)
}

// detExp is e^x for x ≤ 0 from basic float64 arithmetic only, so that it
// gives the same bits on every CPU: x = n·ln2 + r with |r| ≤ ln2/2, e^r by
// its Taylor series to degree 14 (relative error below 1e-16), scaled by
// 2^n exactly.
func detExp(x float64) float64 {
	if x < -745 {
		return 0
	}
	const ln2Hi, ln2Lo = 6.93147180369123816490e-01, 1.90821492927058770002e-10
	n := math.Round(x / math.Ln2)
	r := float64(x-float64(n*ln2Hi)) - float64(n*ln2Lo)
	p, term := 1.0, 1.0
	for i := 1; i <= 14; i++ {
		term = float64(term*r) / float64(i)
		p += term
	}
	return math.Ldexp(p, int(n))
}

// detLog is ln(x) for x > 0 by Newton steps on detExp from a frexp start.
func detLog(x float64) float64 {
	if !(x > 0) {
		return math.Inf(-1)
	}
	if math.IsInf(x, 1) {
		return math.Inf(1)
	}
	frac, exp := math.Frexp(x) // x = frac·2^exp, frac in [0.5, 1)
	// ln(x) = ln(frac) + exp·ln2; ln(frac) in [−0.7, 0] by Newton on e^y.
	y := float64(frac) - 1
	for i := 0; i < 8; i++ {
		e := detExp(y)
		y -= float64(e-frac) / e
	}
	return y + float64(float64(exp)*math.Ln2)
}
