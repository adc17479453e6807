package quantize

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through
// Weight Equalization and Bias Correction", 2019).
//
// For two convolutions A → act → B where every output channel i of A feeds
// only the input channel i of B, and act is positively homogeneous
// (act(x/s) = act(x)/s for s > 0: none, Relu, LeakyRelu, PRelu), dividing
// A's channel i (weights and bias) by s_i and multiplying B's input channel
// i by s_i leaves the function unchanged. Choosing s_i = sqrt(r1_i / r2_i),
// with r1_i the largest |weight| of A's output channel i and r2_i that of
// B's input channel i, gives both the same range sqrt(r1_i·r2_i), so that
// one scale per tensor fits every channel about equally well. Depthwise
// convolutions take part as either side.
//
// A Clip(0, M) between them (Relu6) is not homogeneous: Clip(x, 0, M)/s_i =
// Clip(x/s_i, 0, M/s_i), a bound per channel, which ONNX's Clip cannot
// express. Equalize rewrites such a Clip as Relu followed by Min with the
// per-channel bounds M/s_i, which computes exactly the same values.
//
// Chains of more than two convolutions (A → B → C) are equalized pair by
// pair, sweeping until the scales settle (at most equalizeSweeps sweeps).

// equalizeSweeps bounds the sweeps over all pairs.
const equalizeSweeps = 20

// Equalization describes what Equalize did.
type Equalization struct {
	// Pairs lists the equalized pairs as "A → B" by node label, in graph
	// order.
	Pairs []string
	// Clips counts the Clip nodes rewritten as Relu and a per-channel Min.
	Clips int
	// Sweeps is the number of sweeps over the pairs.
	Sweeps int
}

// eqPair is one equalizable pair A → act → B.
type eqPair struct {
	a, b *graph.Node
	act  *graph.Node // nil when A feeds B directly
	// clipMax is the upper bound of a Clip act (0 when act is not a Clip).
	clipMax float32
	// scale accumulates the product of the scales applied to A's output
	// channels over all sweeps (for the Clip bounds).
	scale []float64
}

// Equalize returns a copy of the prepared model m (see Prepare) with cross-
// layer equalization applied to every eligible pair of convolutions. The
// float function is unchanged up to float32 rounding; calibrate the
// returned model, not m. Equalize is deterministic.
func Equalize(m *graph.Model) (*graph.Model, *Equalization, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, fmt.Errorf("quantize: equalize: model has no graph")
	}
	c := m.Clone()
	g := c.Graph
	// Clone shares initializer tensors; the ones Equalize changes are
	// copied before they are written.
	owned := map[string]bool{}
	own := func(name string) *tensor.Tensor {
		t := g.Initializers[name]
		if !owned[name] {
			t = t.Clone()
			g.Initializers[name] = t
			owned[name] = true
		}
		return t
	}
	pairs := findEqualizePairs(g)
	sum := &Equalization{}
	for _, p := range pairs {
		sum.Pairs = append(sum.Pairs, p.a.Label()+" → "+p.b.Label())
	}
	for sweep := 0; sweep < equalizeSweeps && len(pairs) > 0; sweep++ {
		sum.Sweeps = sweep + 1
		worst := 0.0
		for _, p := range pairs {
			w1 := own(p.a.Input(1))
			w2 := own(p.b.Input(1))
			var b1 *tensor.Tensor
			if p.a.Input(2) != "" {
				b1 = own(p.a.Input(2))
			}
			r1 := outChannelRanges(w1)
			r2 := inChannelRanges(w2, int(p.b.AttrInt("group", 1)))
			for i := range r1 {
				if r1[i] == 0 || r2[i] == 0 {
					continue
				}
				s := math.Sqrt(r1[i] / r2[i])
				if !(s > 0) || math.IsInf(s, 0) {
					continue
				}
				worst = math.Max(worst, math.Abs(math.Log(s)))
				scaleOutChannel(w1, i, 1/s)
				if b1 != nil {
					b1.F32[i] = float32(float64(b1.F32[i]) / s)
				}
				scaleInChannel(w2, int(p.b.AttrInt("group", 1)), i, s)
				p.scale[i] *= s
			}
		}
		if worst < 1e-6 {
			break
		}
	}
	for _, p := range pairs {
		if p.act != nil && p.act.OpType == "Clip" {
			splitClip(g, p)
			sum.Clips++
		}
	}
	if err := g.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quantize: equalize: %w", err)
	}
	return c, sum, nil
}

// findEqualizePairs returns the eligible pairs in graph order.
func findEqualizePairs(g *graph.Graph) []*eqPair {
	cons := g.Consumers()
	// Weights and biases read by more than one node cannot be rescaled for
	// one of them.
	reads := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			reads[in]++
		}
	}
	var pairs []*eqPair
	used := map[*graph.Node]bool{} // a B may be the A of the next pair, but not the B of two
	for _, a := range g.Nodes {
		co, ok := eqConv(g, a, reads)
		if !ok {
			continue
		}
		next := soleReader(g, cons, a.Outputs[0])
		if next == nil {
			continue
		}
		p := &eqPair{a: a}
		if next.OpType != "Conv" {
			max, ok := homogeneous(g, next)
			if !ok {
				continue
			}
			p.act, p.clipMax = next, max
			next = soleReader(g, cons, next.Outputs[0])
			if next == nil {
				continue
			}
		}
		ci, ok := eqConv(g, next, reads)
		if !ok || used[next] || next.Input(0) != outputOf(p) {
			continue
		}
		w2 := g.Initializers[next.Input(1)]
		group := int(next.AttrInt("group", 1))
		if w2.Shape[1]*group != co || ci == 0 {
			continue
		}
		p.b = next
		p.scale = make([]float64, co)
		for i := range p.scale {
			p.scale[i] = 1
		}
		used[next] = true
		pairs = append(pairs, p)
	}
	return pairs
}

func outputOf(p *eqPair) string {
	if p.act != nil {
		return p.act.Outputs[0]
	}
	return p.a.Outputs[0]
}

// eqConv reports whether n is a default-domain 2-D Conv with a float32
// weight initializer (and bias initializer, if any) that only n reads, and
// returns its output channel count.
func eqConv(g *graph.Graph, n *graph.Node, reads map[string]int) (int, bool) {
	if n.OpType != "Conv" || !isDefault(n) || len(n.Outputs) != 1 || len(n.Inputs) < 2 {
		return 0, false
	}
	w := floatInit(g, n.Input(1))
	if w == nil || len(w.Shape) != 4 || reads[n.Input(1)] != 1 {
		return 0, false
	}
	if b := n.Input(2); b != "" {
		bt := floatInit(g, b)
		if bt == nil || bt.Len() != w.Shape[0] || reads[b] != 1 {
			return 0, false
		}
	}
	return w.Shape[0], true
}

// homogeneous reports whether act commutes with a positive per-channel
// scale (Relu, LeakyRelu, PRelu), or is a Clip(0, M) with finite M, returned as max.
func homogeneous(g *graph.Graph, act *graph.Node) (max float32, ok bool) {
	if !isDefault(act) || len(act.Outputs) != 1 {
		return 0, false
	}
	switch act.OpType {
	case "Relu", "LeakyRelu":
		return 0, true
	case "PRelu":
		// The slope multiplies negative values of each channel whatever
		// their scale.
		return 0, floatInit(g, act.Input(1)) != nil
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if a := act.Attrs["min"]; a != nil {
			lo = a.F
		}
		if a := act.Attrs["max"]; a != nil {
			hi = a.F
		}
		for i, dst := range []*float32{&lo, &hi} {
			name := act.Input(i + 1)
			if name == "" {
				continue
			}
			t := floatInit(g, name)
			if t == nil || t.Len() != 1 {
				return 0, false
			}
			*dst = t.F32[0]
		}
		if lo != 0 || math.IsInf(float64(hi), 0) || !(hi > 0) {
			return 0, false
		}
		return hi, true
	}
	return 0, false
}

// outChannelRanges returns max |w| per output channel of a [Co, Ci/g, kh,
// kw] weight.
func outChannelRanges(w *tensor.Tensor) []float64 {
	co := w.Shape[0]
	per := w.Len() / co
	r := make([]float64, co)
	for i := 0; i < co; i++ {
		for _, v := range w.F32[i*per : (i+1)*per] {
			r[i] = math.Max(r[i], math.Abs(float64(v)))
		}
	}
	return r
}

// inChannelRanges returns max |w| per input channel of a grouped [Co,
// Ci/g, kh, kw] weight: input channel c = gi·(Ci/g) + l is read by the
// output channels of group gi at local index l.
func inChannelRanges(w *tensor.Tensor, group int) []float64 {
	co, cig := w.Shape[0], w.Shape[1]
	k := w.Shape[2] * w.Shape[3]
	r := make([]float64, cig*group)
	coPer := co / group
	for o := 0; o < co; o++ {
		gi := o / coPer
		for l := 0; l < cig; l++ {
			c := gi*cig + l
			base := (o*cig + l) * k
			for _, v := range w.F32[base : base+k] {
				r[c] = math.Max(r[c], math.Abs(float64(v)))
			}
		}
	}
	return r
}

func scaleOutChannel(w *tensor.Tensor, i int, s float64) {
	per := w.Len() / w.Shape[0]
	for j := i * per; j < (i+1)*per; j++ {
		w.F32[j] = float32(float64(w.F32[j]) * s)
	}
}

func scaleInChannel(w *tensor.Tensor, group, c int, s float64) {
	co, cig := w.Shape[0], w.Shape[1]
	k := w.Shape[2] * w.Shape[3]
	coPer := co / group
	gi, l := c/cig, c%cig
	for o := gi * coPer; o < (gi+1)*coPer; o++ {
		base := (o*cig + l) * k
		for j := base; j < base+k; j++ {
			w.F32[j] = float32(float64(w.F32[j]) * s)
		}
	}
}

// splitClip rewrites the pair's Clip(0, M) as Relu and Min(·, M/s_i) per
// channel: the Relu writes a new tensor, the Min the Clip's output.
func splitClip(g *graph.Graph, p *eqPair) {
	clip := p.act
	out := clip.Outputs[0]
	reluOut := g.UniqueName(out + "_relu")
	bound := g.UniqueName(out + "_max")
	co := len(p.scale)
	b := make([]float32, co)
	for i, s := range p.scale {
		b[i] = float32(float64(p.clipMax) / s)
	}
	g.Initializers[bound] = tensor.FromFloat32(tensor.Shape{co, 1, 1}, b)
	relu := &graph.Node{Name: clip.Name, OpType: "Relu", Inputs: []string{clip.Input(0)}, Outputs: []string{reluOut}}
	name := ""
	if clip.Name != "" {
		name = clip.Name + "_max"
	}
	minN := &graph.Node{Name: name, OpType: "Min", Inputs: []string{reluOut, bound}, Outputs: []string{out}}
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		if n == clip {
			nodes = append(nodes, relu, minN)
			continue
		}
		nodes = append(nodes, n)
	}
	g.Nodes = nodes
}
