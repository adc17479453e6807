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

// inferInteger infers an integer op as the float op it computes on the
// same data inputs; the output has the type of the output zero point
// (uint8 when absent), or int32 for ConvInteger and MatMulInteger.
func (s *Shapes) inferInteger(n *Node, opset int64) {
	op, data, zp := "", []int{0, 3}, 7
	switch n.OpType {
	case "QLinearConv":
		op = "Conv"
	case "QLinearMatMul":
		op = "MatMul"
	case "QLinearAdd":
		op = "Add"
	case "QLinearGlobalAveragePool":
		op, data, zp = "GlobalAveragePool", []int{0}, 4
	case "ConvInteger":
		op, data, zp = "Conv", []int{0, 1}, -1
	case "MatMulInteger":
		op, data, zp = "MatMul", []int{0, 1}, -1
	}
	v := &Node{OpType: op, Attrs: n.Attrs, Outputs: n.Outputs[:min(1, len(n.Outputs))]}
	for _, i := range data {
		v.Inputs = append(v.Inputs, n.Input(i))
	}
	s.inferNode(v, opset)
	if len(v.Outputs) == 0 {
		return
	}
	dt := tensor.Int32
	if zp >= 0 {
		dt = tensor.Uint8
		if z := n.Input(zp); z != "" {
			dt = s.dtype(z)
		}
	}
	s.set(v.Outputs[0], dt, s.shape(v.Outputs[0]))
}

func (s *Shapes) inferNode(n *Node, opset int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := ""
	if len(n.Outputs) > 0 {
		out0 = n.Outputs[0]
	}
	same := func() { s.set(out0, dt0, in(0)) }
	switch n.OpType {
	case "Identity", "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid",
		"HardSwish", "Tanh", "Softplus", "Softsign", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg",
		"Abs", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Clip", "Softmax", "LogSoftmax", "Hardmax",
		"BatchNormalization", "InstanceNormalization", "LRN", "ThresholdedRelu", "Shrink",
		"QuantizeLinear", "DequantizeLinear":
		switch n.OpType {
		case "QuantizeLinear":
			dt := tensor.Uint8
			if zp := n.Input(2); zp != "" {
				dt = s.dtype(zp)
			}
			s.set(out0, dt, in(0))
		case "DequantizeLinear":
			s.set(out0, tensor.Float32, in(0))
		default:
			same()
		}
		if n.OpType == "Identity" {
			if d, ok := s.Data[n.Input(0)]; ok {
				s.Data[out0] = d
			}
		}
	case "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearGlobalAveragePool", "ConvInteger", "MatMulInteger":
		s.inferInteger(n, opset)
	case "Dropout":
		same()
		if len(n.Outputs) > 1 {
			s.set(n.Outputs[1], tensor.Bool, in(0))
		}
	case "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean",
		"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Where":
		shape := in(0)
		for i := 1; i < len(n.Inputs); i++ {
			shape = broadcastDims(shape, in(i))
		}
		if opset < 7 && n.AttrInt("broadcast", 0) != 0 {
			shape = in(0)
		}
		dt := dt0
		switch n.OpType {
		case "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor":
			dt = tensor.Bool
		case "Where":
			dt = s.dtype(n.Input(1))
		}
		s.set(out0, dt, shape)
		s.arith(n)
	case "Not", "IsNaN", "IsInf":
		s.set(out0, tensor.Bool, in(0))
	case "Cast":
		to := tensor.DType(n.AttrInt("to", 0))
		if to == 10 || to == 11 {
			to = tensor.Float32
		}
		s.set(out0, to, in(0))
		if d, ok := s.Data[n.Input(0)]; ok && (to == tensor.Int64 || to == tensor.Int32) {
			s.Data[out0] = d
		}
	case "Constant":
		if t := n.AttrTensor("value"); t != nil {
			s.set(out0, t.DType, Dims(t.Shape))
			s.setConstData(out0, t)
		} else if a, ok := n.Attrs["value_ints"]; ok {
			s.set(out0, tensor.Int64, []Dim{knownDim(int64(len(a.Ints)))})
			s.setConstData(out0, tensor.FromInt64(tensor.Shape{len(a.Ints)}, a.Ints))
		} else if a, ok := n.Attrs["value_int"]; ok {
			s.set(out0, tensor.Int64, []Dim{})
			s.setConstData(out0, tensor.FromInt64(nil, []int64{a.I}))
		} else if a, ok := n.Attrs["value_floats"]; ok {
			s.set(out0, tensor.Float32, []Dim{knownDim(int64(len(a.Floats)))})
		} else if _, ok := n.Attrs["value_float"]; ok {
			s.set(out0, tensor.Float32, []Dim{})
		}
	case "Conv", "MaxPool", "AveragePool", "ConvTranspose":
		x := in(0)
		if x == nil || len(x) < 3 {
			s.set(out0, dt0, nil)
			return
		}
		sr := len(x) - 2
		k := n.AttrInts("kernel_shape", nil)
		ch := x[1]
		if n.OpType == "Conv" || n.OpType == "ConvTranspose" {
			w := in(1)
			if len(w) == len(x) {
				if k == nil && Static(w[2:]) {
					for _, d := range w[2:] {
						k = append(k, d.Value)
					}
				}
				ch = w[0]
				if n.OpType == "ConvTranspose" {
					ch = unknownDim
					if w[1].Param == "" && w[1].Value >= 0 {
						ch = knownDim(w[1].Value * n.AttrInt("group", 1))
					}
				}
			} else {
				ch = unknownDim
			}
		}
		out := []Dim{x[0], ch}
		pads := n.AttrInts("pads", nil)
		st, dl := n.AttrInts("strides", nil), n.AttrInts("dilations", nil)
		ceil := n.AttrInt("ceil_mode", 0) != 0
		for i := 0; i < sr; i++ {
			if len(k) != sr {
				out = append(out, unknownDim)
				continue
			}
			if n.OpType == "ConvTranspose" {
				os := n.AttrInts("output_shape", nil)
				xi := x[2+i]
				switch {
				case len(os) == sr:
					out = append(out, knownDim(os[i]))
				case xi.Param != "" || xi.Value < 0:
					out = append(out, unknownDim)
				case n.AttrString("auto_pad", "NOTSET") == "SAME_UPPER" || n.AttrString("auto_pad", "NOTSET") == "SAME_LOWER":
					out = append(out, knownDim(xi.Value*attrAt(st, i, 1)))
				default:
					full := attrAt(st, i, 1)*(xi.Value-1) + attrAt(n.AttrInts("output_padding", nil), i, 0) + (k[i]-1)*attrAt(dl, i, 1) + 1
					if n.AttrString("auto_pad", "NOTSET") != "VALID" {
						full -= attrAt(pads, i, 0) + attrAt(pads, i+sr, 0)
					}
					out = append(out, knownDim(full))
				}
				continue
			}
			out = append(out, window(x[2+i], k[i], attrAt(st, i, 1), attrAt(dl, i, 1), attrAt(pads, i, 0), attrAt(pads, i+sr, 0), n.AttrString("auto_pad", "NOTSET"), ceil))
		}
		s.set(out0, dt0, out)
		if len(n.Outputs) > 1 {
			s.set(n.Outputs[1], tensor.Int64, out)
		}
	case "GlobalAveragePool", "GlobalMaxPool":
		x := in(0)
		if x == nil {
			s.set(out0, dt0, nil)
			return
		}
		out := append([]Dim(nil), x...)
		for i := 2; i < len(out); i++ {
			out[i] = knownDim(1)
		}
		s.set(out0, dt0, out)
	case "Gemm":
		a, b := in(0), in(1)
		m, nn := unknownDim, unknownDim
		if len(a) == 2 {
			m = a[0]
			if n.AttrInt("transA", 0) != 0 {
				m = a[1]
			}
		}
		if len(b) == 2 {
			nn = b[1]
			if n.AttrInt("transB", 0) != 0 {
				nn = b[0]
			}
		}
		s.set(out0, dt0, []Dim{m, nn})
	case "MatMul":
		a, b := in(0), in(1)
		if len(a) == 0 || len(b) == 0 {
			s.set(out0, dt0, nil)
			return
		}
		var out []Dim
		switch {
		case len(a) == 1 && len(b) == 1:
			out = []Dim{}
		case len(a) == 1:
			out = append(append([]Dim{}, b[:len(b)-2]...), b[len(b)-1])
		case len(b) == 1:
			out = append([]Dim{}, a[:len(a)-1]...)
		default:
			batch := broadcastDims(a[:len(a)-2], b[:len(b)-2])
			out = append(batch, a[len(a)-2], b[len(b)-1])
		}
		s.set(out0, dt0, out)
	case "Flatten":
		x := in(0)
		if x == nil {
			s.set(out0, dt0, nil)
			return
		}
		a := n.AttrInt("axis", 1)
		if a < 0 {
			a += int64(len(x))
		}
		ax, ok := int(a), a >= 0 && a <= int64(len(x))
		if !ok {
			s.set(out0, dt0, nil)
			return
		}
		s.set(out0, dt0, []Dim{prodDims(x[:ax]), prodDims(x[ax:])})
	case "Reshape":
		s.inferReshape(n, opset)
	case "Transpose":
		x := in(0)
		if x == nil {
			s.set(out0, dt0, nil)
			return
		}
		perm := n.AttrInts("perm", nil)
		out := make([]Dim, len(x))
		for i := range out {
			if perm == nil {
				out[i] = x[len(x)-1-i]
			} else if i < len(perm) && perm[i] >= 0 && int(perm[i]) < len(x) {
				out[i] = x[perm[i]]
			} else {
				out[i] = unknownDim
			}
		}
		s.set(out0, dt0, out)
	case "Concat":
		s.inferConcat(n)
	case "Squeeze", "Unsqueeze":
		s.inferSqueeze(n, opset)
	case "Shape":
		x := in(0)
		if x == nil {
			s.set(out0, tensor.Int64, []Dim{unknownDim})
			return
		}
		r := int64(len(x))
		clamp := func(v int64) int64 {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		start, end := clamp(n.AttrInt("start", 0)), r
		if _, ok := n.Attrs["end"]; ok {
			end = clamp(n.AttrInt("end", r))
		}
		var d []DataDim
		for i := start; i < end; i++ {
			dim := x[i]
			switch {
			case dim.Param != "":
				d = append(d, DataDim{Param: dim.Param})
			case dim.Value >= 0:
				d = append(d, DataDim{Known: true, Value: dim.Value})
			default:
				d = append(d, DataDim{})
			}
		}
		s.set(out0, tensor.Int64, []Dim{knownDim(int64(len(d)))})
		s.Data[out0] = d
	case "Size":
		s.set(out0, tensor.Int64, []Dim{})
		if x := in(0); Static(x) {
			s.Data[out0] = []DataDim{{Known: true, Value: prodDims(x).Value}}
		}
	case "Gather":
		s.inferGather(n)
	case "Slice":
		s.inferSlice(n, opset)
	case "ConstantOfShape":
		dt := tensor.Float32
		if t := n.AttrTensor("value"); t != nil {
			dt = t.DType
		}
		if d, ok := s.Data[n.Input(0)]; ok {
			s.set(out0, dt, dataToDims(d))
		} else {
			s.set(out0, dt, nil)
		}
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin":
		x := in(0)
		dt := dt0
		if n.OpType == "ArgMax" || n.OpType == "ArgMin" {
			dt = tensor.Int64
		}
		var axes []int64
		known := true
		if n.OpType == "ArgMax" || n.OpType == "ArgMin" {
			axes = []int64{n.AttrInt("axis", 0)}
		} else if (n.OpType == "ReduceSum" && opset >= 13) || opset >= 18 {
			if n.Input(1) != "" {
				axes, known = s.ints(n.Input(1))
			}
		} else {
			axes = n.AttrInts("axes", nil)
		}
		if x == nil || !known {
			s.set(out0, dt, nil)
			return
		}
		red := make([]bool, len(x))
		if len(axes) == 0 {
			noop := n.AttrInt("noop_with_empty_axes", 0) != 0 && ((n.OpType == "ReduceSum" && opset >= 13) || opset >= 18)
			for i := range red {
				red[i] = !noop
			}
		}
		for _, a := range axes {
			if ax, ok := normAxis(a, len(x)); ok {
				red[ax] = true
			}
		}
		keep := n.AttrInt("keepdims", 1) != 0
		out := []Dim{}
		for i, d := range x {
			switch {
			case !red[i]:
				out = append(out, d)
			case keep:
				out = append(out, knownDim(1))
			}
		}
		s.set(out0, dt, out)
	case "Pad":
		x := in(0)
		var pads []int64
		known := true
		if opset >= 11 {
			pads, known = s.ints(n.Input(1))
			if n.Input(3) != "" {
				known = false
			}
		} else {
			pads = n.AttrInts("pads", n.AttrInts("paddings", nil))
		}
		if x == nil || !known || len(pads) != 2*len(x) {
			s.set(out0, dt0, nil)
			return
		}
		out := make([]Dim, len(x))
		for i, d := range x {
			if d.Param != "" || d.Value < 0 {
				if pads[i] == 0 && pads[i+len(x)] == 0 {
					out[i] = d
				} else {
					out[i] = unknownDim
				}
				continue
			}
			out[i] = knownDim(d.Value + pads[i] + pads[i+len(x)])
		}
		s.set(out0, dt0, out)
	case "Expand":
		if d, ok := s.Data[n.Input(1)]; ok {
			s.set(out0, dt0, broadcastDims(in(0), dataToDims(d)))
		} else {
			s.set(out0, dt0, nil)
		}
	case "Split":
		x := in(0)
		ax, ok := normAxis(n.AttrInt("axis", 0), len(x))
		for i, o := range n.Outputs {
			if x == nil || !ok {
				s.set(o, dt0, nil)
				continue
			}
			out := append([]Dim(nil), x...)
			split := n.AttrInts("split", nil)
			if opset >= 13 {
				split, _ = s.ints(n.Input(1))
			}
			switch {
			case i < len(split):
				out[ax] = knownDim(split[i])
			case split == nil && x[ax].Param == "" && x[ax].Value >= 0 && x[ax].Value%int64(len(n.Outputs)) == 0:
				out[ax] = knownDim(x[ax].Value / int64(len(n.Outputs)))
			default:
				out[ax] = unknownDim
			}
			s.set(o, dt0, out)
		}
	default:
		for _, o := range n.Outputs {
			s.set(o, tensor.Undefined, nil)
		}
	}
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

func (s *Shapes) inferReshape(n *Node, opset int64) {
	out0 := n.Outputs[0]
	x := s.shape(n.Input(0))
	dt := s.dtype(n.Input(0))
	var target []DataDim
	if opset >= 5 {
		d, ok := s.Data[n.Input(1)]
		if !ok {
			// The rank is known from the shape input's length.
			if sh := s.shape(n.Input(1)); len(sh) == 1 && sh[0].Param == "" && sh[0].Value >= 0 {
				out := make([]Dim, sh[0].Value)
				for i := range out {
					out[i] = unknownDim
				}
				s.set(out0, dt, out)
				return
			}
			s.set(out0, dt, nil)
			return
		}
		target = d
	} else {
		for _, v := range n.AttrInts("shape", nil) {
			target = append(target, DataDim{Known: true, Value: v})
		}
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	out := make([]Dim, len(target))
	infer := -1
	for i, e := range target {
		switch {
		case e.Param != "":
			out[i] = Dim{Value: -1, Param: e.Param}
		case !e.Known:
			out[i] = unknownDim
		case e.Value == -1:
			infer = i
			out[i] = unknownDim
		case e.Value == 0 && !allowZero:
			if i < len(x) {
				out[i] = x[i]
			} else {
				out[i] = unknownDim
			}
		default:
			out[i] = knownDim(e.Value)
		}
	}
	if infer >= 0 && x != nil {
		// total / product of the others, when both sides are static up to
		// the same symbols.
		num := map[string]int{}
		numV := int64(1)
		ok := true
		for _, d := range x {
			switch {
			case d.Param != "":
				num[d.Param]++
			case d.Value >= 0:
				numV *= d.Value
			default:
				ok = false
			}
		}
		denV := int64(1)
		for i, d := range out {
			if i == infer {
				continue
			}
			switch {
			case d.Param != "":
				num[d.Param]--
			case d.Value >= 0:
				denV *= d.Value
			default:
				ok = false
			}
		}
		for _, c := range num {
			if c != 0 {
				ok = false
			}
		}
		if ok && denV > 0 && numV%denV == 0 {
			out[infer] = knownDim(numV / denV)
		}
	}
	s.set(out0, dt, out)
}

func (s *Shapes) inferConcat(n *Node) {
	out0 := n.Outputs[0]
	var first []Dim
	var dt tensor.DType
	for _, in := range n.Inputs {
		if in != "" {
			first, dt = s.shape(in), s.dtype(in)
			break
		}
	}
	if first == nil {
		s.set(out0, dt, nil)
		return
	}
	ax, ok := normAxis(n.AttrInt("axis", 0), len(first))
	if !ok {
		s.set(out0, dt, nil)
		return
	}
	out := append([]Dim(nil), first...)
	total := int64(0)
	var data []DataDim
	dataOK := len(first) == 1
	for _, in := range n.Inputs {
		if in == "" {
			continue
		}
		sh := s.shape(in)
		if len(sh) != len(first) {
			s.set(out0, dt, nil)
			return
		}
		if total >= 0 && sh[ax].Param == "" && sh[ax].Value >= 0 {
			total += sh[ax].Value
		} else {
			total = -1
		}
		if d, ok := s.Data[in]; ok && dataOK {
			data = append(data, d...)
		} else {
			dataOK = false
		}
	}
	if total >= 0 {
		out[ax] = knownDim(total)
	} else {
		out[ax] = unknownDim
	}
	s.set(out0, dt, out)
	if dataOK {
		s.Data[out0] = data
	}
}

func (s *Shapes) inferSqueeze(n *Node, opset int64) {
	out0 := n.Outputs[0]
	x := s.shape(n.Input(0))
	dt := s.dtype(n.Input(0))
	axes := n.AttrInts("axes", nil)
	if opset >= 13 {
		axes = nil
		if n.Input(1) != "" {
			var ok bool
			if axes, ok = s.ints(n.Input(1)); !ok {
				s.set(out0, dt, nil)
				return
			}
		}
	}
	if x == nil {
		s.set(out0, dt, nil)
		return
	}
	if n.OpType == "Unsqueeze" {
		r := len(x) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, ok := normAxis(a, r)
			if !ok {
				s.set(out0, dt, nil)
				return
			}
			ins[ax] = true
		}
		out := make([]Dim, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				out = append(out, knownDim(1))
			} else if j < len(x) {
				out = append(out, x[j])
				j++
			}
		}
		s.set(out0, dt, out)
		if d, ok := s.Data[n.Input(0)]; ok && len(x) == 0 && r == 1 {
			s.Data[out0] = d
		}
		return
	}
	drop := make([]bool, len(x))
	if len(axes) == 0 {
		for i, d := range x {
			if d.Param == "" && d.Value == 1 {
				drop[i] = true
			} else if d.Param != "" || d.Value < 0 {
				s.set(out0, dt, nil)
				return
			}
		}
	}
	for _, a := range axes {
		if ax, ok := normAxis(a, len(x)); ok {
			drop[ax] = true
		}
	}
	out := []Dim{}
	for i, d := range x {
		if !drop[i] {
			out = append(out, d)
		}
	}
	s.set(out0, dt, out)
	if d, ok := s.Data[n.Input(0)]; ok && len(x) == 1 && len(out) == 0 {
		s.Data[out0] = d
	}
}

func (s *Shapes) inferGather(n *Node) {
	out0 := n.Outputs[0]
	x, idx := s.shape(n.Input(0)), s.shape(n.Input(1))
	dt := s.dtype(n.Input(0))
	if x == nil || idx == nil {
		s.set(out0, dt, nil)
		return
	}
	ax, ok := normAxis(n.AttrInt("axis", 0), len(x))
	if !ok {
		s.set(out0, dt, nil)
		return
	}
	out := append(append(append([]Dim{}, x[:ax]...), idx...), x[ax+1:]...)
	s.set(out0, dt, out)
	d, ok1 := s.Data[n.Input(0)]
	iv, ok2 := s.ints(n.Input(1))
	if ok1 && ok2 && len(x) == 1 && len(idx) <= 1 {
		var g []DataDim
		for _, i := range iv {
			if i < 0 {
				i += int64(len(d))
			}
			if i < 0 || i >= int64(len(d)) {
				return
			}
			g = append(g, d[i])
		}
		s.Data[out0] = g
	}
}

func (s *Shapes) inferSlice(n *Node, opset int64) {
	out0 := n.Outputs[0]
	x := s.shape(n.Input(0))
	dt := s.dtype(n.Input(0))
	var starts, ends, axes, steps []int64
	if opset < 10 {
		starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
	} else {
		var ok1, ok2, ok3, ok4 bool
		starts, ok1 = s.ints(n.Input(1))
		ends, ok2 = s.ints(n.Input(2))
		ok3, ok4 = true, true
		if n.Input(3) != "" {
			axes, ok3 = s.ints(n.Input(3))
		}
		if n.Input(4) != "" {
			steps, ok4 = s.ints(n.Input(4))
		}
		if !ok1 || !ok2 || !ok3 || !ok4 {
			if x != nil {
				out := make([]Dim, len(x))
				for i := range out {
					out[i] = unknownDim
				}
				s.set(out0, dt, out)
			} else {
				s.set(out0, dt, nil)
			}
			return
		}
	}
	if x == nil || len(starts) != len(ends) {
		s.set(out0, dt, nil)
		return
	}
	out := append([]Dim(nil), x...)
	first := make([]int64, len(x))
	step := make([]int64, len(x))
	cnt := make([]int64, len(x))
	sliced := make([]bool, len(x))
	for i := range step {
		step[i] = 1
	}
	for i := range starts {
		a := int64(i)
		if i < len(axes) {
			a = axes[i]
		}
		ax, ok := normAxis(a, len(x))
		if !ok {
			s.set(out0, dt, nil)
			return
		}
		st := int64(1)
		if i < len(steps) {
			st = steps[i]
		}
		d := x[ax]
		if d.Param != "" || d.Value < 0 || st == 0 {
			out[ax] = unknownDim
			continue
		}
		f, c := sliceRange(starts[i], ends[i], st, d.Value)
		out[ax] = knownDim(c)
		first[ax], step[ax], cnt[ax], sliced[ax] = f, st, c, true
	}
	s.set(out0, dt, out)
	if d, ok := s.Data[n.Input(0)]; ok && len(x) == 1 && sliced[0] {
		var g []DataDim
		for k := int64(0); k < cnt[0]; k++ {
			g = append(g, d[first[0]+k*step[0]])
		}
		s.Data[out0] = g
	}
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
