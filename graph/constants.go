package graph

import (
	"fmt"
	"sort"

	"github.com/eightbitml/eightbit/tensor"
)

// isONNXOp reports whether n is the standard-domain operator opType.
func isONNXOp(n *Node, opType string) bool {
	return n.OpType == opType && (n.Domain == "" || n.Domain == "ai.onnx")
}

// InlineConstants turns every Constant node into an initializer named after
// the node's output and removes the node. The value may be given as the
// attribute value (a tensor), value_float, value_floats, value_int or
// value_ints; value_float and value_int give scalars, value_floats and
// value_ints 1-D tensors (float32 and int64). Any other form (value_string,
// value_strings, sparse_value, no or several values) is an error naming the
// node. On error the graph is left unchanged.
func (g *Graph) InlineConstants() error {
	type constant struct {
		name string
		t    *tensor.Tensor
	}
	var found []constant
	defined := map[string]bool{}
	for _, in := range g.Inputs {
		defined[in.Name] = true
	}
	for _, n := range g.Nodes {
		if !isONNXOp(n, "Constant") {
			continue
		}
		if len(n.Outputs) != 1 || n.Outputs[0] == "" {
			return fmt.Errorf("%s: a Constant must have exactly one output, has %q", n.Label(), n.Outputs)
		}
		out := n.Outputs[0]
		if g.IsInitializer(out) || defined[out] {
			return fmt.Errorf("%s: output %q is already a graph input, initializer or constant", n.Label(), out)
		}
		t, err := constantValue(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		defined[out] = true
		found = append(found, constant{out, t})
	}
	if len(found) == 0 {
		return nil
	}
	if g.Initializers == nil {
		g.Initializers = make(map[string]*tensor.Tensor, len(found))
	}
	for _, c := range found {
		g.Initializers[c.name] = c.t
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !isONNXOp(n, "Constant") {
			kept = append(kept, n)
		}
	}
	clear(g.Nodes[len(kept):])
	g.Nodes = kept
	return nil
}

// constantValue returns the tensor a Constant node defines.
func constantValue(n *Node) (*tensor.Tensor, error) {
	if len(n.Attrs) != 1 {
		names := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("want exactly one value attribute, have %d %q", len(n.Attrs), names)
	}
	var name string
	var a *Attr
	for k, v := range n.Attrs {
		name, a = k, v
	}
	want, ok := map[string]AttrType{
		"value": AttrTensor, "value_float": AttrFloat, "value_floats": AttrFloats,
		"value_int": AttrInt, "value_ints": AttrInts,
	}[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("constant form %q is not supported", name)
	case a == nil:
		return nil, fmt.Errorf("attribute %q is nil", name)
	case a.Type != want:
		return nil, fmt.Errorf("attribute %q has attribute type %d, want %d", name, a.Type, want)
	}
	switch want {
	case AttrTensor:
		if a.T == nil {
			return nil, fmt.Errorf("attribute %q holds no tensor", name)
		}
		if err := a.T.Validate(); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		return a.T, nil
	case AttrFloat:
		return tensor.ScalarFloat32(a.F), nil
	case AttrFloats:
		return tensor.FromFloat32(tensor.Shape{len(a.Floats)}, append([]float32{}, a.Floats...)), nil
	case AttrInt:
		return tensor.FromInt64(nil, []int64{a.I}), nil
	default: // AttrInts
		return tensor.FromInt64(tensor.Shape{len(a.Ints)}, append([]int64{}, a.Ints...)), nil
	}
}

// RemoveIdentities removes Identity nodes, and Dropout nodes whose mask
// output is unused (at inference Dropout passes its input through), by
// making the readers of the node's output read its input instead.
//
// Graph output names never change. When the removed node's output is a
// graph output, the node that produces its input is renamed to write the
// output directly; when that is impossible (the input is a graph input, an
// initializer, another graph output, or is produced by nothing) the node is
// kept. Value infos of names that disappear are renamed or dropped.
func (g *Graph) RemoveIdentities() {
	for i := 0; i < len(g.Nodes); {
		if g.removePassThrough(i) {
			continue
		}
		i++
	}
}

// removePassThrough removes node i if it is a removable Identity or Dropout
// and reports whether it did.
func (g *Graph) removePassThrough(i int) bool {
	n := g.Nodes[i]
	switch {
	case isONNXOp(n, "Identity"):
		if len(n.Outputs) != 1 {
			return false
		}
	case isONNXOp(n, "Dropout"):
		if len(n.Outputs) < 1 || len(n.Outputs) > 2 {
			return false
		}
		if len(n.Outputs) == 2 && n.Outputs[1] != "" && g.isUsed(n.Outputs[1]) {
			return false
		}
	default:
		return false
	}
	in, out := n.Input(0), n.Outputs[0]
	if in == "" || out == "" || in == out {
		return false
	}

	if !g.IsOutput(out) {
		g.renameUses(out, in, n)
		g.renameValueInfo(out, in)
		g.removeNode(i)
		return true
	}

	// out is a graph output: make in's producer write out directly.
	if g.IsOutput(in) || g.IsInitializer(in) || g.isInput(in) {
		return false
	}
	var producer *Node
	slot := -1
	for _, p := range g.Nodes {
		for k, o := range p.Outputs {
			if o == in {
				producer, slot = p, k
			}
		}
	}
	if producer == nil {
		return false
	}
	producer.Outputs[slot] = out
	g.renameUses(in, out, n)
	g.renameValueInfo(in, out)
	g.removeNode(i)
	return true
}

// isUsed reports whether a node reads name or it is a graph output.
func (g *Graph) isUsed(name string) bool {
	if g.IsOutput(name) {
		return true
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == name {
				return true
			}
		}
	}
	return false
}

func (g *Graph) isInput(name string) bool {
	for _, in := range g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// renameUses makes every node but skip read to instead of from.
func (g *Graph) renameUses(from, to string, skip *Node) {
	for _, n := range g.Nodes {
		if n == skip {
			continue
		}
		for k, in := range n.Inputs {
			if in == from {
				n.Inputs[k] = to
			}
		}
	}
}

// renameValueInfo moves the value info of from to the name to, or drops it
// when to already has one.
func (g *Graph) renameValueInfo(from, to string) {
	has := false
	for _, vi := range g.ValueInfo {
		if vi.Name == to {
			has = true
		}
	}
	kept := g.ValueInfo[:0]
	for _, vi := range g.ValueInfo {
		if vi.Name == from {
			if has {
				continue
			}
			vi.Name = to
			has = true
		}
		kept = append(kept, vi)
	}
	clear(g.ValueInfo[len(kept):])
	g.ValueInfo = kept
}

func (g *Graph) removeNode(i int) {
	copy(g.Nodes[i:], g.Nodes[i+1:])
	g.Nodes[len(g.Nodes)-1] = nil
	g.Nodes = g.Nodes[:len(g.Nodes)-1]
}
