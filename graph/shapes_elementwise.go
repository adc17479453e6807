package graph

import "github.com/eightbitml/eightbit/tensor"

// Shape rules of element-wise ops: the output has the shape of the input
// (unary ops) or the broadcast shape of the inputs.

func init() {
	registerShapeRule((*Shapes).inferIdentity, "Identity")
	registerShapeRule((*Shapes).inferQuantizeLinear, "QuantizeLinear")
	registerShapeRule((*Shapes).inferDequantizeLinear, "DequantizeLinear")
	registerShapeRule((*Shapes).inferUnary, "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus", "Softsign", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Clip", "Softmax", "LogSoftmax", "Hardmax", "BatchNormalization", "InstanceNormalization", "LRN", "ThresholdedRelu", "Shrink")
	registerShapeRule((*Shapes).inferDropout, "Dropout")
	registerShapeRule((*Shapes).inferBroadcast, "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Where")
	registerShapeRule((*Shapes).inferBoolUnary, "Not", "IsNaN", "IsInf")
	registerShapeRule((*Shapes).inferCast, "Cast")
}

// inferUnary: the output has the input's type and shape.
func (s *Shapes) inferUnary(n *Node, _ int64) {
	s.set(firstOutput(n), s.dtype(n.Input(0)), s.shape(n.Input(0)))
}

// inferIdentity also passes tracked integer contents on.
func (s *Shapes) inferIdentity(n *Node, opset int64) {
	s.inferUnary(n, opset)
	if d, ok := s.Data[n.Input(0)]; ok {
		s.Data[firstOutput(n)] = d
	}
}

// inferQuantizeLinear: the output has the zero point's type (uint8 when
// absent).
func (s *Shapes) inferQuantizeLinear(n *Node, _ int64) {
	dt := tensor.Uint8
	if zp := n.Input(2); zp != "" {
		dt = s.dtype(zp)
	}
	s.set(firstOutput(n), dt, s.shape(n.Input(0)))
}

func (s *Shapes) inferDequantizeLinear(n *Node, _ int64) {
	s.set(firstOutput(n), tensor.Float32, s.shape(n.Input(0)))
}

// inferDropout: the optional mask output is boolean.
func (s *Shapes) inferDropout(n *Node, opset int64) {
	s.inferUnary(n, opset)
	if len(n.Outputs) > 1 {
		s.set(n.Outputs[1], tensor.Bool, s.shape(n.Input(0)))
	}
}

// inferBroadcast: numpy broadcasting of every input (comparisons and
// logic give booleans, Where the type of its second input).
func (s *Shapes) inferBroadcast(n *Node, opset int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	dt0 := s.dtype(n.Input(0))
	out0 := firstOutput(n)
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
}

func (s *Shapes) inferBoolUnary(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	out0 := firstOutput(n)
	s.set(out0, tensor.Bool, in(0))
}

func (s *Shapes) inferCast(n *Node, _ int64) {
	in := func(i int) []Dim { return s.shape(n.Input(i)) }
	out0 := firstOutput(n)
	to := tensor.DType(n.AttrInt("to", 0))
	if to == 10 || to == 11 {
		to = tensor.Float32
	}
	s.set(out0, to, in(0))
	if d, ok := s.Data[n.Input(0)]; ok && (to == tensor.Int64 || to == tensor.Int32) {
		s.Data[out0] = d
	}
}
