package calibrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/eightbitml/eightbit/qmath"
)

// Histogram counts the finite values of one tensor in fixed-width bins over
// a range fixed before the first value arrives (the second calibration
// pass; the first pass finds the range with MinMax). Because every worker
// derives the same bins from the same first-pass range, merging is exact
// integer addition, associative and commutative.
//
// A histogram is signed or absolute. A signed histogram covers the
// first-pass range widened to contain zero, with zero on a bin edge: bins
// [k·w, (k+1)·w) for k in [−Neg, Pos). An absolute histogram (for symmetric
// ranges) counts |v| in bins [k·w, (k+1)·w) for k in [0, Bins). Values that
// fall outside the bins (they cannot when both passes see the same samples)
// are counted in the outermost bin. Exact zeros are also counted apart, as
// zero is exactly representable and costs no rounding error.
//
// The zero value is not usable; call NewHistogram.
type Histogram struct {
	abs      bool
	neg, pos int
	width    float64
	inv      float64
	counts   []int64
	zeros    int64
	mm       MinMax
}

// NewHistogram returns an empty histogram of bins bins laid over r (the
// first-pass range of the tensor): signed over r widened to contain zero, or
// absolute over [0, max(|r.Min|, |r.Max|)] when symmetric is set.
func NewHistogram(r qmath.Range, bins int, symmetric bool) *Histogram {
	if bins < 2 {
		bins = 2
	}
	h := &Histogram{abs: symmetric, counts: make([]int64, bins)}
	lo, hi := float64(min(r.Min, 0)), float64(max(r.Max, 0))
	n := float64(bins)
	switch {
	case symmetric:
		h.pos = bins
		h.width = math.Max(-lo, hi) / n
	case lo == 0:
		h.pos = bins
		h.width = hi / n
	case hi == 0:
		h.neg = bins
		h.width = -lo / n
	default:
		h.neg = int(math.Round(n * -lo / (hi - lo)))
		h.neg = min(max(h.neg, 1), bins-1)
		h.pos = bins - h.neg
		h.width = math.Max(-lo/float64(h.neg), hi/float64(h.pos))
	}
	if h.width == 0 || math.IsNaN(h.width) || math.IsInf(h.width, 0) {
		// An all-zero tensor: every value lands in the bin at zero.
		h.width, h.neg, h.pos = 0, 0, bins
	} else {
		h.inv = 1 / h.width
	}
	return h
}

// Add records the finite values of vs; NaN and ±Inf are counted in
// NonFinite and otherwise ignored.
func (h *Histogram) Add(vs []float32) {
	if len(vs) == 0 {
		return
	}
	if procs := runtime.GOMAXPROCS(0); procs > 1 && len(vs) >= 2*parallelChunk {
		h.addParallel(vs, min(procs, len(vs)/parallelChunk))
		return
	}
	// One fused pass bins the values and finds their min, max and zeros;
	// a slice that turns out to hold NaN or ±Inf (rare) is unbinned and
	// taken apart by addChecked.
	if !h.bin(vs, 1) {
		h.bin(vs, -1)
		h.addChecked(vs)
	}
}

// parallelChunk is the smallest share of a slice that Add gives a
// goroutine of its own: binning is memory-bound and cheap, so only large
// activations are worth splitting.
const parallelChunk = 1 << 16

// addParallel bins vs in parts on separate goroutines into private
// histograms and adds them up; integer counts make the result identical to
// a serial Add.
func (h *Histogram) addParallel(vs []float32, parts int) {
	subs := make([]Histogram, parts)
	var wg sync.WaitGroup
	for i := range subs {
		subs[i] = Histogram{abs: h.abs, neg: h.neg, pos: h.pos, width: h.width, inv: h.inv, counts: make([]int64, len(h.counts))}
		lo, hi := i*len(vs)/parts, (i+1)*len(vs)/parts
		wg.Add(1)
		go func(sub *Histogram, vs []float32) {
			defer wg.Done()
			if !sub.bin(vs, 1) {
				sub.bin(vs, -1)
				sub.addChecked(vs)
			}
		}(&subs[i], vs[lo:hi])
	}
	wg.Wait()
	for i := range subs {
		h.Merge(&subs[i]) // same layout: cannot fail
	}
}

// bin adds d to the bin of every value of vs. With d = 1 it also records
// the values' min, max, count and zeros, unless vs holds NaN or ±Inf: then
// it returns false and records nothing but the bins.
//
// The bin of a value v is
//
//	trunc(min(max(float64(v)·inv + neg, 0), Bins−1))   (|v| when absolute)
//
// with the product rounded to float64 before the addition (never fused),
// and NaN in bin 0, so every implementation (binGo, the vector kernels)
// puts every value in the same bin.
func (h *Histogram) bin(vs []float32, d int64) bool {
	var st binStats
	if d == 1 && binVector != nil {
		h.binBlocks(vs, &st)
	} else {
		h.binGo(vs, d, &st)
	}
	if d < 0 || st.nan || st.min < -math.MaxFloat32 || st.max > math.MaxFloat32 {
		return false
	}
	h.mm.merge(st.min+0, st.max+0, int64(len(vs))) // +0: −0 becomes +0
	h.zeros += st.zeros
	return true
}

// binStats is what a binning pass learns about its values.
type binStats struct {
	min, max float32
	zeros    int64
	nan      bool
}

// binGo is the reference binning pass: it adds d to the bin of every value
// of vs and returns their stats in st.
func (h *Histogram) binGo(vs []float32, d int64, st *binStats) {
	counts := h.counts
	top := float64(len(counts) - 1)
	off, inv := float64(h.neg), h.inv
	mn, mx := vs[0], vs[0]
	nan := false
	var zeros int64
	for _, v := range vs {
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
		nan = nan || v != v
		z := int64(0)
		if v == 0 {
			z = 1
		}
		zeros += z
		x := float64(v)
		if h.abs {
			x = math.Abs(x)
		}
		f := float64(x*inv) + off // the conversion forbids a fused multiply-add
		if !(f >= 0) {            // also NaN
			f = 0
		} else if f > top {
			f = top
		}
		counts[int(f)] += d
	}
	st.min, st.max, st.zeros, st.nan = mn, mx, zeros, nan
}

// binBlock is how many values binBlocks hands binVector at a time.
const binBlock = 512

// binParams is the state binVector carries from block to block; the
// assembly reads it by offset.
type binParams struct {
	inv, off, top float64    // 0, 8, 16
	absMask       uint64     // 24: clears the sign bit of an absolute histogram
	min, max      [8]float32 // 32, 64: per lane
	nan           [8]uint32  // 96: nonzero in a lane that saw a NaN
	zeros         [8]int32   // 128: per lane
}

// newBinParams returns the kernels' starting state: every lane's min and
// max at v (a value of the slice), no NaN, no zeros.
func newBinParams(v float32) binParams {
	var p binParams
	for i := range p.min {
		p.min[i], p.max[i] = v, v
	}
	return p
}

// stats folds the lanes of p.
func (p *binParams) stats() binStats {
	st := binStats{min: p.min[0], max: p.max[0]}
	for i := range p.min {
		st.min, st.max = min(st.min, p.min[i]), max(st.max, p.max[i])
		st.zeros += int64(p.zeros[i])
		st.nan = st.nan || p.nan[i] != 0
	}
	return st
}

// add folds b into a.
func (a *binStats) add(b binStats) {
	a.min, a.max = min(a.min, b.min), max(a.max, b.max)
	a.zeros += b.zeros
	a.nan = a.nan || b.nan
}

// binBlocks is binGo(vs, 1, st) with the bin indices, min, max, NaN and
// zero counts of each block's first multiple of 8 values computed by
// binVector, the rest by binGo, and the counts added in Go.
func (h *Histogram) binBlocks(vs []float32, st *binStats) {
	p := newBinParams(vs[0])
	p.inv, p.off, p.top, p.absMask = h.inv, float64(h.neg), float64(len(h.counts)-1), ^uint64(0)
	if h.abs {
		p.absMask = 1<<63 - 1
	}
	var idx [binBlock]int32
	// Four sets of counts, each value's going to set i mod 4: runs of
	// values in one bin (the zeros after a ReLU) would otherwise wait on
	// each other's increment.
	nb := len(h.counts)
	sp := binScratch.Get().(*[]int32)
	if cap(*sp) < 4*nb {
		*sp = make([]int32, 4*nb)
	}
	sets := (*sp)[:4*nb]
	c0, c1, c2, c3 := sets[:nb], sets[nb:2*nb], sets[2*nb:3*nb], sets[3*nb:]
	tail := binStats{min: vs[0], max: vs[0]}
	for run := 0; len(vs) > 0; run += binBlock {
		if run >= maxBinRun {
			flushSets(h.counts, sets)
			run = 0
		}
		blk := vs[:min(binBlock, len(vs))]
		vs = vs[len(blk):]
		n8 := len(blk) &^ 7
		if n8 > 0 {
			binVector(&blk[0], n8, &idx[0], &p)
			for i := 0; i < n8; i += 4 {
				c0[idx[i]]++
				c1[idx[i+1]]++
				c2[idx[i+2]]++
				c3[idx[i+3]]++
			}
		}
		if n8 < len(blk) {
			var t binStats
			h.binGo(blk[n8:], 1, &t)
			tail.add(t)
		}
	}
	flushSets(h.counts, sets)
	binScratch.Put(sp)
	*st = p.stats()
	st.add(tail)
}

// maxBinRun is how many values binBlocks counts in its int32 sets before
// it adds them to the histogram, far below their overflow.
const maxBinRun = 1 << 28

// flushSets adds the four sets of counts to counts and clears them.
func flushSets(counts []int64, sets []int32) {
	nb := len(counts)
	for k := range counts {
		counts[k] += int64(sets[k]) + int64(sets[nb+k]) + int64(sets[2*nb+k]) + int64(sets[3*nb+k])
	}
	clear(sets)
}

// binScratch holds binBlocks' four sets of int32 counts.
var binScratch = sync.Pool{New: func() any { return new([]int32) }}

// chunk is what scan learns about a slice of finite values.
type chunk struct {
	min, max float32
	zeros    int64
}

// scan returns the min, max and zero count of vs, and false when vs holds
// a NaN or an infinity (then the caller takes the checked path).
func scan(vs []float32) (chunk, bool) {
	var st binStats
	if n8 := len(vs) &^ 7; scanVector != nil && n8 > 0 {
		p := newBinParams(vs[0])
		scanVector(&vs[0], n8, &p)
		st = p.stats()
		if n8 < len(vs) {
			st.add(scanGo(vs[n8:]))
		}
	} else {
		st = scanGo(vs)
	}
	if st.nan || st.min < -math.MaxFloat32 || st.max > math.MaxFloat32 {
		return chunk{}, false
	}
	return chunk{min: st.min + 0, max: st.max + 0, zeros: st.zeros}, true // +0: −0 becomes +0
}

// scanGo is the reference of scan's vector kernel: the min, max, zero count
// and NaN presence of vs (not empty).
func scanGo(vs []float32) binStats {
	mn, mx := vs[0], vs[0]
	nan := false
	var zeros int64
	for _, v := range vs {
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
		nan = nan || v != v
		z := int64(0)
		if v == 0 {
			z = 1
		}
		zeros += z
	}
	return binStats{min: mn, max: mx, zeros: zeros, nan: nan}
}

// addChecked is Add for slices holding NaN or ±Inf.
func (h *Histogram) addChecked(vs []float32) {
	for i := 0; i < len(vs); {
		j := i
		for j < len(vs) && !isNonFinite(vs[j]) {
			j++
		}
		if j > i {
			h.Add(vs[i:j])
		}
		for j < len(vs) && isNonFinite(vs[j]) {
			h.mm.nonFinite++
			j++
		}
		i = j
	}
}

// zeroBin is the bin holding exact zeros: [0, w), or the last bin when the
// histogram has no positive side.
func (h *Histogram) zeroBin() int { return min(h.neg, len(h.counts)-1) }

// Merge adds the counts of o to h. Both must have been laid over the same
// range with the same settings.
func (h *Histogram) Merge(o *Histogram) error {
	if o == nil {
		return nil
	}
	if h.abs != o.abs || h.neg != o.neg || h.pos != o.pos || math.Float64bits(h.width) != math.Float64bits(o.width) {
		return fmt.Errorf("calibrate: merging histograms with different bins (%s and %s)", h.layout(), o.layout())
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.zeros += o.zeros
	h.mm.Merge(&o.mm)
	return nil
}

func (h *Histogram) layout() string {
	kind := "signed"
	if h.abs {
		kind = "absolute"
	}
	return fmt.Sprintf("%s, %d+%d bins of %g", kind, h.neg, h.pos, h.width)
}

// Bins returns the number of bins.
func (h *Histogram) Bins() int { return len(h.counts) }

// Count returns the number of finite values seen.
func (h *Histogram) Count() int64 { return h.mm.count }

// NonFinite returns the number of NaN and infinite values skipped.
func (h *Histogram) NonFinite() int64 { return h.mm.nonFinite }

// Observed returns the range of the finite values seen.
func (h *Histogram) Observed() qmath.Range { return h.mm.Range() }

// Counts returns a copy of the bin counts.
func (h *Histogram) Counts() []int64 { return append([]int64(nil), h.counts...) }

// Edge returns the lower edge of bin k (k = Bins() gives the upper edge of
// the last bin). For an absolute histogram edges are magnitudes.
func (h *Histogram) Edge(k int) float64 { return float64(k-h.neg) * h.width }

// Width returns the bin width.
func (h *Histogram) Width() float64 { return h.width }

// Absolute reports whether h counts magnitudes.
func (h *Histogram) Absolute() bool { return h.abs }

type histJSON struct {
	Absolute  bool    `json:"absolute,omitempty"`
	Neg       int     `json:"neg"`
	Pos       int     `json:"pos"`
	Width     float64 `json:"width"`
	Min       float32 `json:"min"`
	Max       float32 `json:"max"`
	Count     int64   `json:"count"`
	NonFinite int64   `json:"nonfinite,omitempty"`
	Zeros     int64   `json:"zeros,omitempty"`
	// Counts is run-length encoded: a negative entry −r stands for r
	// empty bins.
	Counts []int64 `json:"counts"`
}

// MarshalJSON encodes the histogram canonically: equal contents give
// identical bytes.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{Absolute: h.abs, Neg: h.neg, Pos: h.pos, Width: h.width, Count: h.mm.count, NonFinite: h.mm.nonFinite, Zeros: h.zeros, Counts: []int64{}}
	if h.mm.count > 0 {
		j.Min, j.Max = h.mm.min, h.mm.max
	}
	for i := 0; i < len(h.counts); {
		if h.counts[i] != 0 {
			j.Counts = append(j.Counts, h.counts[i])
			i++
			continue
		}
		r := 0
		for ; i < len(h.counts) && h.counts[i] == 0; i++ {
			r++
		}
		j.Counts = append(j.Counts, -int64(r))
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote, checking its consistency.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("calibrate: histogram: %w", err)
	}
	n := j.Neg + j.Pos
	if j.Neg < 0 || j.Pos < 0 || n < 2 || n > 1<<20 || (j.Absolute && j.Neg != 0) || !(j.Width >= 0) || math.IsInf(j.Width, 0) {
		return fmt.Errorf("calibrate: histogram: bad layout (%d+%d bins of %v)", j.Neg, j.Pos, j.Width)
	}
	counts := make([]int64, 0, n)
	var sum int64
	for _, c := range j.Counts {
		if c >= 0 {
			counts = append(counts, c)
			sum += c
			continue
		}
		if int64(len(counts))-c > int64(n) {
			break
		}
		counts = append(counts, make([]int64, -c)...)
	}
	if len(counts) != n || sum != j.Count || j.Zeros < 0 || j.Zeros > j.Count || j.NonFinite < 0 {
		return fmt.Errorf("calibrate: histogram: counts do not add up")
	}
	if j.Count > 0 && (isNonFinite(j.Min) || isNonFinite(j.Max) || j.Min > j.Max) {
		return fmt.Errorf("calibrate: histogram: bad range [%v, %v]", j.Min, j.Max)
	}
	*h = Histogram{abs: j.Absolute, neg: j.Neg, pos: j.Pos, width: j.Width, counts: counts, zeros: j.Zeros,
		mm: MinMax{count: j.Count, nonFinite: j.NonFinite}}
	if j.Count > 0 {
		h.mm.min, h.mm.max = j.Min+0, j.Max+0
	}
	if h.width > 0 {
		h.inv = 1 / h.width
	}
	return nil
}
