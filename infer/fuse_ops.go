package infer

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/eightbitml/eightbit/graph"
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
// (QLinearConv, QLinearMatMul) as integer steps, so that Stats counts their
// multiply-accumulates as integer ones, and the com.microsoft ones
// (QLinearAdd, QLinearGlobalAveragePool) as 8-bit steps.
func (c *compiler) fuseQOperators() error {
	for _, n := range c.g.Nodes {
		if c.gone[n] {
			continue
		}
		if n.Domain == msDomain && contribQuantOps[n.OpType] {
			run, err := buildOp(n, c.opset)
			if err != nil {
				return err
			}
			st := step{label: n.Label(), op: n.OpType, kind: kindUint8, run: run}
			c.fused = append(c.fused, fusedStep{at: n, step: st, ins: n.Inputs, outs: n.Outputs})
			continue
		}
		if !isDefaultDomain(n.Domain) {
			continue
		}
		var macs func(in, out []*tensor.Tensor) int64
		switch n.OpType {
		case "QLinearConv":
			macs = func(in, out []*tensor.Tensor) int64 {
				if len(in) < 4 || in[3] == nil || len(out) == 0 || out[0] == nil {
					return 0
				}
				return int64(out[0].Len()) * int64(in[3].Shape[1:].Size())
			}
		case "QLinearMatMul":
			macs = func(in, out []*tensor.Tensor) int64 {
				if len(in) < 4 || in[0] == nil || len(out) == 0 || out[0] == nil || len(in[0].Shape) == 0 {
					return 0
				}
				return int64(out[0].Len()) * int64(in[0].Shape[len(in[0].Shape)-1])
			}
		default:
			continue
		}
		run, err := buildOp(n, c.opset)
		if err != nil {
			return err
		}
		st := step{label: n.Label(), op: n.OpType, kind: kindInteger, run: run, macs: macs}
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
// Runtime's QLinearAdd does on x86-64 with AVX2 (MLAS's AVX2 kernel), with
// float32 fused multiply-adds (one rounding each), ra = sa/sc, rb = sb/sc:
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
	tab := qaddTable(qaddFunc(pa, pb, qp, lo, hi), qdt)
	run := func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		a, b := in[0], in[1]
		if a.DType != qdt || b.DType != qdt || !a.Shape.Equal(b.Shape) {
			return nil, fmt.Errorf("quantized Add wants two %v tensors of one shape, have %v%v and %v%v", qdt, a.DType, a.Shape, b.DType, b.Shape)
		}
		return []*tensor.Tensor{qaddLookup(a, b, a.Shape, nil, nil, tab)}, nil
	}
	nodes = append(nodes, src)
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: run}
	return &fusedStep{at: q, step: st, ins: []string{da.Input(0), db.Input(0)}, outs: []string{q.Outputs[0]}}, nodes
}

// fma32 returns x·y + z rounded once to float32, as a float32 fused
// multiply-add does, for x with at most 29 significant bits (an 8-bit value
// or zero point), so that the product is exact in float64.
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y) // exact
	s := p + float64(z)
	// s is p + z rounded to float64; rounding it again to float32 is
	// correct unless that rounding was inexact and s lies exactly half-way
	// between two float32 values: then move s off the half-way point
	// towards the exact sum.
	bv := s - p
	e := (p - (s - bv)) + (float64(z) - bv) // exact error of s (TwoSum)
	if e != 0 {
		r := float64(float32(s))
		if r != s {
			lo, hi := r, r
			if r < s {
				hi = float64(math.Nextafter32(float32(r), float32(math.Inf(1))))
			} else {
				lo = float64(math.Nextafter32(float32(r), float32(math.Inf(-1))))
			}
			if s-lo == hi-s { // half-way
				s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
			}
		}
	}
	return float32(s)
}

// qaddFunc returns the element function of a quantized Add with input
// parameters pa, pb and output parameters pc, saturating to [lo, hi]: MLAS's
// AVX2 arithmetic (see fuseOps).
func qaddFunc(pa, pb, pc qmath.Params, lo, hi int32) func(av, bv int32) int32 {
	ra := pa.Scale / pc.Scale
	rb := pb.Scale / pc.Scale
	fixed := float32(pc.ZeroPoint) - fma32(ra, float32(pa.ZeroPoint), rb*float32(pb.ZeroPoint))
	return func(av, bv int32) int32 {
		v := int32(qmath.RoundHalfEven(fma32(float32(av), ra, fma32(float32(bv), rb, fixed))))
		return qmath.Saturate(v, lo, hi)
	}
}

// qaddTable tabulates add over every pair of 8-bit inputs of type dt: entry
// ua<<8 | ub is the output byte for the input bytes ua and ub (int8 values
// as their two's-complement bytes). The table is add itself, so a lookup
// gives exactly what add computes, at a byte load per element instead of
// two emulated fused multiply-adds.
func qaddTable(add func(av, bv int32) int32, dt tensor.DType) *[1 << 16]uint8 {
	var t [1 << 16]uint8
	for ua := 0; ua < 256; ua++ {
		for ub := 0; ub < 256; ub++ {
			av, bv := int32(ua), int32(ub)
			if dt == tensor.Int8 {
				av, bv = int32(int8(ua)), int32(int8(ub))
			}
			t[ua<<8|ub] = uint8(add(av, bv))
		}
	}
	return &t
}

// qaddLookup is qadd through a table from qaddTable.
func qaddLookup(a, b *tensor.Tensor, shape tensor.Shape, ia, ib []int, tab *[1 << 16]uint8) *tensor.Tensor {
	y := tensor.New(a.DType, shape)
	ab, bb, yb := bytesOf(a), bytesOf(b), bytesOf(y)
	if ia == nil && ib == nil {
		ab, bb = ab[:len(yb)], bb[:len(yb)]
		for i := range yb {
			yb[i] = tab[int(ab[i])<<8|int(bb[i])]
		}
		return y
	}
	for i := range yb {
		j, k := i, i
		if ia != nil {
			j = ia[i]
		}
		if ib != nil {
			k = ib[i]
		}
		yb[i] = tab[int(ab[j])<<8|int(bb[k])]
	}
	return y
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

// qaddTableMin is the output size from which qadd tabulates add first
// (65,536 evaluations) rather than evaluating it per element.
const qaddTableMin = 1 << 16

// qadd applies add to the 8-bit tensors a and b (both of a's type) into a
// new tensor of shape; ia and ib map output elements to input elements
// (nil: the same index).
func qadd(a, b *tensor.Tensor, shape tensor.Shape, ia, ib []int, add func(av, bv int32) int32) *tensor.Tensor {
	if shape.Size() >= qaddTableMin {
		return qaddLookup(a, b, shape, ia, ib, qaddTable(add, a.DType))
	}
	y := tensor.New(a.DType, shape)
	at := func(idx []int, i int) int {
		if idx == nil {
			return i
		}
		return idx[i]
	}
	for i := 0; i < y.Len(); i++ {
		j, k := at(ia, i), at(ib, i)
		if a.DType == tensor.Int8 {
			y.I8[i] = int8(add(int32(a.I8[j]), int32(b.I8[k])))
		} else {
			y.U8[i] = uint8(add(int32(a.U8[j]), int32(b.U8[k])))
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
