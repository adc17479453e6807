package graph

import "github.com/eightbitml/eightbit/tensor"

// Shape rules of the ops that move data or compute shapes: constants,
// reshapes, concatenation, slicing, padding. Several of them track small
// integer contents (Shapes.Data) so that shape subgraphs resolve.

func init() {
	registerShapeRule((*Shapes).inferConstant, "Constant")
	registerShapeRule((*Shapes).inferFlatten, "Flatten")
	registerShapeRule((*Shapes).inferReshape, "Reshape")
	registerShapeRule((*Shapes).inferTranspose, "Transpose")
	registerShapeRule((*Shapes).inferConcat, "Concat")
	registerShapeRule((*Shapes).inferSqueeze, "Squeeze", "Unsqueeze")
	registerShapeRule((*Shapes).inferShape, "Shape")
	registerShapeRule((*Shapes).inferSize, "Size")
	registerShapeRule((*Shapes).inferGather, "Gather")
	registerShapeRule((*Shapes).inferSlice, "Slice")
	registerShapeRule((*Shapes).inferConstantOfShape, "ConstantOfShape")
	registerShapeRule((*Shapes).inferPad, "Pad")
	registerShapeRule((*Shapes).inferExpand, "Expand")
	registerShapeRule((*Shapes).inferSplit, "Split")
	registerShapeRule((*Shapes).inferUnary, "Trilu")
}

func (s *Shapes) inferConstant(n *Node, _ int64) {
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferFlatten(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferTranspose(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferShape(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferSize(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	out0 := firstOutput(n)
	s.set(out0, tensor.Int64, []Dim{})
	if x := in(0); Static(x) {
		s.Data[out0] = []DataDim{{Known: true, Value: prodDims(x).Value}}
	}
}

func (s *Shapes) inferConstantOfShape(n *Node, _ int64) {
	out0 := firstOutput(n)
	dt := tensor.Float32
	if t := n.AttrTensor("value"); t != nil {
		dt = t.DType
	}
	if d, ok := s.Data[n.Input(0)]; ok {
		s.set(out0, dt, dataToDims(d))
	} else {
		s.set(out0, dt, nil)
	}
}

func (s *Shapes) inferPad(n *Node, opset int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferExpand(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
	if d, ok := s.Data[n.Input(1)]; ok {
		s.set(out0, dt0, broadcastDims(in(0), dataToDims(d)))
	} else {
		s.set(out0, dt0, nil)
	}
}

func (s *Shapes) inferSplit(n *Node, opset int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
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

func (s *Shapes) inferConcat(n *Node, _ int64) {
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

func (s *Shapes) inferGather(n *Node, _ int64) {
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
