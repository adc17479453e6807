package calibrate

import (
	"math"

	"github.com/eightbitml/eightbit/qmath"
)

// Result returns the range that o.Method chooses from the histogram. The
// range is symmetric ([−t, t]) when the histogram is absolute and
// asymmetric otherwise; it never reaches beyond the values seen, always
// contains zero (so the zero point of qmath.AsymmetricParams or 0 of
// qmath.SymmetricParams represents real zero exactly), and is {0, 0} when no
// finite value was seen. o.Symmetric is ignored: the histogram's layout
// decides. Unknown methods fall back to min/max.
func (h *Histogram) Result(o Options) qmath.Range {
	if h.mm.count == 0 {
		return qmath.Range{}
	}
	o, err := o.Normalize()
	if err != nil {
		o = Options{Method: MethodMinMax}
	}
	o.Symmetric = h.abs
	var lo, hi float64 // chosen window in real values (magnitudes if abs)
	switch o.Method {
	case MethodPercentile:
		lo, hi = h.percentile(o.Percentile)
	case MethodEntropy:
		lo, hi = h.entropy(o)
	case MethodMSE:
		lo, hi = h.mse(o)
	default:
		lo, hi = math.Inf(-1), math.Inf(1)
	}
	return h.clamp(lo, hi)
}

// clamp limits a window to the observed values, makes it symmetric for an
// absolute histogram and widens it to contain zero.
func (h *Histogram) clamp(lo, hi float64) qmath.Range {
	omin, omax := float64(h.mm.min), float64(h.mm.max)
	if h.abs {
		a := math.Max(-omin, omax)
		t := float32(math.Min(hi, a))
		return qmath.Range{Min: -t, Max: t}.WithZero()
	}
	r := qmath.Range{Min: float32(math.Max(lo, omin)), Max: float32(math.Min(hi, omax))}
	if r.Min > r.Max { // a window that missed every value: keep the observed side
		r.Min, r.Max = r.Max, r.Min
	}
	return r.WithZero()
}

// percentile keeps p percent of the values: the whole rest is cut from the
// top of an absolute histogram, half of it from each tail of a signed one.
// Cuts fall on bin edges; at most the allowed share lies outside.
func (h *Histogram) percentile(p float64) (lo, hi float64) {
	n := len(h.counts)
	total := float64(h.mm.count)
	cut := total * (100 - p) / 100
	if !h.abs {
		cut /= 2
	}
	// hi: the smallest edge with at most cut values above it.
	k := n
	var above float64
	for k > 0 && above+float64(h.counts[k-1]) <= cut {
		above += float64(h.counts[k-1])
		k--
	}
	hi = h.Edge(k)
	if h.abs {
		return 0, hi
	}
	j := 0
	var below float64
	for j < n && below+float64(h.counts[j]) <= cut {
		below += float64(h.counts[j])
		j++
	}
	return h.Edge(j), hi
}

// window returns candidate m of the search families shared by Entropy and
// MSE: the first m bins of an absolute histogram, or m bins of a signed one
// placed so that zero divides them in the proportion it divides the whole.
func (h *Histogram) window(m int) (a, b int) {
	n := len(h.counts)
	if h.abs {
		return 0, m
	}
	a = h.neg - int(math.Round(float64(m)*float64(h.neg)/float64(n)))
	a = min(max(a, 0), n-m)
	return a, a + m
}

// entropyMaxClip is the largest share of the (nonzero) values an Entropy
// window may clip. The divergence rewards windows that keep point masses
// (constant outputs, such as a convolution over a uniform background, land
// in one bin) apart from each other, and on tensors made mostly of such
// masses it picks a window that cuts off the spread-out values that carry
// the signal: one such tensor of a MNIST CNN lost 9% of its values and the
// model half its accuracy. Entropy is meant to trim outliers, so windows
// that clip more than this are not considered.
const entropyMaxClip = 0.01

// entropyEps smooths zero probabilities so that the divergence stays finite
// (the value used by TensorRT-style calibrators).
const entropyEps = 1e-4

// entropy searches, over the values other than exact zeros, the window
// whose clipped distribution P and its quantized approximation Q (the window's bins merged into as many groups as
// the target type has levels on that side, then spread evenly over the bins
// that were not empty) have the smallest KL divergence KL(P‖Q), P getting
// the clipped values added to its outermost bins.
func (h *Histogram) entropy(o Options) (lo, hi float64) {
	n := len(h.counts)
	levels := 256
	if h.abs {
		levels = 128
	}
	if n <= levels {
		return math.Inf(-1), math.Inf(1)
	}
	// Exact zeros (ReLU outputs are often half zeros) are left out: zero is
	// exactly representable whatever the range, and as a spike in one bin
	// they would dominate the divergence of every window wider than the
	// number of levels, pulling the choice down to the narrowest window.
	counts := append([]int64(nil), h.counts...)
	counts[h.zeroBin()] -= min(h.zeros, counts[h.zeroBin()])
	prefix := make([]int64, n+1)
	for i, c := range counts {
		prefix[i+1] = prefix[i] + c
	}
	p := make([]float64, n)
	q := make([]float64, n)
	best, bestA, bestB := math.Inf(1), 0, n
	maxClip := entropyMaxClip * float64(prefix[n])
	for m := levels; m <= n; m++ {
		a, b := h.window(m)
		if m < n && float64(prefix[a]+prefix[n]-prefix[b]) > maxClip {
			continue
		}
		win := counts[a:b]
		for i, c := range win {
			p[i] = float64(c)
		}
		p[0] += float64(prefix[a])
		p[m-1] += float64(prefix[n] - prefix[b])
		for g := 0; g < levels; g++ {
			s, e := g*m/levels, (g+1)*m/levels
			var sum float64
			nz := 0
			for i := s; i < e; i++ {
				sum += float64(win[i])
				if p[i] != 0 {
					nz++
				}
			}
			for i := s; i < e; i++ {
				if p[i] != 0 && nz > 0 {
					q[i] = sum / float64(nz)
				} else {
					q[i] = 0
				}
			}
		}
		if !smooth(p[:m]) || !smooth(q[:m]) {
			continue
		}
		if d := kl(p[:m], q[:m]); d < best {
			best, bestA, bestB = d, a, b
		}
	}
	if math.IsInf(best, 1) {
		return math.Inf(-1), math.Inf(1)
	}
	return h.Edge(bestA), h.Edge(bestB)
}

// smooth adds entropyEps to the empty entries of a count vector and takes
// the same mass from the others; it reports false when that is impossible.
func smooth(d []float64) bool {
	zeros := 0
	for _, v := range d {
		if v == 0 {
			zeros++
		}
	}
	nonzeros := len(d) - zeros
	if nonzeros == 0 {
		return false
	}
	eps1 := entropyEps * float64(zeros) / float64(nonzeros)
	for i, v := range d {
		if v == 0 {
			d[i] = entropyEps
		} else {
			d[i] = v - eps1
			if d[i] <= 0 {
				return false
			}
		}
	}
	return true
}

// kl returns KL(p‖q) of two positive vectors after normalizing each.
func kl(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	var d float64
	for i := range p {
		pi := p[i] / sp
		d += pi * math.Log(pi*sq/(q[i]*sp))
	}
	return d
}

// mse searches the window whose quantization grid gives the smallest
// expected squared error over the histogram: every value is assumed spread
// uniformly over its bin (exact zeros excepted, which cost nothing), and
// the error of rounding to the grid and of clipping to its ends is
// integrated exactly over each bin.
func (h *Histogram) mse(o Options) (lo, hi float64) {
	n := len(h.counts)
	qmin, qmax := o.levels()
	best, bestA, bestB := math.Inf(1), 0, n
	for m := 1; m <= n; m++ {
		a, b := h.window(m)
		wlo, whi := h.Edge(a), h.Edge(b)
		var prm qmath.Params
		if h.abs {
			prm = qmath.SymmetricParams(qmath.Range{Min: float32(-whi), Max: float32(whi)}, qmax)
		} else {
			prm = qmath.AsymmetricParams(qmath.Range{Min: float32(wlo), Max: float32(whi)}, qmin, qmax)
		}
		e := h.expectedError(prm, qmin, qmax, best)
		if e < best {
			best, bestA, bestB = e, a, b
		}
	}
	return h.Edge(bestA), h.Edge(bestB)
}

// ExpectedError returns the expected squared error, summed over the values
// counted, of quantizing them with p onto [qmin, qmax] (values assumed
// uniform within their bin; exact zeros cost nothing).
func (h *Histogram) ExpectedError(p qmath.Params, qmin, qmax int32) float64 {
	return h.expectedError(p, qmin, qmax, math.Inf(1))
}

// expectedError is ExpectedError that gives up once the sum exceeds limit.
func (h *Histogram) expectedError(p qmath.Params, qmin, qmax int32, limit float64) float64 {
	g := grid{s: float64(p.Scale), zp: float64(p.ZeroPoint), qmin: float64(qmin), qmax: float64(qmax)}
	g.low = (g.qmin - g.zp + 0.5) * g.s
	g.high = (g.qmax - g.zp - 0.5) * g.s
	var sum float64
	w := h.width
	if w == 0 {
		return 0 // every value is zero
	}
	zb := h.zeroBin()
	for k, c := range h.counts {
		if k == zb {
			c -= h.zeros
		}
		if c == 0 {
			continue
		}
		u := h.Edge(k)
		sum += float64(c) * g.integral(u, u+w) / w
		if sum > limit {
			return sum
		}
	}
	return sum
}

// grid is the dequantized grid of one set of parameters.
type grid struct {
	s, zp, qmin, qmax float64
	low, high         float64 // below low values round to qmin, above high to qmax
}

// integral returns ∫ (x − Q(x))² dx over [u, v], Q rounding to the nearest
// grid value and clipping to the grid's ends.
func (g *grid) integral(u, v float64) float64 {
	var sum float64
	if u < g.low {
		e := math.Min(v, g.low)
		sum += sq3(u, e, (g.qmin-g.zp)*g.s)
		u = e
	}
	if v > g.high {
		s := math.Max(u, g.high)
		sum += sq3(s, v, (g.qmax-g.zp)*g.s)
		v = s
	}
	if !(v > u) {
		return sum
	}
	// Cells [(j−½)s, (j+½)s) around grid value j·s (j relative to zp).
	j := math.Round(u / g.s)
	for x := u; x < v; j++ {
		e := math.Min(v, (j+0.5)*g.s)
		sum += sq3(x, e, j*g.s)
		x = e
	}
	return sum
}

// sq3 is ∫ (x − c)² dx over [u, v].
func sq3(u, v, c float64) float64 {
	a, b := u-c, v-c
	return (b*b*b - a*a*a) / 3
}
