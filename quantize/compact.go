package quantize

import (
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// dropDefaultAttrs removes attributes of default-domain nodes that hold the
// value the op takes when the attribute is absent (at opset 13 and later),
// such as Conv dilations [1, 1] or Gemm alpha 1: the model means the same
// and is smaller.
func dropDefaultAttrs(g *graph.Graph) {
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue
		}
		for k, a := range n.Attrs { // each attribute is judged alone
			if isDefaultAttr(n, k, a) {
				delete(n.Attrs, k)
			}
		}
		if len(n.Attrs) == 0 {
			n.Attrs = nil
		}
	}
}

func isDefaultAttr(n *graph.Node, name string, a *graph.Attr) bool {
	if a == nil {
		return false
	}
	pool := n.OpType == "MaxPool" || n.OpType == "AveragePool"
	switch {
	case (n.OpType == "Conv" || pool) && name == "strides",
		(n.OpType == "Conv" || n.OpType == "MaxPool") && name == "dilations":
		return a.Type == graph.AttrInts && allInts(a.Ints, 1)
	case (n.OpType == "Conv" || pool) && name == "pads":
		// Explicit zero pads are the default only with auto_pad NOTSET.
		return a.Type == graph.AttrInts && allInts(a.Ints, 0) && n.AttrString("auto_pad", "NOTSET") == "NOTSET"
	case (n.OpType == "Conv" || pool) && name == "auto_pad":
		return a.Type == graph.AttrString && a.S == "NOTSET"
	case n.OpType == "Conv" && name == "group", n.OpType == "Flatten" && name == "axis":
		return a.Type == graph.AttrInt && a.I == 1
	case pool && name == "ceil_mode", n.OpType == "MaxPool" && name == "storage_order",
		n.OpType == "AveragePool" && name == "count_include_pad",
		n.OpType == "Gemm" && (name == "transA" || name == "transB"):
		return a.Type == graph.AttrInt && a.I == 0
	case n.OpType == "Gemm" && (name == "alpha" || name == "beta"):
		return a.Type == graph.AttrFloat && a.F == 1
	}
	return false
}

func allInts(v []int64, x int64) bool {
	for _, e := range v {
		if e != x {
			return false
		}
	}
	return true
}

// dropStaleValueInfo removes value_info entries of values that no node
// writes any more (and of graph outputs, which are declared already).
func dropStaleValueInfo(g *graph.Graph) {
	prod := g.Producers()
	var keep []graph.ValueInfo
	for _, v := range g.ValueInfo {
		if prod[v.Name] != nil && !g.IsOutput(v.Name) {
			keep = append(keep, v)
		}
	}
	g.ValueInfo = keep
}

// dropRedundantKernelShape removes the kernel_shape attribute of a Conv
// when it equals the spatial dimensions of the weight, from which the op
// infers it when absent.
func dropRedundantKernelShape(n *graph.Node, w tensor.Shape) {
	ks := n.AttrInts("kernel_shape", nil)
	if ks == nil || len(ks) != len(w)-2 {
		return
	}
	for i, k := range ks {
		if int64(w[i+2]) != k {
			return
		}
	}
	delete(n.Attrs, "kernel_shape")
}
