package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
)

// Layer is one quantized tensor's statistics over some samples: Stats
// compares the float activations with the quantized model's dequantized
// ones, Local with their own quantization (FakeQuant), the error the
// tensor adds by itself. RangeOf is the tensor whose range gave the
// quantization parameters (quantize.Activation.RangeOf); Err is the first
// error adding to the statistics.
type Layer struct {
	Stats, Local *report.LayerStats
	RangeOf      string
	Err          error
	fq           []float32 // scratch for the fake-quantized values
}

// NewLayer returns empty statistics for activation a.
func NewLayer(a quantize.Activation) *Layer {
	return &Layer{Stats: report.NewLayerStats(a.Float, a.Op), Local: report.NewLayerStats(a.Float, a.Op), RangeOf: a.RangeOf}
}

// Add adds one batch of n samples of the tensor: x the float activations,
// y the dequantized ones, sample by sample so that the sums do not depend
// on how samples were batched.
func (l *Layer) Add(a quantize.Activation, x, y []float32, n int) {
	if l.Err != nil {
		return
	}
	if len(x) != len(y) {
		l.Err = fmt.Errorf("layer %s: %d float values, %d int8 values", a.Float, len(x), len(y))
		return
	}
	per := len(x)
	if n > 0 && len(x)%n == 0 {
		per = len(x) / n
	}
	if cap(l.fq) < per {
		l.fq = make([]float32, per)
	}
	fq := l.fq[:per]
	for s := 0; s+per <= len(x) && per > 0; s += per {
		xs := x[s : s+per]
		if err := l.Stats.Add(xs, y[s:s+per], a.Scale, a.ZeroPoint, a.QMin, a.QMax); err != nil {
			l.Err = err
			return
		}
		for j, v := range xs {
			fq[j] = FakeQuant(v, a)
		}
		if err := l.Local.Add(xs, fq, a.Scale, a.ZeroPoint, a.QMin, a.QMax); err != nil {
			l.Err = err
			return
		}
	}
}

// FakeQuant is DequantizeLinear(QuantizeLinear(x)) with the activation's
// parameters: round half to even, saturate, scale back (float32 as ONNX).
func FakeQuant(x float32, a quantize.Activation) float32 {
	if a.Scale == 0 || math.IsNaN(float64(x)) {
		return x
	}
	q := math.RoundToEven(float64(x/a.Scale)) + float64(a.ZeroPoint)
	q = min(max(q, float64(a.QMin)), float64(a.QMax))
	return float32(int32(q)-a.ZeroPoint) * a.Scale
}

// Merged is one tensor's statistics merged over the whole split: Index is
// its position in the quantized graph (quantize.Activations order).
type Merged struct {
	Index        int
	RangeOf      string
	Stats, Local *report.LayerStats
}

// Results turns merged per-tensor statistics into report layers in graph
// order, with each layer's local SQNR (the error of its own quantization),
// and maps each tensor to the tensor its range belongs to. A nil Local
// leaves the local figures out.
func Results(parts []Merged) ([]report.Layer, map[string]string) {
	slices.SortFunc(parts, func(a, b Merged) int { return cmp.Compare(a.Index, b.Index) })
	var out []report.Layer
	rangeOf := map[string]string{}
	for _, p := range parts {
		l := p.Stats.Result()
		if p.Local != nil {
			lr := p.Local.Result()
			l.LocalSQNRDB, l.LocalExact = lr.SQNRDB, lr.Exact
		}
		rangeOf[l.Tensor] = cmp.Or(p.RangeOf, l.Tensor)
		out = append(out, l)
	}
	return out, rangeOf
}

// Culprits ranks the calibrated ranges by local SQNR (report.RankCulprits
// over the local figures): the error a tensor's own range adds, not the
// error it inherits from the layers above, which grows downstream of a bad
// layer and would blame its readers. A pass-through tensor (MaxPool,
// Flatten, ...) reuses its input's range, so its local error counts
// against the tensor that range belongs to (the lowest local SQNR of the
// group stands for it).
func Culprits(layers []report.Layer, rangeOf map[string]string) []string {
	groups := map[string]*report.Layer{}
	var order []string
	for _, l := range layers {
		root := cmp.Or(rangeOf[l.Tensor], l.Tensor)
		g := groups[root]
		if g == nil {
			g = &report.Layer{Tensor: root, Exact: true}
			groups[root] = g
			order = append(order, root)
		}
		g.Values += l.Values
		switch {
		case l.LocalSQNRDB != nil:
			if g.SQNRDB == nil || *l.LocalSQNRDB < *g.SQNRDB {
				g.SQNRDB = l.LocalSQNRDB
			}
			g.Exact = false
		case !l.LocalExact:
			g.Exact = false
		}
	}
	local := make([]report.Layer, 0, len(order))
	for _, r := range order {
		local = append(local, *groups[r])
	}
	return report.RankCulprits(local)
}
