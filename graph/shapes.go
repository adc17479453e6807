package graph

import (
	"github.com/eightbitml/eightbit/tensor"
)

// Shapes is the result of shape inference: the element type and shape of
// every value it could determine, and the known contents of small integer
// tensors (the values of shape computations such as Shape → Gather →
// Concat), element by element.
type Shapes struct {
	// Values maps a value name to its inferred type and shape. A nil Shape
	// is an unknown rank; a Dim with Value −1 is an unknown (Param empty)
	// or symbolic (Param set) size.
	Values map[string]ValueInfo
	// Data maps the name of a 0-D or 1-D integer value to its elements,
	// each a known number (Value ≥ 0 or negative constants, Param empty),
	// a symbolic size (Param set) or unknown (Value −1, Param empty, Known
	// false). Only values derived from shapes and constants are tracked.
	Data map[string][]DataDim
}

// DataDim is one element of a tracked integer tensor.
type DataDim struct {
	Known bool
	Value int64
	// Param names the symbolic size the element equals when it is not
	// known.
	Param string
}

// Static reports whether every dimension of the shape is a known size.
func Static(dims []Dim) bool {
	if dims == nil {
		return false
	}
	for _, d := range dims {
		if d.Value < 0 || d.Param != "" {
			return false
		}
	}
	return true
}

// Dims converts a concrete shape to dimensions.
func Dims(s tensor.Shape) []Dim {
	out := make([]Dim, len(s))
	for i, d := range s {
		out[i] = Dim{Value: int64(d)}
	}
	return out
}

var unknownDim = Dim{Value: -1}

func knownDim(v int64) Dim { return Dim{Value: v} }

func sameDim(a, b Dim) bool {
	if a.Param != "" || b.Param != "" {
		return a.Param == b.Param
	}
	return a.Value >= 0 && a.Value == b.Value
}

// InferShapes propagates element types and shapes through g in topological
// order (g must be sorted, as Validate leaves it), starting from inputs
// (which replace the declared graph inputs when not nil) and the
// initializers. Operators it does not know get unknown shapes; inference
// never fails.
func InferShapes(g *Graph, opset int64, inputs []ValueInfo) *Shapes {
	s := &Shapes{Values: map[string]ValueInfo{}, Data: map[string][]DataDim{}}
	if inputs == nil {
		inputs = g.Inputs
	}
	for _, v := range inputs {
		s.Values[v.Name] = v
	}
	for name, t := range g.Initializers {
		s.Values[name] = ValueInfo{Name: name, DType: t.DType, Shape: Dims(t.Shape)}
		s.setConstData(name, t)
	}
	for _, n := range g.Nodes {
		s.inferNode(n, opset)
	}
	return s
}

func (s *Shapes) setConstData(name string, t *tensor.Tensor) {
	if (t.DType != tensor.Int64 && t.DType != tensor.Int32) || len(t.Shape) > 1 || t.Len() > 64 {
		return
	}
	vals, err := t.Int64s()
	if err != nil {
		return
	}
	d := make([]DataDim, len(vals))
	for i, v := range vals {
		d[i] = DataDim{Known: true, Value: v}
	}
	s.Data[name] = d
}

func (s *Shapes) shape(name string) []Dim {
	if name == "" {
		return nil
	}
	return s.Values[name].Shape
}

func (s *Shapes) dtype(name string) tensor.DType { return s.Values[name].DType }

func (s *Shapes) set(name string, dt tensor.DType, shape []Dim) {
	if name == "" {
		return
	}
	s.Values[name] = ValueInfo{Name: name, DType: dt, Shape: shape}
}

// ints returns the fully known contents of a tracked integer value.
func (s *Shapes) ints(name string) ([]int64, bool) {
	d, ok := s.Data[name]
	if !ok {
		return nil, false
	}
	out := make([]int64, len(d))
	for i, e := range d {
		if !e.Known {
			return nil, false
		}
		out[i] = e.Value
	}
	return out, true
}

func normAxis(a int64, rank int) (int, bool) {
	if a < 0 {
		a += int64(rank)
	}
	return int(a), a >= 0 && a < int64(rank)
}

func broadcastDims(a, b []Dim) []Dim {
	if a == nil || b == nil {
		return nil
	}
	r := max(len(a), len(b))
	out := make([]Dim, r)
	for i := 0; i < r; i++ {
		da, db := knownDim(1), knownDim(1)
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da.Param == "" && da.Value == 1:
			out[i] = db
		case db.Param == "" && db.Value == 1:
			out[i] = da
		case sameDim(da, db):
			out[i] = da
		case da.Param == "" && da.Value > 1:
			out[i] = da
		case db.Param == "" && db.Value > 1:
			out[i] = db
		default:
			out[i] = unknownDim
		}
	}
	return out
}

// window computes the spatial output size of a Conv or pooling axis.
func window(in Dim, k, st, dl, pb, pe int64, autoPad string, ceil bool) Dim {
	if in.Value < 0 || in.Param != "" || k < 1 || st < 1 || dl < 1 {
		return unknownDim
	}
	eff := (k-1)*dl + 1
	switch autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return knownDim((in.Value + st - 1) / st)
	case "VALID":
		if in.Value < eff {
			return unknownDim
		}
		return knownDim((in.Value-eff)/st + 1)
	}
	num := in.Value + pb + pe - eff
	if num < 0 {
		return unknownDim
	}
	if ceil {
		out := (num+st-1)/st + 1
		if (out-1)*st >= in.Value+pb {
			out--
		}
		return knownDim(out)
	}
	return knownDim(num/st + 1)
}

func attrAt(v []int64, i int, def int64) int64 {
	if i < len(v) {
		return v[i]
	}
	return def
}

// shapeRule infers the types and shapes of one node's outputs (and the
// integer contents it can track) from what is known of its inputs.
type shapeRule func(s *Shapes, n *Node, opset int64)

// shapeRules is shape inference's op registry, filled by the family files
// shapes_elementwise.go, shapes_nn.go and shapes_layout.go. An op type
// without a rule gets outputs of unknown type and shape.
var shapeRules = map[string]shapeRule{}

// registerShapeRule gives ops the rule; an op registered twice is a
// programming error.
func registerShapeRule(rule shapeRule, ops ...string) {
	for _, op := range ops {
		if _, dup := shapeRules[op]; dup {
			panic("graph: two shape rules for " + op)
		}
		shapeRules[op] = rule
	}
}

func (s *Shapes) inferNode(n *Node, opset int64) {
	if len(n.Outputs) == 0 {
		// Nothing to infer; the rules may assume a first output.
		return
	}
	if rule := shapeRules[n.OpType]; rule != nil {
		rule(s, n, opset)
		return
	}
	for _, o := range n.Outputs {
		s.set(o, tensor.Undefined, nil)
	}
}

// firstOutput is a node's first output name, "" when it has none.
func firstOutput(n *Node) string {
	if len(n.Outputs) > 0 {
		return n.Outputs[0]
	}
	return ""
}

func prodDims(ds []Dim) Dim {
	p := int64(1)
	for _, d := range ds {
		if d.Param != "" || d.Value < 0 {
			if len(ds) == 1 {
				return d
			}
			return unknownDim
		}
		p *= d.Value
	}
	return knownDim(p)
}

func dataToDims(d []DataDim) []Dim {
	out := make([]Dim, len(d))
	for i, e := range d {
		switch {
		case e.Known && e.Value >= 0:
			out[i] = knownDim(e.Value)
		case e.Param != "":
			out[i] = Dim{Value: -1, Param: e.Param}
		default:
			out[i] = unknownDim
		}
	}
	return out
}

// arith propagates tracked integer contents through element-wise
// arithmetic of equal-length (or scalar) operands.
func (s *Shapes) arith(n *Node) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return
	}
	a, aok := s.Data[n.Input(0)]
	b, bok := s.Data[n.Input(1)]
	if !aok || !bok {
		return
	}
	l := max(len(a), len(b))
	if (len(a) != l && len(a) != 1) || (len(b) != l && len(b) != 1) {
		return
	}
	out := make([]DataDim, l)
	for i := range out {
		x, y := a[min(i, len(a)-1)], b[min(i, len(b)-1)]
		if !x.Known || !y.Known {
			// x·1, x+0 and the like keep a symbol.
			switch {
			case n.OpType == "Mul" && y.Known && y.Value == 1, (n.OpType == "Add" || n.OpType == "Sub") && y.Known && y.Value == 0,
				n.OpType == "Div" && y.Known && y.Value == 1:
				out[i] = x
			case n.OpType == "Mul" && x.Known && x.Value == 1, n.OpType == "Add" && x.Known && x.Value == 0:
				out[i] = y
			}
			continue
		}
		v := int64(0)
		switch n.OpType {
		case "Add":
			v = x.Value + y.Value
		case "Sub":
			v = x.Value - y.Value
		case "Mul":
			v = x.Value * y.Value
		case "Div":
			if y.Value == 0 {
				return
			}
			v = x.Value / y.Value
		default:
			return
		}
		out[i] = DataDim{Known: true, Value: v}
	}
	s.Data[n.Outputs[0]] = out
}

// sliceRange resolves numpy slicing of a dimension of size dim.
func sliceRange(start, end, step, dim int64) (first, count int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
		if end <= start {
			return start, 0
		}
		return start, (end - start + step - 1) / step
	}
	start = min(max(start, 0), dim-1)
	end = min(max(end, -1), dim-1)
	if start <= end {
		return start, 0
	}
	return start, (start - end - step - 1) / -step
}
