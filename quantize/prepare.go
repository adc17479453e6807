package quantize

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Prepare returns a rewritten copy of m that calibration and quantization
// both work on: Constant nodes become initializers, Identity nodes are
// removed, and BatchNormalization nodes that follow a Conv (whose output has
// no other reader) are folded into its weight and bias. Initializers that no
// node reads any more are dropped. m is not changed.
//
// Prepare is deterministic and idempotent: Prepare(Prepare(m)) equals
// Prepare(m). Tensor names that survive keep their names; a folded Conv
// writes the BatchNormalization's output name, so ranges calibrated on the
// prepared graph apply to Quantize unchanged.
func Prepare(m *graph.Model) (*graph.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("quantize: model has no graph")
	}
	c := m.Clone()
	g := c.Graph
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: input graph: %w", err)
	}
	if err := g.InlineConstants(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	g.RemoveIdentities()
	foldParamConstantOfShape(g)
	sumsToAdds(g)
	if err := foldBatchNorms(g); err != nil {
		return nil, err
	}
	if err := prepasses(c); err != nil {
		return nil, err
	}
	dropUnusedInitializers(g)
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: prepared graph is invalid: %w", err)
	}
	return c, nil
}

// sumsToAdds rewrites every Sum of two or more inputs as Adds, left to
// right (the order Sum adds in), so that residual connections exported as
// Sum quantize and run as integer adds. The last Add keeps the Sum's name
// and output.
func sumsToAdds(g *graph.Graph) {
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		if n.OpType != "Sum" || n.Domain != "" || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
			nodes = append(nodes, n)
			continue
		}
		acc := n.Inputs[0]
		for i, in := range n.Inputs[1:] {
			add := &graph.Node{Name: n.Name, OpType: "Add", Inputs: []string{acc, in}, Outputs: []string{n.Outputs[0]}}
			if i < len(n.Inputs)-2 {
				add.Name = ""
				add.Outputs[0] = g.UniqueName(n.Outputs[0] + "_sum" + strconv.Itoa(i))
			}
			nodes = append(nodes, add)
			acc = add.Outputs[0]
		}
	}
	g.Nodes = nodes
}

// paramInputs lists, per op type, the inputs that hold parameters.
var paramInputs = map[string][]int{
	"Conv": {1, 2}, "Gemm": {1, 2}, "MatMul": {1}, "BatchNormalization": {1, 2, 3, 4},
}

// foldParamConstantOfShape turns the float ConstantOfShape nodes of
// constant shape whose every reader takes them as a parameter (the weight
// or bias of a Conv, Gemm or MatMul, a BatchNormalization parameter) into
// initializers, as constant folding would: such weights can then be
// folded and quantized. (Some models generate their weights this way; the
// quantized file then stores them.)
func foldParamConstantOfShape(g *graph.Graph) {
	cons := g.Consumers()
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if t := paramConstantOfShape(g, n, cons); t != nil {
			g.Initializers[n.Outputs[0]] = t
			continue
		}
		kept = append(kept, n)
	}
	g.Nodes = kept
}

// paramConstantOfShape returns the value of n when
// foldParamConstantOfShape folds it.
func paramConstantOfShape(g *graph.Graph, n *graph.Node, cons map[string][]*graph.Node) *tensor.Tensor {
	if n.OpType != "ConstantOfShape" || n.Domain != "" || len(n.Outputs) != 1 || g.IsOutput(n.Outputs[0]) {
		return nil
	}
	shape := g.Initializers[n.Input(0)]
	if shape == nil || shape.DType != tensor.Int64 || len(shape.Shape) != 1 {
		return nil
	}
	var v float32
	if t := n.AttrTensor("value"); t != nil {
		if t.DType != tensor.Float32 || t.Len() != 1 {
			return nil
		}
		v = t.F32[0]
	}
	dims := make(tensor.Shape, len(shape.I64))
	for i, d := range shape.I64 {
		if d < 0 || d > 1<<24 {
			return nil
		}
		dims[i] = int(d)
	}
	if dims.Size() > 1<<28 {
		return nil
	}
	readers := cons[n.Outputs[0]]
	if len(readers) == 0 {
		return nil
	}
	for _, r := range readers {
		if r.Domain != "" {
			return nil
		}
		for i, in := range r.Inputs {
			if in == n.Outputs[0] && !slices.Contains(paramInputs[r.OpType], i) {
				return nil
			}
		}
	}
	t := tensor.New(tensor.Float32, dims)
	for i := range t.F32 {
		t.F32[i] = v
	}
	return t
}

// foldBatchNorms folds inference BatchNormalization into the Conv before it:
//
//	k  = γ / √(var + ε)            per output channel, in float64
//	w' = w · k                     (rounded to float32)
//	b' = (b − mean) · k + β        (b = 0 when the Conv has no bias)
func foldBatchNorms(g *graph.Graph) error {
	for {
		prod := g.Producers()
		cons := g.Consumers()
		done := true
		for i, bn := range g.Nodes {
			if bn.OpType != "BatchNormalization" || bn.Domain != "" {
				continue
			}
			conv := prod[bn.Input(0)]
			if conv == nil || conv.OpType != "Conv" || conv.Domain != "" || len(conv.Outputs) != 1 {
				continue
			}
			if len(cons[conv.Outputs[0]]) != 1 || g.IsOutput(conv.Outputs[0]) {
				continue
			}
			if len(bn.Outputs) != 1 && !(len(bn.Outputs) > 1 && allEmpty(bn.Outputs[1:])) {
				continue
			}
			if bn.AttrInt("spatial", 1) != 1 || bn.AttrInt("training_mode", 0) != 0 {
				continue
			}
			folded, err := foldOne(g, conv, bn, cons)
			if err != nil {
				return err
			}
			if !folded {
				continue
			}
			g.Nodes = append(g.Nodes[:i:i], g.Nodes[i+1:]...)
			done = false
			break
		}
		if done {
			return nil
		}
	}
}

func allEmpty(s []string) bool {
	for _, x := range s {
		if x != "" {
			return false
		}
	}
	return true
}

func floatInit(g *graph.Graph, name string) *tensor.Tensor {
	t := g.Initializers[name]
	if name == "" || t == nil || t.DType != tensor.Float32 {
		return nil
	}
	return t
}

func foldOne(g *graph.Graph, conv, bn *graph.Node, cons map[string][]*graph.Node) (bool, error) {
	w := floatInit(g, conv.Input(1))
	gamma, beta := floatInit(g, bn.Input(1)), floatInit(g, bn.Input(2))
	mean, variance := floatInit(g, bn.Input(3)), floatInit(g, bn.Input(4))
	if w == nil || gamma == nil || beta == nil || mean == nil || variance == nil || len(w.Shape) < 1 {
		return false, nil
	}
	var b *tensor.Tensor
	if conv.Input(2) != "" {
		if b = floatInit(g, conv.Input(2)); b == nil {
			return false, nil
		}
	}
	m := w.Shape[0]
	for _, t := range []*tensor.Tensor{gamma, beta, mean, variance} {
		if t.Len() != m {
			return false, fmt.Errorf("quantize: %s: parameter has %d values for %d Conv output channels", bn.Label(), t.Len(), m)
		}
	}
	if b != nil && b.Len() != m {
		return false, fmt.Errorf("quantize: %s: bias %q has %d values for %d output channels", conv.Label(), conv.Input(2), b.Len(), m)
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	per := 0
	if m > 0 {
		per = w.Len() / m
	}
	nw := tensor.New(tensor.Float32, w.Shape)
	nb := tensor.New(tensor.Float32, tensor.Shape{m})
	for c := 0; c < m; c++ {
		k := float64(gamma.F32[c]) / math.Sqrt(float64(variance.F32[c])+eps)
		for j := c * per; j < (c+1)*per; j++ {
			nw.F32[j] = float32(float64(w.F32[j]) * k)
		}
		bias := 0.0
		if b != nil {
			bias = float64(b.F32[c])
		}
		nb.F32[c] = float32((bias-float64(mean.F32[c]))*k + float64(beta.F32[c]))
	}
	// Replace the weight in place when this Conv is its only reader, else add
	// a new initializer; same for the bias.
	wName := conv.Input(1)
	if len(cons[wName]) != 1 || g.IsOutput(wName) {
		wName = g.UniqueName(bn.Outputs[0] + "_weight")
	}
	g.Initializers[wName] = nw
	bName := conv.Input(2)
	if bName == "" || len(cons[bName]) != 1 || g.IsOutput(bName) {
		bName = g.UniqueName(bn.Outputs[0] + "_bias")
	}
	g.Initializers[bName] = nb
	for len(conv.Inputs) < 3 {
		conv.Inputs = append(conv.Inputs, "")
	}
	conv.Inputs[1], conv.Inputs[2] = wName, bName
	conv.Outputs[0] = bn.Outputs[0]
	return true, nil
}

// dropUnusedInitializers removes initializers that no node reads and that
// are not graph outputs.
func dropUnusedInitializers(g *graph.Graph) {
	used := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range g.Outputs {
		used[o.Name] = true
	}
	for _, name := range g.InitializerNames() {
		if !used[name] {
			delete(g.Initializers, name)
		}
	}
}
