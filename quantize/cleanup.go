package quantize

import (
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// exclusions are the nodes that Options keeps float.
type exclusions struct {
	nodes, ops map[string]bool
}

func newExclusions(o Options) exclusions {
	e := exclusions{nodes: map[string]bool{}, ops: map[string]bool{}}
	for _, n := range o.ExcludeNodes {
		e.nodes[n] = true
	}
	for _, t := range o.ExcludeOpTypes {
		e.ops[t] = true
	}
	return e
}

// has reports whether n is excluded, by op type, by name or, for a node
// without a name, by its first output.
func (e exclusions) has(n *graph.Node) bool {
	if e.ops[n.OpType] {
		return true
	}
	name := n.Name
	if name == "" && len(n.Outputs) > 0 {
		name = n.Outputs[0]
	}
	return e.nodes[name]
}

// scalarParams returns the per-tensor scale, zero point and quantized type
// of a QuantizeLinear or DequantizeLinear node with constant parameters.
func scalarParams(g *graph.Graph, n *graph.Node) (scale float32, zp int64, dt tensor.DType, ok bool) {
	s := g.Initializers[n.Input(1)]
	if s == nil || s.DType != tensor.Float32 || s.Len() != 1 {
		return 0, 0, 0, false
	}
	dt = tensor.Uint8
	if name := n.Input(2); name != "" {
		z := g.Initializers[name]
		if z == nil || z.Len() != 1 || (z.DType != tensor.Uint8 && z.DType != tensor.Int8) {
			return 0, 0, 0, false
		}
		v, err := z.Int64s()
		if err != nil {
			return 0, 0, 0, false
		}
		zp, dt = v[0], z.DType
	} else if n.OpType == "DequantizeLinear" {
		return 0, 0, 0, false // the input's type is not evident
	}
	return s.F32[0], zp, dt, true
}

// removeRedundantQDQ removes DequantizeLinear → QuantizeLinear pairs whose
// parameters are equal (the quantize gives back the dequantized values):
// the readers of the QuantizeLinear read the DequantizeLinear's input. A
// pair with different parameters is a requantization and stays, once.
// Nodes left without readers are dropped.
func removeRedundantQDQ(g *graph.Graph) {
	prod := g.Producers()
	for _, qn := range g.Nodes {
		if qn.OpType != "QuantizeLinear" || !isDefault(qn) || g.IsOutput(qn.Outputs[0]) {
			continue
		}
		dq := prod[qn.Input(0)]
		if dq == nil || dq.OpType != "DequantizeLinear" || !isDefault(dq) {
			continue
		}
		s1, z1, t1, ok1 := scalarParams(g, qn)
		s2, z2, t2, ok2 := scalarParams(g, dq)
		if !ok1 || !ok2 || math.Float32bits(s1) != math.Float32bits(s2) || z1 != z2 || t1 != t2 {
			continue
		}
		renameReads(g, qn.Outputs[0], dq.Input(0))
	}
	dropDeadNodes(g)
}

func isDefault(n *graph.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// renameReads points every reader of from at to.
func renameReads(g *graph.Graph, from, to string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

// dropDeadNodes removes nodes none of whose outputs is read or a graph
// output, repeatedly, then the initializers nobody reads.
func dropDeadNodes(g *graph.Graph) {
	for {
		cons := g.Consumers()
		var keep []*graph.Node
		for _, n := range g.Nodes {
			live := false
			for _, o := range n.Outputs {
				if o != "" && (len(cons[o]) > 0 || g.IsOutput(o)) {
					live = true
				}
			}
			if live {
				keep = append(keep, n)
			}
		}
		if len(keep) == len(g.Nodes) {
			break
		}
		g.Nodes = keep
	}
	dropUnusedInitializers(g)
	dropStaleValueInfo(g)
}
