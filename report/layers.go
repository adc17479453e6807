package report

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
)

// LayerStats accumulates the error of one quantized tensor's int8
// activations against its float activations over many samples. It is the
// accumulator of a combine: Add one sample's tensors, Merge accumulators of
// different shards, and read the Layer with Result.
//
// # Determinism
//
// Result does not depend on how samples were split into shards or in which
// order accumulators were merged. Add sums one tensor's values in float64 in
// element order, which is fixed by the tensor; it then adds that partial sum
// exactly, without rounding, into a fixed-point integer accumulator (Exact).
// Integer addition is associative and commutative, so Merge is exact too, and
// the only rounding left is the conversion to float64 in Result. Max, counts
// and the quantization parameters merge exactly by nature.
//
// All fields are exported so that Beam's default coders can encode the
// accumulator; treat them as opaque.
type LayerStats struct {
	Tensor string
	Op     string
	// Scale and ZeroPoint are the quantization parameters seen by Add; a
	// tensor has one set, so Merge keeps any non-empty one.
	Scale     float32
	ZeroPoint int32
	HasParams bool

	Values    int64 // value pairs compared
	Clipped   int64 // float values outside the representable range
	NonFinite int64 // pairs skipped because a value was NaN or ±Inf
	MaxAbsErr float64

	SumXX Exact // Σx², x float
	SumYY Exact // Σy², y dequantized int8
	SumXY Exact // Σxy
	SumEE Exact // Σ(x−y)²
}

// NewLayerStats returns an empty accumulator for one tensor.
func NewLayerStats(tensor, op string) *LayerStats {
	return &LayerStats{Tensor: tensor, Op: op}
}

// Add accumulates one sample: float holds the float model's activations of
// the tensor, int8 the quantized model's activations dequantized to float32
// (scale·(q−zp)), element for element. qmin and qmax are the integer range of
// the quantized type (0 and 255 for uint8, −128 and 127 for int8); a float
// value counts as clipped when it lies outside
// [scale·(qmin−zp), scale·(qmax−zp)]. Pairs holding NaN or ±Inf are skipped
// and counted in NonFinite.
func (s *LayerStats) Add(float, int8 []float32, scale float32, zp int32, qmin, qmax int32) error {
	if len(float) != len(int8) {
		return fmt.Errorf("report: layer %q: %d float values, %d int8 values", s.Tensor, len(float), len(int8))
	}
	if !s.HasParams {
		s.Scale, s.ZeroPoint, s.HasParams = scale, zp, true
	} else if s.Scale != scale || s.ZeroPoint != zp {
		return fmt.Errorf("report: layer %q: quantization parameters changed from (%v, %d) to (%v, %d)",
			s.Tensor, s.Scale, s.ZeroPoint, scale, zp)
	}
	lo := float64(scale) * float64(qmin-zp)
	hi := float64(scale) * float64(qmax-zp)
	var xx, yy, xy, ee float64
	for i, xf := range float {
		x, y := float64(xf), float64(int8[i])
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			s.NonFinite++
			continue
		}
		s.Values++
		if x < lo || x > hi {
			s.Clipped++
		}
		e := x - y
		// Products of float32 values are exact in float64; the running sums
		// round, but in a fixed order.
		xx += x * x
		yy += y * y
		xy += x * y
		ee += e * e
		if a := math.Abs(e); a > s.MaxAbsErr {
			s.MaxAbsErr = a
		}
	}
	s.SumXX.Add(xx)
	s.SumYY.Add(yy)
	s.SumXY.Add(xy)
	s.SumEE.Add(ee)
	return nil
}

// Merge adds the samples of o into s. Both must describe the same tensor.
func (s *LayerStats) Merge(o *LayerStats) error {
	if s.Tensor == "" {
		s.Tensor, s.Op = o.Tensor, o.Op
	} else if o.Tensor != "" && o.Tensor != s.Tensor {
		return fmt.Errorf("report: merging layer %q into %q", o.Tensor, s.Tensor)
	}
	if s.Op == "" {
		s.Op = o.Op
	}
	if o.HasParams {
		if !s.HasParams {
			s.Scale, s.ZeroPoint, s.HasParams = o.Scale, o.ZeroPoint, true
		} else if s.Scale != o.Scale || s.ZeroPoint != o.ZeroPoint {
			return fmt.Errorf("report: layer %q: merging quantization parameters (%v, %d) and (%v, %d)",
				s.Tensor, s.Scale, s.ZeroPoint, o.Scale, o.ZeroPoint)
		}
	}
	s.Values += o.Values
	s.Clipped += o.Clipped
	s.NonFinite += o.NonFinite
	s.MaxAbsErr = max(s.MaxAbsErr, o.MaxAbsErr)
	s.SumXX.Merge(o.SumXX)
	s.SumYY.Merge(o.SumYY)
	s.SumXY.Merge(o.SumXY)
	s.SumEE.Merge(o.SumEE)
	return nil
}

// Result returns the layer's statistics: SQNR = 10·log10(Σx²/Σ(x−y)²) in dB
// (absent with Exact set when Σ(x−y)² = 0, absent when Σx² = 0), cosine
// similarity Σxy/√(Σx²·Σy²) (absent when a norm is zero), max |x−y| and the
// clipped share.
func (s *LayerStats) Result() Layer {
	l := Layer{
		Tensor:    s.Tensor,
		Op:        s.Op,
		Scale:     float64(s.Scale),
		ZeroPoint: s.ZeroPoint,
		Values:    s.Values,
		MaxAbsErr: s.MaxAbsErr,
		NonFinite: s.NonFinite,
	}
	if s.Values > 0 {
		l.Clipped = float64(s.Clipped) / float64(s.Values)
	}
	xx, yy, xy, ee := s.SumXX.Float64(), s.SumYY.Float64(), s.SumXY.Float64(), s.SumEE.Float64()
	switch {
	case s.Values == 0:
	case ee == 0:
		l.Exact = true
	case xx > 0:
		l.SQNRDB = new(10 * math.Log10(xx/ee))
	}
	if xx > 0 && yy > 0 {
		c := xy / (math.Sqrt(xx) * math.Sqrt(yy))
		l.Cosine = new(min(1, max(-1, c)))
	}
	return l
}

// RankCulprits returns the tensors of layers ordered from most to least
// likely to cause an accuracy drop: lowest SQNR first, ties broken by tensor
// name. Layers without an SQNR follow: first those with Σx² = 0 but an error,
// then exact layers, each by name. Layers that compared no values are left
// out.
func RankCulprits(layers []Layer) []string {
	rank := func(l *Layer) int {
		switch {
		case l.SQNRDB != nil:
			return 0
		case !l.Exact:
			return 1
		default:
			return 2
		}
	}
	ls := make([]*Layer, 0, len(layers))
	for i := range layers {
		if layers[i].Values > 0 {
			ls = append(ls, &layers[i])
		}
	}
	slices.SortFunc(ls, func(a, b *Layer) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		if a.SQNRDB != nil && b.SQNRDB != nil {
			if c := cmp.Compare(*a.SQNRDB, *b.SQNRDB); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Tensor, b.Tensor)
	})
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Tensor
	}
	return names
}

// Exact is an exactly rounded running sum of float64 values: a fixed-point
// integer in units of 2⁻¹⁰⁷⁴, the smallest float64, stored as the big-endian
// magnitude and a sign so that it encodes as plain data. Every finite float64
// is an integer multiple of that unit, so Add and Merge never round and the
// sum does not depend on the order of the additions.
type Exact struct {
	Mag []byte `json:"mag,omitempty"`
	Neg bool   `json:"neg,omitempty"`
}

// exactShift is the exponent of the fixed-point unit: value = int · 2^-1074.
const exactShift = 1074

func (e Exact) big() *big.Int {
	b := new(big.Int).SetBytes(e.Mag)
	if e.Neg {
		b.Neg(b)
	}
	return b
}

func (e *Exact) set(b *big.Int) {
	e.Mag = b.Bytes()
	e.Neg = b.Sign() < 0
	if len(e.Mag) == 0 {
		e.Mag = nil
	}
}

// Add adds v, which must be finite, exactly.
func (e *Exact) Add(v float64) {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	// v = frac·2^exp with 0.5 ≤ |frac| < 1; frac·2^53 is an integer.
	frac, exp := math.Frexp(v)
	m := big.NewInt(int64(frac * (1 << 53)))
	if sh := exp - 53 + exactShift; sh >= 0 {
		m.Lsh(m, uint(sh))
	} else {
		// Subnormal: v is a multiple of 2^-1074, so the bits shifted out
		// are zero.
		m.Rsh(m, uint(-sh))
	}
	e.set(m.Add(m, e.big()))
}

// Merge adds o exactly.
func (e *Exact) Merge(o Exact) {
	if len(o.Mag) == 0 {
		return
	}
	b := e.big()
	e.set(b.Add(b, o.big()))
}

// Float64 returns the sum rounded to the nearest float64 (±Inf on overflow).
func (e Exact) Float64() float64 {
	f := new(big.Float).SetInt(e.big())
	f.SetMantExp(f, -exactShift)
	v, _ := f.Float64()
	return v
}
