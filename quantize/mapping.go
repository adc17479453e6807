package quantize

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Activation relates one quantized activation of a QDQ model to the float
// tensor it stands for.
type Activation struct {
	// Float is the tensor's name in the float model: the QuantizeLinear's
	// input, or for a graph output (whose producer writes f<k>) the name
	// the DequantizeLinear writes.
	Float string
	// Dequantized is the output of the tensor's DequantizeLinear: the
	// value the quantized model's readers see.
	Dequantized string
	// Op is the op type of the node producing the float value ("" for a
	// graph input).
	Op string
	// Scale and ZeroPoint are the QuantizeLinear's scalar parameters;
	// QMin and QMax the integer range of its output type.
	Scale      float32
	ZeroPoint  int32
	QMin, QMax int32
	// RangeOf is the float tensor whose calibrated range gave these
	// parameters: Float itself, or for the output of a pass-through op
	// (MaxPool, Flatten, Reshape, Transpose) that reuses its quantized
	// input's scale and zero point, that input's RangeOf.
	RangeOf string
}

// Activations lists the quantized activations of a QDQ model (as Quantize
// writes it) by following every QuantizeLinear with scalar scale and zero
// point initializers to the DequantizeLinear reading its output and back to
// the value it quantizes. Weights and biases, stored quantized, have no
// QuantizeLinear and are not listed. The order is the graph's node order.
func Activations(m *graph.Model) ([]Activation, error) {
	g := m.Graph
	producer := map[string]*graph.Node{}
	readers := map[string][]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				producer[o] = n
			}
		}
		for _, in := range n.Inputs {
			if in != "" {
				readers[in] = append(readers[in], n)
			}
		}
	}
	isOutput := map[string]bool{}
	for _, o := range g.Outputs {
		isOutput[o.Name] = true
	}
	var out []Activation
	byDQ := map[string]int{}
	for _, n := range g.Nodes {
		if n.OpType != "QuantizeLinear" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
			continue
		}
		scale := g.Initializers[n.Inputs[1]]
		if scale == nil || scale.DType != tensor.Float32 || scale.Len() != 1 {
			continue // per-axis or computed scale: not an activation of ours
		}
		a := Activation{Float: n.Inputs[0], Scale: scale.F32[0], QMin: 0, QMax: 255}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			zp := g.Initializers[n.Inputs[2]]
			if zp == nil || zp.Len() != 1 {
				continue
			}
			switch zp.DType {
			case tensor.Uint8:
				a.ZeroPoint = int32(zp.U8[0])
			case tensor.Int8:
				a.ZeroPoint, a.QMin, a.QMax = int32(zp.I8[0]), -128, 127
			default:
				return nil, fmt.Errorf("quantize: QuantizeLinear of %q: zero point of type %v", n.Inputs[0], zp.DType)
			}
		}
		for _, r := range readers[n.Outputs[0]] {
			if r.OpType == "DequantizeLinear" && len(r.Outputs) == 1 {
				a.Dequantized = r.Outputs[0]
				break
			}
		}
		if a.Dequantized == "" {
			continue
		}
		a.RangeOf = a.Float
		if p := producer[a.Float]; p != nil {
			a.Op = p.OpType
			if opRoles[p.OpType].role == rolePassThrough && len(p.Inputs) > 0 {
				if j, ok := byDQ[p.Inputs[0]]; ok && out[j].Scale == a.Scale && out[j].ZeroPoint == a.ZeroPoint && out[j].QMin == a.QMin {
					a.RangeOf = out[j].RangeOf
				}
			}
		}
		if isOutput[a.Dequantized] {
			if a.RangeOf == a.Float {
				a.RangeOf = a.Dequantized
			}
			a.Float = a.Dequantized
		}
		byDQ[a.Dequantized] = len(out)
		out = append(out, a)
	}
	return out, nil
}
