package infer

import (
	"fmt"
	"math"

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
// multiply-accumulates as integer ones.
func (c *compiler) fuseQOperators() error {
	for _, n := range c.g.Nodes {
		if c.gone[n] || !isDefaultDomain(n.Domain) {
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
// Runtime's QLinearAdd does on x86 (MLAS): in float32,
//
//	y = round_half_even((zc − (ra·za + rb·zb)) + a·ra + b·rb), ra = sa/sc, rb = sb/sc
//
// saturated to the output type (a fused Relu clamps at zc), or, when the
// ratios allow it (see qaddFixedPoint), in fixed point as MLAS's vector
// kernels do:
//
//	acc = (a − za)·MA + (b − zb)·MB     (int32)
//	y   = sat16(sat16(acc ≫ shift, halves away from zero) + zc)
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
	ra := pa.Scale / qp.Scale
	rb := pb.Scale / qp.Scale
	fixed := float32(qp.ZeroPoint) - (ra*float32(pa.ZeroPoint) + rb*float32(pb.ZeroPoint))
	lo, hi := qbounds(qdt)
	if relu {
		lo = max(lo, qp.ZeroPoint)
	}
	add := func(av, bv int32) int32 {
		return int32(qmath.RoundHalfEven((fixed + float32(av)*ra) + float32(bv)*rb))
	}
	if shift, ma, mb, ok := qaddFixedPoint(ra, rb); ok {
		za, zb, zc := pa.ZeroPoint, pb.ZeroPoint, qp.ZeroPoint
		add = func(av, bv int32) int32 {
			acc := (av-za)*ma + (bv-zb)*mb
			if acc < 0 {
				acc-- // halves round away from zero
			}
			v := (acc + 1<<(shift-1)) >> shift
			v = max(min(v, math.MaxInt16), math.MinInt16)
			return max(min(v+zc, math.MaxInt16), math.MinInt16)
		}
	}
	run := func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		a, b := in[0], in[1]
		if a.DType != qdt || b.DType != qdt || !a.Shape.Equal(b.Shape) {
			return nil, fmt.Errorf("quantized Add wants two %v tensors of one shape, have %v%v and %v%v", qdt, a.DType, a.Shape, b.DType, b.Shape)
		}
		y := tensor.New(qdt, a.Shape)
		for i := 0; i < a.Len(); i++ {
			var av, bv int32
			if qdt == tensor.Int8 {
				av, bv = int32(a.I8[i]), int32(b.I8[i])
			} else {
				av, bv = int32(a.U8[i]), int32(b.U8[i])
			}
			v := qmath.Saturate(add(av, bv), lo, hi)
			if qdt == tensor.Int8 {
				y.I8[i] = int8(v)
			} else {
				y.U8[i] = uint8(v)
			}
		}
		return []*tensor.Tensor{y}, nil
	}
	nodes = append(nodes, src)
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: run}
	return &fusedStep{at: q, step: st, ins: []string{da.Input(0), db.Input(0)}, outs: []string{q.Outputs[0]}}, nodes
}

// qaddFixedPoint returns MLAS's fixed-point form of a quantized Add with
// scale ratios ra and rb: multipliers with 22 significant bits for the
// greater ratio and a right shift in [13, 31]; ok is false when the ratios
// are out of the range where MLAS uses it.
func qaddFixedPoint(ra, rb float32) (shift, ma, mb int32, ok bool) {
	const minRatio, maxRatio = 1.0 / 16384, 256
	if ra < minRatio || ra >= maxRatio || rb < minRatio || rb >= maxRatio {
		return 0, 0, 0, false
	}
	exp := int32(math.Float32bits(max(ra, rb))>>23) - 127
	shift = 21 - exp
	if shift > 31 || shift < 13 {
		return 0, 0, 0, false
	}
	f := math.Float32frombits(uint32(shift+127) << 23) // 2^shift
	ma = int32(math.RoundToEven(float64(ra * f)))
	mb = int32(math.RoundToEven(float64(rb * f)))
	ok = ma < 1<<22 && mb < 1<<22 && (ma >= 1<<21 || mb >= 1<<21)
	return shift, ma, mb, ok
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
	lo, hi := qbounds(qdt)
	run := func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if x.DType != qdt || len(x.Shape) < 3 {
			return nil, fmt.Errorf("quantized GlobalAveragePool wants a %v tensor of rank >= 3, have %v%v", qdt, x.DType, x.Shape)
		}
		nc := x.Shape[0] * x.Shape[1]
		n := x.Shape[2:].Size()
		shape := tensor.Shape{x.Shape[0], x.Shape[1]}
		if flatten == nil {
			shape = x.Shape.Clone()
			for i := 2; i < len(shape); i++ {
				shape[i] = 1
			}
		}
		scale := xp.Scale / (qp.Scale * float32(n))
		y := tensor.New(qdt, shape)
		for ch := 0; ch < nc; ch++ {
			var sum int32
			if qdt == tensor.Int8 {
				for _, v := range x.I8[ch*n : (ch+1)*n] {
					sum += int32(v)
				}
			} else {
				for _, v := range x.U8[ch*n : (ch+1)*n] {
					sum += int32(v)
				}
			}
			v := qmath.Requantize(sum-xp.ZeroPoint*int32(n), scale, qp.ZeroPoint, lo, hi)
			if qdt == tensor.Int8 {
				y.I8[ch] = int8(v)
			} else {
				y.U8[ch] = uint8(v)
			}
		}
		return []*tensor.Tensor{y}, nil
	}
	nodes = append(nodes, src)
	st := step{label: src.Label() + " (8-bit)", op: src.OpType, kind: kindUint8, run: run}
	return &fusedStep{at: q, step: st, ins: []string{d.Input(0)}, outs: []string{q.Outputs[0]}}, nodes
}
