package quantize

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Bias correction (Nagel et al. 2019, the empirical variant): quantizing a
// layer's weights W to Ŵ shifts the expected value of its output channel o
// by Σ (Ŵ − W)[o,·]·E[x] over the inputs x its kernel sees. Adding
// Σ (W − Ŵ)[o,·]·E[x] to the bias removes that shift. E[x] per input
// channel and kernel tap (calibrate.TapMean) is measured on the calibration
// split, so padding and strides are accounted for exactly.

// LayerTap names one layer whose weights' rounding and bias Quantize can
// improve from calibration statistics, and what to observe for it: Input,
// of Channels channels in Groups groups, through Window. Bias correction
// takes a calibrate.TapMean (Options.BiasCorrection), AdaRound a
// calibrate.Gram (Options.AdaRound), both stored under Node.
type LayerTap struct {
	// Node is the layer's output name in the prepared model, the key of
	// Options.BiasCorrection and Options.AdaRound.
	Node string
	// Input is the float tensor the layer reads.
	Input            string
	Channels, Groups int
	Window           calibrate.Window
}

// LayerTaps lists the layers of the prepared model p (see Prepare) whose
// rounding and bias Quantize can improve: 2-D Conv and Gemm nodes with a
// float weight initializer, in graph order.
func LayerTaps(p *graph.Model) []LayerTap {
	g := p.Graph
	var taps []LayerTap
	for _, n := range g.Nodes {
		if !isDefault(n) || len(n.Outputs) != 1 || n.Input(0) == "" || g.IsInitializer(n.Input(0)) {
			continue
		}
		w := floatInit(g, n.Input(1))
		if w == nil {
			continue
		}
		tap := LayerTap{Node: n.Outputs[0], Input: n.Input(0)}
		switch n.OpType {
		case "Conv":
			if len(w.Shape) != 4 {
				continue
			}
			st := n.AttrInts("strides", []int64{1, 1})
			dl := n.AttrInts("dilations", []int64{1, 1})
			pads := n.AttrInts("pads", []int64{0, 0, 0, 0})
			if len(st) != 2 || len(dl) != 2 || len(pads) != 4 {
				continue
			}
			tap.Groups = int(n.AttrInt("group", 1))
			tap.Channels = w.Shape[1] * tap.Groups
			tap.Window = calibrate.Window{KH: w.Shape[2], KW: w.Shape[3], StrideH: int(st[0]), StrideW: int(st[1]),
				DilH: int(dl[0]), DilW: int(dl[1]), PadTop: int(pads[0]), PadLeft: int(pads[1]), PadBottom: int(pads[2]), PadRight: int(pads[3]),
				AutoPad: n.AttrString("auto_pad", "NOTSET")}
		case "Gemm":
			if len(w.Shape) != 2 || n.AttrInt("transA", 0) != 0 {
				continue
			}
			tap.Channels, tap.Groups = w.Shape[0], 1
			if n.AttrInt("transB", 0) != 0 {
				tap.Channels = w.Shape[1]
			}
			tap.Window = calibrate.Window{KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}
		default:
			continue
		}
		taps = append(taps, tap)
	}
	return taps
}

// correctBiases adds the expected output shift of each target's weight
// quantization to its bias (creating a bias where the layer has none), for
// the targets that Options.BiasCorrection has tap means of.
func (q *quantizer) correctBiases() error {
	if len(q.taps) == 0 {
		return nil
	}
	g := q.g
	reads := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			reads[in]++
		}
	}
	for _, n := range g.Nodes {
		t := q.targets[n]
		if t == nil {
			continue
		}
		tm := q.taps[q.layerOf[n]]
		if tm == nil || tm.Samples() == 0 {
			continue
		}
		if n.OpType != "Conv" && n.OpType != "Gemm" {
			continue
		}
		w := g.Initializers[n.Input(1)]
		qt, params, err := q.weight(n, n.Input(1), t.axis)
		if err != nil {
			return err
		}
		shift, err := biasShift(n, w, qt, params, t.axis, tm.Means())
		if err != nil {
			return fmt.Errorf("quantize: bias correction of %s: %w", n.Label(), err)
		}
		co := len(shift)
		nb := make([]float32, co)
		if name := n.Input(2); name != "" {
			b := floatInit(g, name)
			if b == nil || b.Len() != co {
				continue
			}
			copy(nb, b.F32)
		}
		beta := 1.0
		if n.OpType == "Gemm" {
			beta = float64(n.AttrFloat("beta", 1))
			if beta == 0 {
				continue
			}
		}
		for o := range nb {
			nb[o] = float32(float64(nb[o]) + shift[o]/beta)
		}
		// A bias read by this layer alone is replaced under its name;
		// otherwise, and where there is none, the layer gets its own.
		name := n.Input(2)
		if name == "" || reads[name] != 1 {
			name = g.UniqueName(n.Outputs[0] + "_bias")
		}
		g.Initializers[name] = tensor.FromFloat32(tensor.Shape{co}, nb)
		for len(n.Inputs) < 3 {
			n.Inputs = append(n.Inputs, "")
		}
		n.Inputs[2] = name
		t.bias = !q.weightsOnly
		q.sum.BiasCorrected++
	}
	return nil
}

// biasShift returns Σ (W − Ŵ)[o,·]·mean per output channel o of a Conv or
// Gemm with weight w quantized along axis to qt with params.
func biasShift(n *graph.Node, w, qt *tensor.Tensor, params []qmath.Params, axis int, means []float64) ([]float64, error) {
	deq := func(i, c int) float64 {
		p := params[min(c, len(params)-1)]
		var v int32
		if qt.DType == tensor.Uint8 {
			v = int32(qt.U8[i])
		} else {
			v = int32(qt.I8[i])
		}
		return float64(qmath.Dequantize(v, p))
	}
	switch n.OpType {
	case "Conv":
		co, cig := w.Shape[0], w.Shape[1]
		k := w.Shape[2] * w.Shape[3]
		group := int(n.AttrInt("group", 1))
		if len(means) != cig*group*k || co%group != 0 {
			return nil, fmt.Errorf("%d tap means for a [%d,%d,%d,%d] weight in %d groups", len(means), co, cig, w.Shape[2], w.Shape[3], group)
		}
		shift := make([]float64, co)
		coPer := co / group
		for o := 0; o < co; o++ {
			gi := o / coPer
			var s float64
			for l := 0; l < cig; l++ {
				base := (o*cig + l) * k
				mbase := (gi*cig + l) * k
				for j := 0; j < k; j++ {
					s += (float64(w.F32[base+j]) - deq(base+j, o)) * means[mbase+j]
				}
			}
			shift[o] = s
		}
		return shift, checkShift(shift)
	case "Gemm":
		rows, cols := w.Shape[0], w.Shape[1]
		transB := n.AttrInt("transB", 0) != 0
		co, kk := cols, rows
		if transB {
			co, kk = rows, cols
		}
		if len(means) != kk {
			return nil, fmt.Errorf("%d input means for %d inputs", len(means), kk)
		}
		alpha := float64(n.AttrFloat("alpha", 1))
		shift := make([]float64, co)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				i := r*cols + c
				o, in, ch := c, r, c
				if transB {
					o, in, ch = r, c, r
				}
				if axis == 0 {
					ch = r
				} else {
					ch = c
				}
				shift[o] += alpha * (float64(w.F32[i]) - deq(i, ch)) * means[in]
			}
		}
		return shift, checkShift(shift)
	}
	return nil, fmt.Errorf("op %s has no bias", n.OpType)
}

func checkShift(shift []float64) error {
	for o, s := range shift {
		if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > math.MaxFloat32 {
			return fmt.Errorf("output channel %d: shift %g", o, s)
		}
	}
	return nil
}
