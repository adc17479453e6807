package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Float epilogue fusion
//
// In float mode Compile folds every chain
//
//	Conv [→ BatchNormalization] [→ Add | Sum (residual)] [→ Relu | Clip]
//
// whose intermediate values have no other reader (and are no graph output)
// into one step, kernels.ConvFusedWith: the bias, the residual and the
// clamp are applied to each output row right after it is computed, instead
// of separate steps that each read and write the whole tensor. A
// BatchNormalization with constant parameters after a Conv with constant
// weights is folded into the weights and the bias (w·s, b·s + B − mean·s,
// s = scale/√(var+ε)), which changes results by float rounding only; the
// residual add and the clamp give the separate operators' results bit for
// bit. RunObserved, which must report the intermediate values, runs an
// unfused compilation of the model instead (made on first use).

// fuseEpilogues finds the chains and records them as fused steps; it
// reports whether it fused any.
func (c *compiler) fuseEpilogues() bool {
	g := c.g
	cons := g.Consumers()
	if c.gone == nil {
		c.gone = map[*graph.Node]bool{}
	}
	// next returns the only reader of a value that is no graph output.
	next := func(name string) *graph.Node {
		if g.IsOutput(name) || len(cons[name]) != 1 || c.gone[cons[name][0]] || !isDefaultDomain(cons[name][0].Domain) {
			return nil
		}
		return cons[name][0]
	}
	fusedAny := false
	for _, conv := range g.Nodes {
		if conv.OpType != "Conv" || c.gone[conv] || !isDefaultDomain(conv.Domain) || len(conv.Outputs) != 1 || conv.Input(0) == "" || conv.Input(1) == "" {
			continue
		}
		chain := []*graph.Node{conv}
		w, b := conv.Input(1), conv.Input(2)
		cur := conv.Outputs[0]
		if n := next(cur); n != nil && n.OpType == "BatchNormalization" {
			if fw, fb, ok := c.foldBatchNorm(conv, n); ok {
				chain, w, b, cur = append(chain, n), fw, fb, n.Outputs[0]
			}
		}
		res := ""
		if n := next(cur); n != nil && (n.OpType == "Add" && n.AttrInt("broadcast", 0) == 0 || n.OpType == "Sum") && len(n.Inputs) == 2 && len(n.Outputs) == 1 {
			other := n.Inputs[0]
			if other == cur {
				other = n.Inputs[1]
			}
			if other != cur && other != "" && c.sameShape(cur, other) {
				chain, res, cur = append(chain, n), other, n.Outputs[0]
			}
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if n := next(cur); n != nil && len(n.Outputs) == 1 {
			if l, h, ok := c.clampBounds(n); ok {
				chain, lo, hi, cur = append(chain, n), l, h, n.Outputs[0]
			}
		}
		if len(chain) == 1 {
			continue
		}
		c.fused = append(c.fused, fusedStep{
			at:   chain[len(chain)-1],
			step: fusedConvStep(conv, len(chain), lo, hi),
			ins:  []string{conv.Inputs[0], w, b, res},
			outs: []string{cur},
		})
		for _, n := range chain {
			c.gone[n] = true
		}
		fusedAny = true
	}
	return fusedAny
}

// fusedConvStep is the step of a fused chain of nodes nodes starting at
// conv; its inputs are X, W, B and the residual (the last two optional).
func fusedConvStep(conv *graph.Node, nodes int, lo, hi float32) step {
	p := convParams(conv)
	k := allocKernel(func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, w, err := need2(in, "X", "W")
		if err != nil {
			return nil, err
		}
		return one(kernels.ConvFusedWith(al, x, w, opt(in, 2), opt(in, 3), p, lo, hi))
	})
	return step{
		label: conv.Label(), op: "Conv", kind: kindFloat, nodes: nodes,
		run: k.heap(), runA: k, fresh: true,
		macs: convMACs,
	}
}

// sameShape reports whether shape inference gave a and b the same shape
// (equal known sizes or the same symbolic size, dimension by dimension).
func (c *compiler) sameShape(a, b string) bool {
	sa, sb := c.shapes.Values[a].Shape, c.shapes.Values[b].Shape
	if sa == nil || len(sa) != len(sb) {
		return false
	}
	for i, d := range sa {
		e := sb[i]
		if d.Param != "" || e.Param != "" {
			if d.Param != e.Param {
				return false
			}
		} else if d.Value < 0 || d.Value != e.Value {
			return false
		}
	}
	return true
}

// clampBounds returns the bounds of a Relu, or of a Clip whose bounds are
// constant; ok is false for any other node.
func (c *compiler) clampBounds(n *graph.Node) (lo, hi float32, ok bool) {
	switch n.OpType {
	case "Relu":
		return 0, float32(math.Inf(1)), len(n.Inputs) == 1
	case "Clip":
		lo, hi = n.AttrFloat("min", float32(math.Inf(-1))), n.AttrFloat("max", float32(math.Inf(1)))
		if c.opset < 11 {
			return lo, hi, true
		}
		bounds := [2]float32{float32(math.Inf(-1)), float32(math.Inf(1))}
		for i := range bounds {
			name := n.Input(i + 1)
			if name == "" {
				continue
			}
			t := c.consts[name]
			if t == nil || t.DType != tensor.Float32 || t.Len() != 1 {
				return 0, 0, false
			}
			bounds[i] = t.F32[0]
		}
		return bounds[0], bounds[1], true
	}
	return 0, 0, false
}

// foldBatchNorm returns the names of new constant weights and bias that
// compute Conv conv followed by BatchNormalization bn, when the weights,
// the bias and the normalization parameters are float32 constants.
func (c *compiler) foldBatchNorm(conv, bn *graph.Node) (w, b string, ok bool) {
	if len(bn.Inputs) != 5 || (c.opset >= 14 && bn.AttrInt("training_mode", 0) != 0) || (c.opset < 7 && bn.AttrInt("is_test", 0) == 0) {
		return "", "", false
	}
	for _, o := range bn.Outputs[1:] {
		if o != "" {
			return "", "", false
		}
	}
	wt := c.consts[conv.Input(1)]
	if wt == nil || wt.DType != tensor.Float32 || len(wt.Shape) < 3 {
		return "", "", false
	}
	M := wt.Shape[0]
	var params [4]*tensor.Tensor // scale, B, mean, var
	for i := range params {
		t := c.consts[bn.Input(i+1)]
		if t == nil || t.DType != tensor.Float32 || t.Len() != M {
			return "", "", false
		}
		params[i] = t
	}
	var bias []float32
	if conv.Input(2) != "" {
		bt := c.consts[conv.Input(2)]
		if bt == nil || bt.DType != tensor.Float32 || bt.Len() != M {
			return "", "", false
		}
		bias = bt.F32
	}
	eps := bn.AttrFloat("epsilon", 1e-5)
	fw := tensor.New(tensor.Float32, wt.Shape.Clone())
	fb := tensor.New(tensor.Float32, tensor.Shape{M})
	per := wt.Len() / M
	for m := 0; m < M; m++ {
		// As kernels.BatchNormWith computes s and the offset.
		s := params[0].F32[m] / float32(math.Sqrt(float64(params[3].F32[m]+eps)))
		off := params[1].F32[m] - params[2].F32[m]*s
		for i := m * per; i < (m+1)*per; i++ {
			fw.F32[i] = wt.F32[i] * s
		}
		fb.F32[m] = off
		if bias != nil {
			fb.F32[m] = bias[m]*s + off
		}
	}
	w, b = c.newConst(bn.Outputs[0]+"/folded_W", fw), c.newConst(bn.Outputs[0]+"/folded_B", fb)
	return w, b, true
}

// newConst adds a constant under a name no value of the graph has.
func (c *compiler) newConst(base string, t *tensor.Tensor) string {
	name := base
	for i := 1; ; i++ {
		if _, taken := c.consts[name]; !taken {
			if _, taken := c.shapes.Values[name]; !taken {
				break
			}
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
	c.consts[name] = t
	return name
}

// transposeGemmWeights stores the constant B of every float Gemm with
// transB=1 transposed and clears transB, so that Run multiplies with B in
// place instead of repacking the transposed matrix on every call (the
// classifier layer of a CNN: a matrix-vector product that packing would
// dominate). The assembly GEMM sums the same products in the same order
// either way, so results are unchanged bit for bit there.
func (c *compiler) transposeGemmWeights() {
	for _, n := range c.g.Nodes {
		if n.OpType != "Gemm" || !isDefaultDomain(n.Domain) || n.AttrInt("transB", 0) == 0 {
			continue
		}
		b := c.consts[n.Input(1)]
		if b == nil || b.DType != tensor.Float32 || len(b.Shape) != 2 {
			continue
		}
		rows, cols := b.Shape[0], b.Shape[1]
		bt := tensor.New(tensor.Float32, tensor.Shape{cols, rows})
		for i := 0; i < rows; i++ {
			for j, v := range b.F32[i*cols : (i+1)*cols] {
				bt.F32[j*rows+i] = v
			}
		}
		n.Inputs[1] = c.newConst(n.Input(1)+"/transposed", bt)
		if n.Attrs == nil {
			n.Attrs = map[string]*graph.Attr{}
		}
		n.Attrs["transB"] = graph.IntAttr(0)
	}
}
