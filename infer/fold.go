package infer

import (
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// BatchParam is the symbol BatchFree gives to a fixed leading dimension.
const BatchParam = "batch"

// BatchFree returns a copy of the input declarations with the leading
// dimension symbolic: models run with any batch size the graph allows, so
// compile-time folding must not bake the declared batch size into the
// program (a model declaring [1,3,32,32] still runs batches of 100). A
// fixed or unknown leading dimension of the first input becomes BatchParam;
// those of the other inputs get symbols of their own (BatchParam_<name>),
// since nothing says they are equal.
func BatchFree(inputs []graph.ValueInfo) []graph.ValueInfo {
	out := make([]graph.ValueInfo, len(inputs))
	for i, v := range inputs {
		if len(v.Shape) > 0 {
			v.Shape = append([]graph.Dim(nil), v.Shape...)
			if v.Shape[0].Param == "" {
				p := BatchParam
				if i > 0 {
					p += "_" + v.Name
				}
				v.Shape[0] = graph.Dim{Value: -1, Param: p}
			}
		}
		out[i] = v
	}
	return out
}

// foldShapeData turns a shape computation (an operator whose registry
// entry has shapeData) whose result shape inference knows completely (e.g.
// Shape of a value with static dimensions, Gather of its static entries)
// into constants. It reports whether it did.
func (c *compiler) foldShapeData(n *graph.Node) bool {
	if e := lookup(n); e == nil || !e.shapeData || len(n.Outputs) != 1 {
		return false
	}
	o := n.Outputs[0]
	data, ok := c.shapes.Data[o]
	if !ok {
		return false
	}
	info := c.shapes.Values[o]
	if len(info.Shape) > 1 || (info.DType != tensor.Int64 && info.DType != tensor.Int32) {
		return false
	}
	vals := make([]int64, len(data))
	for i, d := range data {
		if !d.Known {
			return false
		}
		vals[i] = d.Value
	}
	var shape tensor.Shape
	if len(info.Shape) == 1 {
		shape = tensor.Shape{len(vals)}
	} else if len(vals) != 1 {
		return false
	}
	t := tensor.FromInt64(shape, vals)
	if info.DType == tensor.Int32 {
		t = tensor.New(tensor.Int32, shape)
		for i, v := range vals {
			t.I32[i] = int32(v)
		}
	}
	c.consts[o] = t
	return true
}

// staticReshape gives a Reshape whose target is computed at run time a
// constant target when shape inference knows it up to the batch: entries
// equal to the input's own symbolic dimension at the same position become
// 0 (copy), a single unknown entry becomes -1.
func (c *compiler) staticReshape(n *graph.Node) {
	if n.AttrInt("allowzero", 0) != 0 || c.consts[n.Input(1)] != nil {
		return
	}
	data, ok := c.shapes.Data[n.Input(1)]
	if !ok {
		return
	}
	x := c.shapes.Values[n.Input(0)].Shape
	target := make([]int64, len(data))
	unknown := -1
	for i, d := range data {
		switch {
		case d.Known:
			if d.Value == 0 || d.Value < -1 {
				return
			}
			if d.Value == -1 {
				if unknown >= 0 {
					return
				}
				unknown = i
			}
			target[i] = d.Value
		case d.Param != "" && i < len(x) && x[i].Param == d.Param:
			target[i] = 0
		default:
			if unknown >= 0 {
				return
			}
			unknown = i
			target[i] = -1
		}
	}
	name := c.g.UniqueName(n.Input(1) + "_static")
	c.consts[name] = tensor.FromInt64(tensor.Shape{len(target)}, target)
	// Keep UniqueName from handing out the same name twice.
	c.g.Initializers[name] = c.consts[name]
	n.Inputs[1] = name
}
