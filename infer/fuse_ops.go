package infer

import (
	"fmt"
	"unsafe"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// MACShare returns the share of the multiply-accumulates of the most recent
// Run that ran in integer arithmetic, IntegerMACs / (IntegerMACs +
// FloatMACs), between 0 and 1 (0 when there were none).
func (s Stats) MACShare() float64 {
	total := s.IntegerMACs + s.FloatMACs
	if total == 0 {
		return 0
	}
	return float64(s.IntegerMACs) / float64(total)
}

// fuseQOperators marks the quantized operators of the QOperator format
// (registry entries with a qkind) as steps of that kind: QLinearConv and
// QLinearMatMul as integer steps, so that Stats counts their
// multiply-accumulates as integer ones, and the com.microsoft ones
// (QLinearAdd, QLinearGlobalAveragePool) as 8-bit steps.
func (c *compiler) fuseQOperators() error {
	for _, n := range c.g.Nodes {
		if c.gone[n] {
			continue
		}
		e := lookup(n)
		if e == nil || e.qkind == kindFloat {
			continue
		}
		run, err := buildOp(n, c.opset)
		if err != nil {
			return err
		}
		st := step{label: n.Label(), op: n.OpType, kind: e.qkind, run: run, macs: e.macs}
		c.fused = append(c.fused, fusedStep{at: n, step: st, ins: n.Inputs, outs: n.Outputs})
	}
	return nil
}

// fuseOps matches the element-wise and pooling patterns that run on 8-bit
// values besides Conv/Gemm/MatMul:
//
//	DequantizeLinear(a), DequantizeLinear(b) → Add [→ Relu] → QuantizeLinear
//
// with per-tensor parameters and a and b of the same shape, computed as ONNX
// Runtime's QLinearAdd does on x86-64 with AVX2 (MLAS's AVX2 kernel,
// kernels.QAdd), with float32 fused multiply-adds (one rounding each),
// ra = sa/sc, rb = sb/sc:
//
//	fixed = zc − fma(ra, za, rb·zb)
//	y     = sat(round_half_even(fma(a, ra, fma(b, rb, fixed))))
//
// saturated to the output type (a fused Relu clamps at zc). (MLAS's ARM
// kernels use a fixed-point form instead and can differ by one step on
// values within rounding error of a half-way point.)
func (c *compiler) fuseOps(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node, single func(string) bool) (*fusedStep, []*graph.Node) {
	nodes := []*graph.Node{q}
	relu := false
	if src.OpType == "Relu" && isDefaultDomain(src.Domain) {
		add := prod[src.Input(0)]
		if add == nil || !single(src.Input(0)) || c.gone[add] {
			return nil, nil
		}
		nodes = append(nodes, src)
		src, relu = add, true
	}
	if !relu {
		if f, n := c.fuseGlobalAveragePool(q, src, qp, qdt, prod, single); f != nil {
			return f, n
		}
		if f, n := c.fuseAveragePool(q, src, qp, qdt, prod); f != nil {
			return f, n
		}
	}
	if src.OpType != "Add" || !isDefaultDomain(src.Domain) || len(src.Inputs) != 2 {
		return nil, nil
	}
	da, db := dqInput(src.Input(0), prod), dqInput(src.Input(1), prod)
	if da == nil || db == nil {
		return nil, nil
	}
	pa, ta, ok1 := c.params8(da, prod)
	pb, tb, ok2 := c.params8(db, prod)
	if !ok1 || !ok2 || ta != qdt || tb != qdt {
		return nil, nil
	}
	lo, hi := qbounds(qdt)
	if relu {
		lo = max(lo, qp.ZeroPoint)
	}
	add := kernels.NewQAdd(pa, pb, qp, lo, hi, qdt == tensor.Int8)
	runA := allocKernel(func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		a, b := in[0], in[1]
		if a.DType != qdt || b.DType != qdt || !a.Shape.Equal(b.Shape) {
			return nil, fmt.Errorf("quantized Add wants two %v tensors of one shape, have %v%v and %v%v", qdt, a.DType, a.Shape, b.DType, b.Shape)
		}
		y := allocTensor(al, qdt, a.Shape)
		add.Apply(bytesOf(y), bytesOf(a), bytesOf(b))
		return []*tensor.Tensor{y}, nil
	})
	nodes = append(nodes, src)
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: runA.heap(), runA: runA, fresh: true}
	return &fusedStep{at: q, step: st, ins: []string{da.Input(0), db.Input(0)}, outs: []string{q.Outputs[0]}}, nodes
}

// bytesOf views the elements of an 8-bit tensor as bytes.
func bytesOf(t *tensor.Tensor) []byte {
	if t.DType == tensor.Int8 {
		if len(t.I8) == 0 {
			return nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&t.I8[0])), len(t.I8))
	}
	return t.U8
}

// qaddTableMin is the output size from which qadd looks broadcast
// operands up in the 64K table of q (built once) rather than evaluating
// q.At per element.
const qaddTableMin = 1 << 16

// qadd applies q to the 8-bit tensors a and b (both of a's type) into a
// new tensor of shape; ia and ib map output elements to input elements
// (nil: the same index).
func qadd(a, b *tensor.Tensor, shape tensor.Shape, ia, ib []int, q *kernels.QAdd) *tensor.Tensor {
	y := tensor.New(a.DType, shape)
	ab, bb, yb := bytesOf(a), bytesOf(b), bytesOf(y)
	if ia == nil && ib == nil {
		q.Apply(yb, ab, bb)
		return y
	}
	at := func(idx []int, i int) int {
		if idx == nil {
			return i
		}
		return idx[i]
	}
	if len(yb) >= qaddTableMin {
		tab := q.Table()
		for i := range yb {
			yb[i] = tab[int(ab[at(ia, i)])<<8|int(bb[at(ib, i)])]
		}
		return y
	}
	for i := range yb {
		j, k := at(ia, i), at(ib, i)
		if a.DType == tensor.Int8 {
			yb[i] = byte(q.At(int32(a.I8[j]), int32(b.I8[k])))
		} else {
			yb[i] = byte(q.At(int32(a.U8[j]), int32(b.U8[k])))
		}
	}
	return y
}

// qgap is ONNX Runtime's QLinearGlobalAveragePool (MLAS) on an 8-bit NCHW
// tensor: per channel an exact int32 sum of the n = H·W values, then
//
//	y = sat(round_half_even(float32(sum − zx·n) × (sx / (sy·n))) + zy)
//
// The output has shape [N, C, 1, ...] ([N, C] when flat).
func qgap(x *tensor.Tensor, xp, yp qmath.Params, flat bool) *tensor.Tensor {
	lo, hi := qbounds(x.DType)
	nc := x.Shape[0] * x.Shape[1]
	n := x.Shape[2:].Size()
	shape := tensor.Shape{x.Shape[0], x.Shape[1]}
	if !flat {
		shape = x.Shape.Clone()
		for i := 2; i < len(shape); i++ {
			shape[i] = 1
		}
	}
	scale := xp.Scale / (yp.Scale * float32(n))
	y := tensor.New(x.DType, shape)
	for ch := 0; ch < nc; ch++ {
		var sum int32
		if x.DType == tensor.Int8 {
			for _, v := range x.I8[ch*n : (ch+1)*n] {
				sum += int32(v)
			}
		} else {
			for _, v := range x.U8[ch*n : (ch+1)*n] {
				sum += int32(v)
			}
		}
		v := qmath.Requantize(sum-xp.ZeroPoint*int32(n), scale, yp.ZeroPoint, lo, hi)
		if x.DType == tensor.Int8 {
			y.I8[ch] = int8(v)
		} else {
			y.U8[ch] = uint8(v)
		}
	}
	return y
}

// fuseGlobalAveragePool matches DequantizeLinear → GlobalAveragePool
// [→ Flatten] → QuantizeLinear with per-tensor parameters of one type and
// computes it as ONNX Runtime's QLinearGlobalAveragePool (MLAS): per
// channel an exact int32 sum of the n = H·W values, then
//
//	y = sat(round_half_even(float32(sum − zx·n) × (sx / (sy·n))) + zy)
//
// (ONNX Runtime moves the QuantizeLinear in front of the Flatten.)
func (c *compiler) fuseGlobalAveragePool(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node, single func(string) bool) (*fusedStep, []*graph.Node) {
	nodes := []*graph.Node{q}
	var flatten *graph.Node
	if src.OpType == "Flatten" && isDefaultDomain(src.Domain) && src.AttrInt("axis", 1) == 1 {
		gap := prod[src.Input(0)]
		if gap == nil || !single(src.Input(0)) || c.gone[gap] {
			return nil, nil
		}
		flatten, src = src, gap
		nodes = append(nodes, flatten)
	}
	if src.OpType != "GlobalAveragePool" || !isDefaultDomain(src.Domain) {
		return nil, nil
	}
	d := dqInput(src.Input(0), prod)
	if d == nil {
		return nil, nil
	}
	xp, xdt, ok := c.params8(d, prod)
	if !ok || xdt != qdt {
		return nil, nil
	}
	run := func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if x.DType != qdt || len(x.Shape) < 3 {
			return nil, fmt.Errorf("quantized GlobalAveragePool wants a %v tensor of rank >= 3, have %v%v", qdt, x.DType, x.Shape)
		}
		return []*tensor.Tensor{qgap(x, xp, qp, flatten != nil)}, nil
	}
	nodes = append(nodes, src)
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: run}
	return &fusedStep{at: q, step: st, ins: []string{d.Input(0)}, outs: []string{q.Outputs[0]}}, nodes
}

// fuseAveragePool matches DequantizeLinear → AveragePool → QuantizeLinear
// with per-tensor parameters and runs it on the 8-bit values with the
// float32 arithmetic of the three operators (kernels.AveragePoolQDQWith),
// so the result is the same as unfused, without the float tensors.
func (c *compiler) fuseAveragePool(q, src *graph.Node, qp qmath.Params, qdt tensor.DType, prod map[string]*graph.Node) (*fusedStep, []*graph.Node) {
	if src.OpType != "AveragePool" || !isDefaultDomain(src.Domain) || len(src.Outputs) != 1 {
		return nil, nil
	}
	d := dqInput(src.Input(0), prod)
	if d == nil {
		return nil, nil
	}
	xp, xdt, ok := c.params8(d, prod)
	if !ok {
		return nil, nil
	}
	p := kernels.PoolParams{ConvParams: convParams(src), CountIncludePad: src.AttrInt("count_include_pad", 0) != 0}
	if len(p.KernelShape) == 0 {
		return nil, nil
	}
	runA := allocKernel(func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error) {
		x := in[0]
		if x.DType != xdt {
			return nil, fmt.Errorf("quantized AveragePool wants a %v tensor, have %v", xdt, x.DType)
		}
		if len(x.Shape) <= 4 {
			return one(kernels.AveragePoolQDQWith(a, x, xp, p, qp, qdt))
		}
		// 3-D pooling: the three operators one after the other.
		sx, zx := scalarParams(xp, xdt)
		sy, zy := scalarParams(qp, qdt)
		f, err := kernels.DequantizeLinear(x, sx, zx, 1)
		if err == nil {
			f, err = kernels.AveragePool(f, p)
		}
		if err != nil {
			return nil, err
		}
		return one(kernels.QuantizeLinear(f, sy, zy, 1))
	})
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: runA.heap(), runA: runA, fresh: true}
	return &fusedStep{at: q, step: st, ins: []string{d.Input(0)}, outs: []string{q.Outputs[0]}}, []*graph.Node{q, src}
}

// scalarParams returns the scale and zero-point tensors of per-tensor
// parameters of an 8-bit type dt.
func scalarParams(p qmath.Params, dt tensor.DType) (scale, zeroPoint *tensor.Tensor) {
	scale = tensor.FromFloat32(tensor.Shape{}, []float32{p.Scale})
	zeroPoint = tensor.New(dt, tensor.Shape{})
	if dt == tensor.Int8 {
		zeroPoint.I8[0] = int8(p.ZeroPoint)
	} else {
		zeroPoint.U8[0] = uint8(p.ZeroPoint)
	}
	return scale, zeroPoint
}
