package quantize

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// toQOperator rewrites a QDQ model (as Quantize emits it) into the
// QOperator format: every group
//
//	DequantizeLinear(x) → Conv(DequantizeLinear(w), DequantizeLinear(b)) → QuantizeLinear
//
// becomes one QLinearConv; MatMul becomes QLinearMatMul; Gemm (transA 0,
// alpha 1, beta 1) becomes a 1×1 QLinearConv between two Reshapes, which
// keeps its int32 bias and per-channel weight scales in default-domain
// ops; MaxPool, Flatten, Reshape and Transpose between equal parameters
// run on the 8-bit values. What is left of the QuantizeLinear and
// DequantizeLinear nodes sits where float and quantized parts meet.
// The QLinear ops read the activation's scale and zero-point
// initializers; weights without a zero point get an all-zero one.
//
// With contrib, the groups DequantizeLinear(a), DequantizeLinear(b) → Add
// [→ Relu] → QuantizeLinear become com.microsoft QLinearAdd (a Relu only when
// the output zero point is the type's minimum, so that saturation clips at
// 0 exactly), and DequantizeLinear → GlobalAveragePool [→ Flatten] →
// QuantizeLinear becomes com.microsoft QLinearGlobalAveragePool [→ Flatten
// of the 8-bit values].
func toQOperator(m *graph.Model, names namer, contrib bool) error {
	_ = names
	g := m.Graph
	prod := g.Producers()
	cons := g.Consumers()
	zeros := map[string]string{} // type and shape -> all-zero zero point
	var reshapeIn, reshapeOut string
	zeroPoint := func(scale string, dt tensor.DType) string {
		s := g.Initializers[scale]
		key := fmt.Sprint(dt, s.Shape)
		if z, ok := zeros[key]; ok {
			return z
		}
		z := g.UniqueName(scale + "z0")
		g.Initializers[z] = tensor.New(dt, s.Shape.Clone())
		zeros[key] = z
		return z
	}
	single := func(name string) bool { return len(cons[name]) == 1 && !g.IsOutput(name) }
	var out []*graph.Node
	replaced := map[*graph.Node][]*graph.Node{} // anchor Q node -> its replacement
	gone := map[*graph.Node]bool{}
	for _, qn := range g.Nodes {
		if qn.OpType != "QuantizeLinear" || !isDefault(qn) {
			continue
		}
		core := prod[qn.Input(0)]
		if core == nil || !isDefault(core) || !single(qn.Input(0)) || len(core.Outputs) != 1 {
			continue
		}
		if contrib {
			if repl, drop := contribGroup(g, qn, core, prod, single); repl != nil {
				replaced[qn] = repl
				for _, n := range drop {
					gone[n] = true
				}
				if m.Opsets[msDomain] == 0 {
					m.Opsets[msDomain] = 1
				}
				continue
			}
		}
		r := opRoles[core.OpType]
		if r.role == roleConcat {
			if n := concatOn8Bits(g, qn, core, prod); n != nil {
				replaced[qn] = []*graph.Node{n}
				gone[core] = true
			}
			continue
		}
		dx := prod[core.Input(0)]
		if dx == nil || dx.OpType != "DequantizeLinear" || !isDefault(dx) {
			continue
		}
		if _, _, _, ok := scalarParams(g, dx); !ok {
			continue
		}
		qs, qz := qn.Input(1), qn.Input(2)
		switch r.role {
		case rolePassThrough:
			s1, z1, t1, ok1 := scalarParams(g, dx)
			s2, z2, t2, ok2 := scalarParams(g, qn)
			if !ok1 || !ok2 || s1 != s2 || z1 != z2 || t1 != t2 {
				continue
			}
			n := core.Clone()
			n.Inputs[0] = dx.Input(0)
			n.Outputs[0] = qn.Outputs[0]
			replaced[qn] = []*graph.Node{n}
			gone[core] = true
			continue
		case roleWeighted:
		default:
			continue
		}
		dw := prod[core.Input(1)]
		if dw == nil || dw.OpType != "DequantizeLinear" || !isDefault(dw) {
			continue
		}
		w := g.Initializers[dw.Input(0)]
		if w == nil || (w.DType != tensor.Int8 && w.DType != tensor.Uint8) {
			continue
		}
		wz := dw.Input(2)
		if wz == "" {
			wz = zeroPoint(dw.Input(1), w.DType)
		}
		var bias string
		if core.OpType != "MatMul" && core.Input(2) != "" {
			db := prod[core.Input(2)]
			if db == nil || db.OpType != "DequantizeLinear" || g.Initializers[db.Input(0)] == nil || g.Initializers[db.Input(0)].DType != tensor.Int32 {
				continue
			}
			bias = db.Input(0)
		}
		xq, xs, xz := dx.Input(0), dx.Input(1), dx.Input(2)
		switch core.OpType {
		case "Conv":
			n := &graph.Node{Name: core.Name, OpType: "QLinearConv", Attrs: core.Attrs,
				Inputs:  []string{xq, xs, xz, dw.Input(0), dw.Input(1), wz, qs, qz},
				Outputs: []string{qn.Outputs[0]}}
			if bias != "" {
				n.Inputs = append(n.Inputs, bias)
			}
			replaced[qn] = []*graph.Node{n}
		case "MatMul":
			if len(w.Shape) != 2 {
				continue
			}
			n := &graph.Node{Name: core.Name, OpType: "QLinearMatMul",
				Inputs:  []string{xq, xs, xz, dw.Input(0), dw.Input(1), wz, qs, qz},
				Outputs: []string{qn.Outputs[0]}}
			replaced[qn] = []*graph.Node{n}
		case "Gemm":
			if core.AttrInt("transA", 0) != 0 || core.AttrFloat("alpha", 1) != 1 || core.AttrFloat("beta", 1) != 1 || len(w.Shape) != 2 {
				continue
			}
			// The weight as a [M, K, 1, 1] convolution kernel.
			var wc *tensor.Tensor
			if core.AttrInt("transB", 0) != 0 {
				wc = w.Clone()
			} else {
				wc = transpose2(w)
				if s := g.Initializers[dw.Input(1)]; s.Len() > 1 && dw.AttrInt("axis", 1) != 1 {
					continue
				}
			}
			wc.Shape = tensor.Shape{wc.Shape[0], wc.Shape[1], 1, 1}
			wName := g.UniqueName(dw.Input(0) + "c")
			g.Initializers[wName] = wc
			if reshapeIn == "" {
				reshapeIn = g.UniqueName("nk11")
				g.Initializers[reshapeIn] = tensor.FromInt64(tensor.Shape{4}, []int64{0, -1, 1, 1})
				reshapeOut = g.UniqueName("nk")
				g.Initializers[reshapeOut] = tensor.FromInt64(tensor.Shape{2}, []int64{0, -1})
			}
			x4 := g.UniqueName(qn.Outputs[0] + "x")
			y4 := g.UniqueName(qn.Outputs[0] + "y")
			n := &graph.Node{Name: core.Name, OpType: "QLinearConv",
				Inputs:  []string{x4, xs, xz, wName, dw.Input(1), wz, qs, qz},
				Outputs: []string{y4}}
			if bias != "" {
				n.Inputs = append(n.Inputs, bias)
			}
			replaced[qn] = []*graph.Node{
				{OpType: "Reshape", Inputs: []string{xq, reshapeIn}, Outputs: []string{x4}},
				n,
				{OpType: "Reshape", Inputs: []string{y4, reshapeOut}, Outputs: []string{qn.Outputs[0]}},
			}
		}
		gone[core] = true
	}
	for _, n := range g.Nodes {
		if r, ok := replaced[n]; ok {
			out = append(out, r...)
			continue
		}
		if !gone[n] {
			out = append(out, n)
		}
	}
	g.Nodes = out
	dropDeadNodes(g)
	return nil
}

// concatOn8Bits returns the Concat of the quantized values that replaces
// DequantizeLinear, ..., DequantizeLinear → Concat → QuantizeLinear qn when
// every input is dequantized with qn's scalar parameters; nil otherwise.
func concatOn8Bits(g *graph.Graph, qn, core *graph.Node, prod map[string]*graph.Node) *graph.Node {
	s, z, dt, ok := scalarParams(g, qn)
	if !ok || len(core.Inputs) == 0 {
		return nil
	}
	n := core.Clone()
	n.Outputs = []string{qn.Outputs[0]}
	for i, in := range core.Inputs {
		d := prod[in]
		if d == nil || d.OpType != "DequantizeLinear" || !isDefault(d) {
			return nil
		}
		ds, dz, ddt, ok := scalarParams(g, d)
		if !ok || ds != s || dz != z || ddt != dt {
			return nil
		}
		n.Inputs[i] = d.Input(0)
	}
	return n
}

// msDomain is ONNX Runtime's contrib-op domain.
const msDomain = "com.microsoft"

// contribGroup returns the com.microsoft nodes that replace the group ending
// in the QuantizeLinear qn whose input core writes (see toQOperator), and
// the float nodes they replace; nil when the group does not apply.
func contribGroup(g *graph.Graph, qn, core *graph.Node, prod map[string]*graph.Node, single func(string) bool) (repl, drop []*graph.Node) {
	_, qz, qdt, ok := scalarParams(g, qn)
	if !ok {
		return nil, nil
	}
	// dq returns the DequantizeLinear writing name when its parameters are
	// per tensor and of qn's type.
	dq := func(name string) *graph.Node {
		d := prod[name]
		if d == nil || d.OpType != "DequantizeLinear" || !isDefault(d) {
			return nil
		}
		if _, _, dt, ok := scalarParams(g, d); !ok || dt != qdt {
			return nil
		}
		return d
	}
	// inner returns the single-reader, default-domain producer of n's input.
	inner := func(n *graph.Node, op string) *graph.Node {
		p := prod[n.Input(0)]
		if p == nil || p.OpType != op || !isDefault(p) || !single(n.Input(0)) || len(p.Outputs) != 1 {
			return nil
		}
		return p
	}
	switch core.OpType {
	case "Relu", "Add":
		add := core
		if core.OpType == "Relu" {
			lo := int64(0)
			if qdt == tensor.Int8 {
				lo = -128
			}
			if qz != lo {
				return nil, nil // the Relu clips above the saturation point
			}
			if add = inner(core, "Add"); add == nil {
				return nil, nil
			}
			drop = append(drop, core)
		}
		if len(add.Inputs) != 2 {
			return nil, nil
		}
		da, db := dq(add.Input(0)), dq(add.Input(1))
		if da == nil || db == nil {
			return nil, nil
		}
		n := &graph.Node{Name: add.Name, OpType: "QLinearAdd", Domain: msDomain,
			Inputs: []string{da.Input(0), da.Input(1), da.Input(2), db.Input(0), db.Input(1), db.Input(2),
				qn.Input(1), qn.Input(2)},
			Outputs: []string{qn.Outputs[0]}}
		return []*graph.Node{n}, append(drop, add)
	case "Flatten", "GlobalAveragePool":
		gap, flatten := core, (*graph.Node)(nil)
		if core.OpType == "Flatten" {
			if core.AttrInt("axis", 1) != 1 {
				return nil, nil
			}
			if gap = inner(core, "GlobalAveragePool"); gap == nil {
				return nil, nil
			}
			flatten = core
		}
		dx := dq(gap.Input(0))
		if dx == nil {
			return nil, nil
		}
		out := qn.Outputs[0]
		if flatten != nil {
			out = g.UniqueName(out + "p")
		}
		n := &graph.Node{Name: gap.Name, OpType: "QLinearGlobalAveragePool", Domain: msDomain,
			Inputs:  []string{dx.Input(0), dx.Input(1), dx.Input(2), qn.Input(1), qn.Input(2)},
			Outputs: []string{out}}
		repl = []*graph.Node{n}
		drop = []*graph.Node{gap}
		if flatten != nil {
			f := flatten.Clone()
			f.Inputs = []string{out}
			f.Outputs = []string{qn.Outputs[0]}
			repl = append(repl, f)
			drop = append(drop, flatten)
		}
		return repl, drop
	}
	return nil, nil
}

// transpose2 returns the transpose of a 2-D 8-bit tensor.
func transpose2(w *tensor.Tensor) *tensor.Tensor {
	r, c := w.Shape[0], w.Shape[1]
	t := tensor.New(w.DType, tensor.Shape{c, r})
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if w.DType == tensor.Uint8 {
				t.U8[j*r+i] = w.U8[i*c+j]
			} else {
				t.I8[j*r+i] = w.I8[i*c+j]
			}
		}
	}
	return t
}
