package quantize

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// The passes of this file run in Prepare, after constants are inlined and
// identities removed. Each returns whether it changed the graph; Prepare
// repeats them until none does.

// foldConstantReshapes replaces a Reshape of an initializer by a constant
// shape with the reshaped initializer (as ONNX exporters emit for weights).
func foldConstantReshapes(g *graph.Graph) (bool, error) {
	changed := false
	var keep []*graph.Node
	for _, n := range g.Nodes {
		if n.OpType == "Reshape" && isDefault(n) && len(n.Outputs) == 1 && !g.IsOutput(n.Outputs[0]) {
			x, s := g.Initializers[n.Input(0)], g.Initializers[n.Input(1)]
			if x != nil && s != nil && n.AttrInt("allowzero", 0) == 0 {
				if shape, ok := reshapeTo(x.Shape, s); ok {
					t := x.Clone()
					t.Shape = shape
					g.Initializers[n.Outputs[0]] = t
					changed = true
					continue
				}
			}
		}
		keep = append(keep, n)
	}
	g.Nodes = keep
	return changed, nil
}

// reshapeTo resolves a Reshape shape tensor (0 copies, −1 infers).
func reshapeTo(in tensor.Shape, st *tensor.Tensor) (tensor.Shape, bool) {
	v, err := st.Int64s()
	if err != nil || len(st.Shape) != 1 {
		return nil, false
	}
	out := make(tensor.Shape, len(v))
	infer, known := -1, 1
	for i, d := range v {
		switch {
		case d == 0 && i < len(in):
			out[i] = in[i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d > 0:
			out[i] = int(d)
		default:
			return nil, false
		}
		known *= out[i]
	}
	if infer >= 0 {
		if known == 0 || in.Size()%known != 0 {
			return nil, false
		}
		out[infer] = in.Size() / known
	}
	if out.Size() != in.Size() {
		return nil, false
	}
	return out, true
}

// soleReader returns the only reader of value name (nil when it has
// several or is a graph output).
func soleReader(g *graph.Graph, cons map[string][]*graph.Node, name string) *graph.Node {
	if g.IsOutput(name) || len(cons[name]) != 1 {
		return nil
	}
	return cons[name][0]
}

// removeNode drops n from the node list.
func removeNode(g *graph.Graph, n *graph.Node) {
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i:i], g.Nodes[i+1:]...)
			return
		}
	}
}

// perChannel returns the values of a constant that broadcasts against an
// output of rank `rank` whose channel axis is `axis` and varies along that
// axis only: one value per channel (n of them), or a single value.
func perChannel(c *tensor.Tensor, rank, axis, n int) ([]float32, bool) {
	if c == nil || c.DType != tensor.Float32 || len(c.Shape) > rank {
		return nil, false
	}
	off := rank - len(c.Shape) // dims of c align to the right
	for i, d := range c.Shape {
		if d != 1 && i+off != axis {
			return nil, false
		}
	}
	if c.Len() == 1 {
		v := make([]float32, n)
		for i := range v {
			v[i] = c.F32[0]
		}
		return v, true
	}
	if axis < off || c.Shape[axis-off] != n {
		return nil, false
	}
	return append([]float32(nil), c.F32...), true
}

// foldAddIntoBias folds Add(Conv(...), constant) and Add(Gemm(...),
// constant), where the constant is per output channel, into the bias.
func foldAddIntoBias(g *graph.Graph, shapes *graph.Shapes) (bool, error) {
	cons := g.Consumers()
	for _, n := range g.Nodes {
		if (n.OpType != "Conv" && n.OpType != "Gemm") || !isDefault(n) || len(n.Outputs) != 1 {
			continue
		}
		add := soleReader(g, cons, n.Outputs[0])
		if add == nil || add.OpType != "Add" || !isDefault(add) || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
			continue
		}
		other := add.Input(1)
		if add.Input(1) == n.Outputs[0] {
			other = add.Input(0)
		}
		w := floatInit(g, n.Input(1))
		if w == nil || len(w.Shape) < 2 {
			continue
		}
		var m, rank, axis int
		if n.OpType == "Conv" {
			m, rank, axis = w.Shape[0], len(w.Shape), 1
		} else {
			if n.AttrFloat("beta", 1) != 1 || len(w.Shape) != 2 {
				continue
			}
			m, rank, axis = w.Shape[1], 2, 1
			if n.AttrInt("transB", 0) != 0 {
				m = w.Shape[0]
			}
		}
		add1, ok := perChannel(floatInit(g, other), rank, axis, m)
		if !ok {
			continue
		}
		b := make([]float32, m)
		if name := n.Input(2); name != "" {
			bt := floatInit(g, name)
			if bt == nil {
				continue
			}
			bv, ok := perChannel(bt, rank, axis, m)
			if !ok {
				continue
			}
			b = bv
		}
		for i := range b {
			b[i] += add1[i]
		}
		bName := g.UniqueName(add.Outputs[0] + "_bias")
		g.Initializers[bName] = tensor.FromFloat32(tensor.Shape{m}, b)
		for len(n.Inputs) < 3 {
			n.Inputs = append(n.Inputs, "")
		}
		n.Inputs[2] = bName
		n.Outputs[0] = add.Outputs[0]
		removeNode(g, add)
		return true, nil
	}
	return false, nil
}

// matMulAddToGemm turns MatMul(x, W) → Add(·, b), with x of rank 2, W a
// 2-D initializer and b a constant per output column, into one Gemm, so
// that the bias is quantized to int32 and a following Relu fuses.
func matMulAddToGemm(g *graph.Graph, shapes *graph.Shapes) (bool, error) {
	cons := g.Consumers()
	for _, n := range g.Nodes {
		if n.OpType != "MatMul" || !isDefault(n) || len(n.Outputs) != 1 {
			continue
		}
		w := floatInit(g, n.Input(1))
		if w == nil || len(w.Shape) != 2 {
			continue
		}
		if x, ok := shapes.Values[n.Input(0)]; !ok || x.Shape == nil || len(x.Shape) != 2 {
			continue
		}
		add := soleReader(g, cons, n.Outputs[0])
		if add == nil || add.OpType != "Add" || !isDefault(add) || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
			continue
		}
		other := add.Input(1)
		if other == n.Outputs[0] {
			other = add.Input(0)
		}
		b, ok := perChannel(floatInit(g, other), 2, 1, w.Shape[1])
		if !ok {
			continue
		}
		bName := g.UniqueName(add.Outputs[0] + "_bias")
		g.Initializers[bName] = tensor.FromFloat32(tensor.Shape{len(b)}, b)
		n.OpType = "Gemm"
		n.Inputs = []string{n.Input(0), n.Input(1), bName}
		n.Outputs[0] = add.Outputs[0]
		removeNode(g, add)
		return true, nil
	}
	return false, nil
}

// foldPads folds a constant-mode Pad with value 0 that pads only spatial
// dimensions into the Conv or AveragePool that is its only reader: the op
// then pads itself (AveragePool counting the padding, as the Pad did).
func foldPads(g *graph.Graph, opset int64) (bool, error) {
	cons := g.Consumers()
	for _, pad := range g.Nodes {
		if pad.OpType != "Pad" || !isDefault(pad) || len(pad.Outputs) != 1 {
			continue
		}
		if pad.AttrString("mode", "constant") != "constant" {
			continue
		}
		var pads []int64
		value := float32(0)
		if opset < 11 {
			pads = pad.AttrInts("pads", nil)
			value = pad.AttrFloat("value", 0)
		} else {
			pt := g.Initializers[pad.Input(1)]
			if pt == nil || pad.Input(3) != "" {
				continue
			}
			v, err := pt.Int64s()
			if err != nil {
				continue
			}
			pads = v
			if c := pad.Input(2); c != "" {
				ct := floatInit(g, c)
				if ct == nil || ct.Len() != 1 {
					continue
				}
				value = ct.F32[0]
			}
		}
		if value != 0 || len(pads) < 6 || len(pads)%2 != 0 {
			continue
		}
		r := len(pads) / 2
		if pads[0] != 0 || pads[1] != 0 || pads[r] != 0 || pads[r+1] != 0 {
			continue // batch or channel padding
		}
		op := soleReader(g, cons, pad.Outputs[0])
		if op == nil || !isDefault(op) || op.Input(0) != pad.Outputs[0] {
			continue
		}
		switch op.OpType {
		case "Conv":
		case "AveragePool":
			if op.AttrInt("count_include_pad", 0) == 0 && !allInts(op.AttrInts("pads", nil), 0) {
				continue
			}
		default:
			continue
		}
		if op.AttrString("auto_pad", "NOTSET") != "NOTSET" {
			continue
		}
		sp := r - 2
		old := op.AttrInts("pads", nil)
		if old == nil {
			old = make([]int64, 2*sp)
		}
		if len(old) != 2*sp {
			continue
		}
		np := make([]int64, 2*sp)
		for i := 0; i < sp; i++ {
			np[i] = old[i] + pads[2+i]
			np[sp+i] = old[sp+i] + pads[r+2+i]
		}
		op.SetAttr("pads", graph.IntsAttr(np...))
		if op.OpType == "AveragePool" {
			op.SetAttr("count_include_pad", graph.IntAttr(1))
		}
		op.Inputs[0] = pad.Input(0)
		removeNode(g, pad)
		return true, nil
	}
	return false, nil
}

// foldGemmBatchNorms folds a BatchNormalization over a 2-D Gemm output
// (channels = Gemm output columns) into the Gemm's weight and bias, as
// foldBatchNorms does for Conv.
func foldGemmBatchNorms(g *graph.Graph) (bool, error) {
	cons := g.Consumers()
	for _, gm := range g.Nodes {
		if gm.OpType != "Gemm" || !isDefault(gm) || len(gm.Outputs) != 1 {
			continue
		}
		bn := soleReader(g, cons, gm.Outputs[0])
		if bn == nil || bn.OpType != "BatchNormalization" || !isDefault(bn) || bn.AttrInt("training_mode", 0) != 0 {
			continue
		}
		if len(bn.Outputs) != 1 && !allEmpty(bn.Outputs[1:]) {
			continue
		}
		w := floatInit(g, gm.Input(1))
		if w == nil || len(w.Shape) != 2 || gm.AttrInt("transA", 0) != 0 {
			continue
		}
		transB := gm.AttrInt("transB", 0) != 0
		m := w.Shape[1]
		if transB {
			m = w.Shape[0]
		}
		gamma, beta := floatInit(g, bn.Input(1)), floatInit(g, bn.Input(2))
		mean, variance := floatInit(g, bn.Input(3)), floatInit(g, bn.Input(4))
		if gamma == nil || beta == nil || mean == nil || variance == nil {
			continue
		}
		if gamma.Len() != m || beta.Len() != m || mean.Len() != m || variance.Len() != m {
			return false, fmt.Errorf("quantize: %s: parameters do not match %d Gemm outputs", bn.Label(), m)
		}
		alpha, betaG := float64(gm.AttrFloat("alpha", 1)), float64(gm.AttrFloat("beta", 1))
		var b []float32
		if name := gm.Input(2); name != "" {
			bv, ok := perChannel(floatInit(g, name), 2, 1, m)
			if !ok {
				continue
			}
			b = bv
		}
		eps := float64(bn.AttrFloat("epsilon", 1e-5))
		nw := tensor.New(tensor.Float32, w.Shape)
		nb := make([]float32, m)
		k := make([]float64, m)
		for c := 0; c < m; c++ {
			k[c] = float64(gamma.F32[c]) / math.Sqrt(float64(variance.F32[c])+eps)
			bias := 0.0
			if b != nil {
				bias = betaG * float64(b[c])
			}
			nb[c] = float32((bias-float64(mean.F32[c]))*k[c] + float64(beta.F32[c]))
		}
		for i := range w.F32 {
			c := i % w.Shape[1]
			if transB {
				c = i / w.Shape[1]
			}
			nw.F32[i] = float32(alpha * float64(w.F32[i]) * k[c])
		}
		wName := g.UniqueName(bn.Outputs[0] + "_weight")
		bName := g.UniqueName(bn.Outputs[0] + "_bias")
		g.Initializers[wName] = nw
		g.Initializers[bName] = tensor.FromFloat32(tensor.Shape{m}, nb)
		gm.Inputs = []string{gm.Input(0), wName, bName}
		delete(gm.Attrs, "alpha")
		delete(gm.Attrs, "beta")
		gm.Outputs[0] = bn.Outputs[0]
		removeNode(g, bn)
		return true, nil
	}
	return false, nil
}

// prepasses runs the passes of this file until none changes the graph.
func prepasses(m *graph.Model) error {
	g := m.Graph
	opset := m.Opset()
	for iter := 0; iter < 10000; iter++ {
		shapes := graph.InferShapes(g, opset, nil)
		changed := false
		for _, pass := range []func() (bool, error){
			func() (bool, error) { return foldConstantReshapes(g) },
			func() (bool, error) { return foldGemmBatchNorms(g) },
			func() (bool, error) { return foldPads(g, opset) },
			func() (bool, error) { return matMulAddToGemm(g, shapes) },
			func() (bool, error) { return foldAddIntoBias(g, shapes) },
		} {
			c, err := pass()
			if err != nil {
				return err
			}
			if c {
				changed = true
				break
			}
		}
		if !changed {
			return nil
		}
	}
	return nil
}
