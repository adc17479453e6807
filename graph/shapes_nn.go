package graph

import "github.com/eightbitml/eightbit/tensor"

// Shape rules of the compute ops: convolutions and pooling windows, matrix
// products, reductions and the integer ops of the quantized formats.

func init() {
	registerShapeRule((*Shapes).inferInteger, "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearGlobalAveragePool", "ConvInteger", "MatMulInteger")
	registerShapeRule((*Shapes).inferWindow, "Conv", "MaxPool", "AveragePool", "ConvTranspose")
	registerShapeRule((*Shapes).inferGlobalPool, "GlobalAveragePool", "GlobalMaxPool")
	registerShapeRule((*Shapes).inferGemm, "Gemm")
	registerShapeRule((*Shapes).inferMatMul, "MatMul")
	registerShapeRule((*Shapes).inferReduce, "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin")
}

func (s *Shapes) inferWindow(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferGlobalPool(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferGemm(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferMatMul(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferReduce(n *Node, opset int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
