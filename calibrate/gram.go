package calibrate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Gram observes the second moments of the input patches a convolution's
// kernel sees: per group, the k×k matrix E[x·xᵀ] over sampled output
// positions and samples, where x is the patch of k = channels/groups ×
// KH × KW input values under the kernel at one output position (0 on
// padding). A layer's output error for a weight error Δ is then
// E[(Δ·x)²] = Δᵀ·E[x·xᵀ]·Δ, which is what AdaRound minimizes; no
// activation needs to be kept.
//
// Positions are sampled evenly, at most MaxPositions per sample, so the cost
// per sample is bounded. Sums are exact fixed-point integers (as TapMean's),
// so merging in any order gives the same result. Use NewGram.
type Gram struct {
	c, groups int
	w         Window
	maxPos    int
	k         int
	sums      []int64 // per group, the upper triangle of k×k, row by row
	samples   int64
}

// GramMaxPositions is the default number of output positions a Gram
// samples per input sample.
const GramMaxPositions = 64

// NewGram returns an empty observer for an input of c channels in groups
// groups seen through window w, sampling at most maxPos output positions
// per sample (GramMaxPositions when maxPos ≤ 0).
func NewGram(c, groups int, w Window, maxPos int) (*Gram, error) {
	if groups <= 0 || c <= 0 || c%groups != 0 {
		return nil, fmt.Errorf("calibrate: gram: %d channels in %d groups", c, groups)
	}
	if maxPos <= 0 {
		maxPos = GramMaxPositions
	}
	k := c / groups * w.KH * w.KW
	if k > 1<<12 {
		return nil, fmt.Errorf("calibrate: gram: patches of %d values are too large", k)
	}
	return &Gram{c: c, groups: groups, w: w, maxPos: maxPos, k: k, sums: make([]int64, groups*k*(k+1)/2)}, nil
}

// Samples returns the number of samples observed.
func (g *Gram) Samples() int64 { return g.samples }

// PatchLen returns k, the length of one group's patch.
func (g *Gram) PatchLen() int { return g.k }

// Add observes a batch x of shape [n, c, h, w].
func (g *Gram) Add(x []float32, n, h, w int) error {
	if len(x) != n*g.c*h*w {
		return fmt.Errorf("calibrate: gram: %d values for a [%d,%d,%d,%d] input", len(x), n, g.c, h, w)
	}
	win := g.w
	outH, padTop := plane(h, win.KH, win.StrideH, win.DilH, win.PadTop, win.PadBottom, win.AutoPad)
	outW, padLeft := plane(w, win.KW, win.StrideW, win.DilW, win.PadLeft, win.PadRight, win.AutoPad)
	if outH <= 0 || outW <= 0 {
		return fmt.Errorf("calibrate: gram: a %dx%d input gives no output through %+v", h, w, win)
	}
	positions := outH * outW
	take := min(positions, g.maxPos)
	k, cg := g.k, g.c/g.groups
	tri := k * (k + 1) / 2
	patch := make([]float64, k)
	acc := make([]float64, tri)
	part := make([]int64, len(g.sums))
	for s := 0; s < n; s++ {
		img := x[s*g.c*h*w : (s+1)*g.c*h*w]
		for gi := 0; gi < g.groups; gi++ {
			clear(acc)
			for j := 0; j < take; j++ {
				// Evenly spaced positions, the middle of each stretch.
				p := (2*j + 1) * positions / (2 * take)
				oh, ow := p/outW, p%outW
				idx := 0
				for c := gi * cg; c < (gi+1)*cg; c++ {
					pl := img[c*h*w : (c+1)*h*w]
					for i := 0; i < win.KH; i++ {
						r := oh*win.StrideH - padTop + i*win.DilH
						for jj := 0; jj < win.KW; jj++ {
							col := ow*win.StrideW - padLeft + jj*win.DilW
							v := 0.0
							if r >= 0 && r < h && col >= 0 && col < w {
								v = float64(pl[r*w+col])
							}
							patch[idx] = v
							idx++
						}
					}
				}
				t := 0
				for a := 0; a < k; a++ {
					pa := patch[a]
					if pa == 0 {
						t += k - a
						continue
					}
					for b := a; b < k; b++ {
						acc[t] += float64(pa * patch[b])
						t++
					}
				}
			}
			base := gi * tri
			for t, v := range acc {
				mean := v / float64(take)
				if !(math.Abs(mean) < tapLimit) {
					return fmt.Errorf("%w: group %d second moment %g in sample %d", ErrTapRange, gi, mean, s)
				}
				part[base+t] += int64(math.RoundToEven(mean * tapScale))
			}
		}
	}
	for t, v := range part {
		g.sums[t] += v
	}
	g.samples += int64(n)
	return nil
}

// Merge adds o's observations to g; both must observe the same layer.
func (g *Gram) Merge(o *Gram) error {
	if o.c != g.c || o.groups != g.groups || o.w != g.w || o.maxPos != g.maxPos {
		return fmt.Errorf("calibrate: gram: merging observers of different layers")
	}
	for t, v := range o.sums {
		g.sums[t] += v
	}
	g.samples += o.samples
	return nil
}

// Matrix returns group gi's k×k matrix E[x·xᵀ] in row-major order, or nil
// before the first sample.
func (g *Gram) Matrix(gi int) []float64 {
	if g.samples == 0 || gi < 0 || gi >= g.groups {
		return nil
	}
	k := g.k
	m := make([]float64, k*k)
	t := gi * k * (k + 1) / 2
	for a := 0; a < k; a++ {
		for b := a; b < k; b++ {
			v := float64(g.sums[t]) / tapScale / float64(g.samples)
			m[a*k+b], m[b*k+a] = v, v
			t++
		}
	}
	return m
}

// MarshalBinary encodes the observer: a version byte, channels, groups,
// positions and window as varints, auto_pad, the sample count and the sums.
func (g *Gram) MarshalBinary() ([]byte, error) {
	b := []byte{1}
	w := g.w
	for _, v := range []int{g.c, g.groups, g.maxPos, w.KH, w.KW, w.StrideH, w.StrideW, w.DilH, w.DilW, w.PadTop, w.PadLeft, w.PadBottom, w.PadRight} {
		b = binary.AppendVarint(b, int64(v))
	}
	b = binary.AppendUvarint(b, uint64(len(w.AutoPad)))
	b = append(b, w.AutoPad...)
	b = binary.AppendVarint(b, g.samples)
	for _, v := range g.sums {
		b = binary.AppendVarint(b, v)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (g *Gram) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != 1 {
		return errors.New("calibrate: gram: unknown encoding")
	}
	b = b[1:]
	next := func() (int64, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, errors.New("calibrate: gram: truncated")
		}
		b = b[n:]
		return v, nil
	}
	var f [13]int64
	for i := range f {
		v, err := next()
		if err != nil {
			return err
		}
		if v < 0 || v > 1<<16 {
			return errors.New("calibrate: gram: bad geometry")
		}
		f[i] = v
	}
	l, n := binary.Uvarint(b)
	if n <= 0 || l > 16 || uint64(len(b)-n) < l {
		return errors.New("calibrate: gram: bad auto_pad")
	}
	auto := string(b[n : n+int(l)])
	b = b[n+int(l):]
	samples, err := next()
	if err != nil {
		return err
	}
	w := Window{KH: int(f[3]), KW: int(f[4]), StrideH: int(f[5]), StrideW: int(f[6]), DilH: int(f[7]), DilW: int(f[8]),
		PadTop: int(f[9]), PadLeft: int(f[10]), PadBottom: int(f[11]), PadRight: int(f[12]), AutoPad: auto}
	if w.StrideH == 0 || w.StrideW == 0 || w.DilH == 0 || w.DilW == 0 {
		return errors.New("calibrate: gram: bad geometry")
	}
	if f[1] == 0 {
		return errors.New("calibrate: gram: bad geometry")
	}
	// Every sum takes at least one byte: check before allocating.
	if k := f[0] / f[1] * f[3] * f[4]; k > 1<<12 || f[1]*k*(k+1)/2 > int64(len(b)) {
		return errors.New("calibrate: gram: truncated")
	}
	ng, err := NewGram(int(f[0]), int(f[1]), w, int(f[2]))
	if err != nil {
		return err
	}
	if len(ng.sums) > len(b) {
		return errors.New("calibrate: gram: truncated")
	}
	for t := range ng.sums {
		v, err := next()
		if err != nil {
			return err
		}
		ng.sums[t] = v
	}
	if len(b) != 0 {
		return errors.New("calibrate: gram: trailing bytes")
	}
	ng.samples = samples
	*g = *ng
	return nil
}
