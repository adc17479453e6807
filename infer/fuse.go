package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// fuse recognises the QDQ patterns that run in integer arithmetic:
//
//	DequantizeLinear(x uint8) → Conv/Gemm/MatMul [→ Relu/Clip] → QuantizeLinear(uint8)
//
// with int8 constant weights behind a DequantizeLinear and an optional int32
// bias behind a DequantizeLinear of scale sx·sw, and
//
//	DequantizeLinear(x uint8) → MaxPool/Flatten/Reshape/Transpose/Relu → QuantizeLinear
//
// with identical scale and zero point, which runs directly on uint8.
func (c *compiler) fuse() error {
	g := c.g
	prod := g.Producers()
	cons := g.Consumers()
	c.gone = map[*graph.Node]bool{}
	single := func(name string) bool { return len(cons[name]) == 1 && !g.IsOutput(name) }
	for _, q := range g.Nodes {
		if q.OpType != "QuantizeLinear" || c.gone[q] || len(q.Outputs) != 1 {
			continue
		}
		qp, qdt, ok := c.params8(q, prod)
		if !ok {
			continue
		}
		src := prod[q.Input(0)]
		if src == nil || !single(q.Input(0)) || c.gone[src] {
			continue
		}
		f, nodes, err := c.fuseCompute(q, src, qp, qdt, prod, single)
		if err != nil {
			return err
		}
		if f == nil {
			f, nodes = c.fuseUint8(q, src, qp, qdt, prod)
		}
		if f == nil {
			f, nodes = c.fuseOps(q, src, qp, qdt, prod, single)
		}
		if f == nil {
			continue
		}
		c.fused = append(c.fused, *f)
		for _, n := range nodes {
			c.gone[n] = true
		}
	}
	// Quantized operators (QOperator format) are integer steps too.
	if err := c.fuseQOperators(); err != nil {
		return err
	}
	// Dequantizations of constants that no fused node absorbed are
	// evaluated once now.
	return c.foldRemaining()
}

// foldRemaining folds quantize/dequantize nodes with constant inputs that
// are still part of the float graph, and drops those that nothing reads any
// more (the weight dequantizations of fused nodes, which read the 8-bit
// weights themselves).
func (c *compiler) foldRemaining() error {
	var keep []*graph.Node
	anchor := map[*graph.Node]bool{}
	read := map[string]bool{}
	for _, f := range c.fused {
		anchor[f.at] = true
		for _, in := range f.ins {
			read[in] = true
		}
	}
	for _, n := range c.g.Nodes {
		if !c.gone[n] {
			for _, in := range n.Inputs {
				read[in] = true
			}
		}
	}
	for _, o := range c.g.Outputs {
		read[o.Name] = true
	}
	for _, n := range c.g.Nodes {
		if c.gone[n] || anchor[n] || (n.OpType != "DequantizeLinear" && n.OpType != "QuantizeLinear") {
			keep = append(keep, n)
			continue
		}
		if len(n.Outputs) == 1 && !read[n.Outputs[0]] {
			c.gone[n] = true
			continue
		}
		allConst := true
		for _, in := range n.Inputs {
			if in != "" && c.consts[in] == nil {
				allConst = false
			}
		}
		if !allConst {
			keep = append(keep, n)
			continue
		}
		run, err := buildOp(n, c.opset)
		if err != nil {
			return fmt.Errorf("infer: %s: %w", n.Label(), err)
		}
		in := make([]*tensor.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			if name != "" {
				in[i] = c.consts[name]
			}
		}
		outs, err := run(in)
		if err != nil {
			return fmt.Errorf("infer: %s: %w", n.Label(), err)
		}
		c.consts[n.Outputs[0]] = outs[0]
	}
	c.g.Nodes = keep
	return nil
}

// params8 returns the per-tensor parameters of a QuantizeLinear or
// DequantizeLinear node whose quantized side is uint8 or int8, and that
// type.
func (c *compiler) params8(n *graph.Node, prod map[string]*graph.Node) (qmath.Params, tensor.DType, bool) {
	s := c.consts[n.Input(1)]
	if s == nil || s.DType != tensor.Float32 || s.Len() != 1 || !(s.F32[0] > 0) {
		return qmath.Params{}, 0, false
	}
	p := qmath.Params{Scale: s.F32[0]}
	if name := n.Input(2); name != "" {
		z := c.consts[name]
		if z == nil || z.Len() != 1 {
			return qmath.Params{}, 0, false
		}
		switch z.DType {
		case tensor.Uint8:
			p.ZeroPoint = int32(z.U8[0])
		case tensor.Int8:
			p.ZeroPoint = int32(z.I8[0])
		default:
			return qmath.Params{}, 0, false
		}
		return p, z.DType, true
	}
	if n.OpType == "QuantizeLinear" {
		return p, tensor.Uint8, true // no zero point: uint8 output
	}
	// A DequantizeLinear without zero point: the input type must be known.
	if dt := c.valueType(n.Input(0), prod); dt == tensor.Uint8 || dt == tensor.Int8 {
		return p, dt, true
	}
	return qmath.Params{}, 0, false
}

// qbounds returns the range of an 8-bit type.
func qbounds(dt tensor.DType) (int32, int32) {
	if dt == tensor.Int8 {
		return qmath.Int8Min, qmath.Int8Max
	}
	return qmath.Uint8Min, qmath.Uint8Max
}

// valueType returns the element type of a value when it is evident from the
// graph (constants, declared inputs, QuantizeLinear outputs).
func (c *compiler) valueType(name string, prod map[string]*graph.Node) tensor.DType {
	if t := c.consts[name]; t != nil {
		return t.DType
	}
	for _, in := range c.g.Inputs {
		if in.Name == name {
			return in.DType
		}
	}
	if p := prod[name]; p != nil && p.OpType == "QuantizeLinear" {
		if z := c.consts[p.Input(2)]; z != nil {
			return z.DType
		}
		if p.Input(2) == "" {
			return tensor.Uint8
		}
	}
	return tensor.Undefined
}

// dqInput returns the DequantizeLinear node producing name, if any.
func dqInput(name string, prod map[string]*graph.Node) *graph.Node {
	if p := prod[name]; p != nil && p.OpType == "DequantizeLinear" && isDefaultDomain(p.Domain) {
		return p
	}
	return nil
}

// fuseCompute matches DQ → Conv/Gemm/MatMul [→ Relu/Clip] → Q. It returns
// nil when the pattern does not apply.
func (c *compiler) fuseCompute(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node, single func(string) bool) (*fusedStep, []*graph.Node, error) {
	core := src
	var act *graph.Node
	req := kernels.Requant{ZeroPoint: qp.ZeroPoint, Signed: qdt == tensor.Int8}
	qlo, qhi := qbounds(qdt)
	switch src.OpType {
	case "Relu":
		act = src
		req.Min, req.Max = max(qp.ZeroPoint, qlo), qhi
	case "Clip":
		lo, hi, ok := c.clipBounds(src)
		if !ok {
			return nil, nil, nil
		}
		act = src
		quant := func(v float32) int32 { return int32(qmath.QuantizeUint8(v, qp)) }
		if qdt == tensor.Int8 {
			quant = func(v float32) int32 { return int32(qmath.QuantizeInt8(v, qp)) }
		}
		req.Min, req.Max = quant(lo), quant(hi)
		if req.Min == 0 && req.Max == 0 {
			return nil, nil, nil
		}
	}
	if act != nil {
		if !single(act.Input(0)) {
			return nil, nil, nil
		}
		core = prod[act.Input(0)]
		if core == nil || c.gone[core] {
			return nil, nil, nil
		}
	}
	if !isDefaultDomain(core.Domain) || (core.OpType != "Conv" && core.OpType != "Gemm" && core.OpType != "MatMul") {
		return nil, nil, nil
	}
	dqx := dqInput(core.Input(0), prod)
	dqw := dqInput(core.Input(1), prod)
	if dqx == nil || dqw == nil {
		return nil, nil, nil
	}
	xp, _, ok := c.params8(dqx, prod)
	if !ok {
		return nil, nil, nil
	}
	wq := c.consts[dqw.Input(0)]
	sw := c.consts[dqw.Input(1)]
	if wq == nil || (wq.DType != tensor.Int8 && wq.DType != tensor.Uint8) || sw == nil || sw.DType != tensor.Float32 {
		return nil, nil, nil
	}
	// n is the output channel count; chAxis the weight axis that indexes it.
	var n, chAxis int
	transB := false
	switch core.OpType {
	case "Conv":
		if len(wq.Shape) < 3 {
			return nil, nil, nil
		}
		n, chAxis = wq.Shape[0], 0
	case "Gemm":
		if core.AttrInt("transA", 0) != 0 || core.AttrFloat("alpha", 1) != 1 || len(wq.Shape) != 2 {
			return nil, nil, nil
		}
		if core.Input(2) != "" && core.AttrFloat("beta", 1) != 1 {
			return nil, nil, nil
		}
		transB = core.AttrInt("transB", 0) != 0
		if transB {
			n, chAxis = wq.Shape[0], 0
		} else {
			n, chAxis = wq.Shape[1], 1
		}
	case "MatMul":
		if len(wq.Shape) != 2 {
			return nil, nil, nil
		}
		n, chAxis = wq.Shape[1], 1
	}
	if sw.Len() != 1 {
		axis := int(dqw.AttrInt("axis", 1))
		if axis < 0 {
			axis += len(wq.Shape)
		}
		if sw.Len() != n || axis != chAxis {
			return nil, nil, nil
		}
	}
	var wzp []int32
	if name := dqw.Input(2); name != "" {
		z := c.consts[name]
		if z == nil || z.DType != wq.DType || z.Len() != sw.Len() {
			return nil, nil, nil
		}
		for _, v := range z.I8 {
			wzp = append(wzp, int32(v))
		}
		for _, v := range z.U8 {
			wzp = append(wzp, int32(v))
		}
	}
	swAt := func(i int) float32 {
		if sw.Len() == 1 {
			return sw.F32[0]
		}
		return sw.F32[i]
	}
	for i := 0; i < sw.Len(); i++ {
		req.Multiplier = append(req.Multiplier, qmath.RequantizeScale(xp.Scale, swAt(i), qp.Scale))
	}
	// Bias: int32 constant dequantized with scale sx·sw and zero point 0.
	var bias []int32
	if core.OpType != "MatMul" && core.Input(2) != "" {
		dqb := dqInput(core.Input(2), prod)
		if dqb == nil {
			return nil, nil, nil
		}
		bq, sb := c.consts[dqb.Input(0)], c.consts[dqb.Input(1)]
		if bq == nil || bq.DType != tensor.Int32 || bq.Len() != n || sb == nil || sb.DType != tensor.Float32 || (sb.Len() != 1 && sb.Len() != n) {
			return nil, nil, nil
		}
		if len(bq.Shape) != 1 && !(len(bq.Shape) == 2 && bq.Shape[0] == 1) {
			return nil, nil, nil
		}
		if name := dqb.Input(2); name != "" {
			z := c.consts[name]
			if z == nil {
				return nil, nil, nil
			}
			for i := 0; i < z.Len(); i++ {
				if z.Float64At(i) != 0 {
					return nil, nil, nil
				}
			}
		}
		for i := 0; i < n; i++ {
			s := sb.F32[0]
			if sb.Len() != 1 {
				s = sb.F32[i]
			}
			want := xp.Scale * swAt(min(i, sw.Len()-1))
			if math.Abs(float64(s-want)) > 1e-6*math.Abs(float64(want)) {
				return nil, nil, nil
			}
		}
		bias = bq.I32
	}
	label := core.Label() + " (integer)"
	// The plans take their output from the Run's arena (RunWith): fresh,
	// never a view of the input.
	st := step{label: label, op: core.OpType, kind: kindInteger, fresh: true}
	xName := dqx.Input(0)
	switch core.OpType {
	case "Conv":
		p := kernels.QConvParams{ConvParams: convParams(core), XZeroPoint: xp.ZeroPoint, WZeroPoint: wzp, Requant: req}
		plan, err := kernels.NewQConvPlan(wq, bias, p) // weights packed once
		if err != nil {
			return nil, nil, nil
		}
		st.runA = func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
			return one(plan.RunWith(a, in[0]))
		}
		k := int64(wq.Shape[1:].Size())
		st.macs = func(_, out []*tensor.Tensor) int64 { return int64(out[0].Len()) * k }
	default:
		p := kernels.QGemmParams{AZeroPoint: xp.ZeroPoint, BZeroPoint: wzp, Requant: req}
		gemm := core.OpType == "Gemm"
		plan, err := kernels.NewQGemmPlan(wq, transB, bias, p) // B packed once
		if err != nil {
			return nil, nil, nil
		}
		st.runA = func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
			if gemm && len(in[0].Shape) != 2 {
				return nil, fmt.Errorf("Gemm wants 2-D A, have %v", in[0].Shape)
			}
			return one(plan.RunWith(a, in[0]))
		}
		k := int64(wq.Len() / n)
		st.macs = func(_, out []*tensor.Tensor) int64 { return int64(out[0].Len()) * k }
	}
	st.run = st.runA.heap()
	nodes := []*graph.Node{q, core}
	if act != nil {
		nodes = append(nodes, act)
	}
	return &fusedStep{at: q, step: st, ins: []string{xName}, outs: []string{q.Outputs[0]}}, nodes, nil
}

// clipBounds returns the constant bounds of a Clip node.
func (c *compiler) clipBounds(n *graph.Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if c.opset < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), true
	}
	for i, dst := range []*float32{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t := c.consts[name]
		if t == nil || t.DType != tensor.Float32 || t.Len() != 1 {
			return 0, 0, false
		}
		*dst = t.F32[0]
	}
	return lo, hi, true
}

// fuseConcat is fuseUint8 for a Concat: every input dequantized with the
// output's parameters.
func (c *compiler) fuseConcat(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node) (*fusedStep, []*graph.Node) {
	if !isDefaultDomain(src.Domain) || len(src.Inputs) == 0 || len(src.Outputs) != 1 {
		return nil, nil
	}
	ins := make([]string, len(src.Inputs))
	for i, in := range src.Inputs {
		d := dqInput(in, prod)
		if d == nil {
			return nil, nil
		}
		if p, dt, ok := c.params8(d, prod); !ok || p != qp || dt != qdt {
			return nil, nil
		}
		ins[i] = d.Input(0)
	}
	axis := int(src.AttrInt("axis", 0))
	runA := allocKernel(func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
		for _, x := range in {
			if x == nil || x.DType != qdt {
				return nil, fmt.Errorf("want %v inputs", qdt)
			}
		}
		return one(kernels.ConcatWith(a, in, axis))
	})
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: runA.heap(), runA: runA, fresh: true}
	return &fusedStep{at: q, step: st, ins: ins, outs: []string{q.Outputs[0]}}, []*graph.Node{q, src}
}

// fuseUint8 matches DQ → MaxPool/Flatten/Reshape/Transpose/Relu → Q (the
// registry entries marked quantExact), and
// DQ, ..., DQ → Concat → Q, with identical parameters on all sides; these
// ops commute exactly with the (monotone, per-tensor) quantization, so they
// run on the 8-bit values.
func (c *compiler) fuseUint8(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node) (*fusedStep, []*graph.Node) {
	if src.OpType == "Concat" {
		return c.fuseConcat(q, src, qp, qdt, prod)
	}
	e := lookup(src)
	if e == nil || !e.quantExact {
		return nil, nil
	}
	d := dqInput(src.Input(0), prod)
	if d == nil {
		return nil, nil
	}
	dp, ddt, ok := c.params8(d, prod)
	if !ok || dp != qp || ddt != qdt {
		return nil, nil
	}
	var run kernelFunc
	var runA allocKernel
	switch {
	case src.OpType == "Relu":
		// Relu clamps at the zero point.
		runA = func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
			x := in[0]
			if x.DType != qdt {
				return nil, fmt.Errorf("want %v input, have %v", qdt, x.DType)
			}
			y := allocTensor(a, x.DType, x.Shape)
			if x.DType == tensor.Int8 {
				zp := int8(qp.ZeroPoint)
				for i, v := range x.I8 {
					y.I8[i] = max(v, zp)
				}
			} else {
				zp := uint8(qp.ZeroPoint)
				for i, v := range x.U8 {
					y.U8[i] = max(v, zp)
				}
			}
			return []*tensor.Tensor{y}, nil
		}
	case e.alloc != nil && len(src.Outputs) == 1:
		k, err := e.alloc(src, c.opset)
		if err != nil {
			return nil, nil
		}
		runA = func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
			if in[0].DType != qdt {
				return nil, fmt.Errorf("want %v input, have %v", qdt, in[0].DType)
			}
			return k(in, a)
		}
	default:
		var err error
		if run, err = buildOp(src, c.opset); err != nil {
			return nil, nil
		}
		inner := run
		run = func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if in[0].DType != qdt {
				return nil, fmt.Errorf("want %v input, have %v", qdt, in[0].DType)
			}
			return inner(in)
		}
	}
	ins := append([]string{d.Input(0)}, src.Inputs[1:]...)
	st := step{label: src.Label() + " (uint8)", op: src.OpType, kind: kindUint8, run: run}
	if runA != nil {
		st.run, st.runA, st.fresh = runA.heap(), runA, true
	}
	return &fusedStep{at: q, step: st, ins: ins, outs: []string{q.Outputs[0]}}, []*graph.Node{q, src}
}
