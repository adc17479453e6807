package infer

import (
	"fmt"
	"sync"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Quantization and the quantized operators of the default domain (the
// QOperator format), built on the integer kernels of package kernels, which
// agree bit for bit with ONNX Runtime's arithmetic (int32 accumulation,
// float32 requantization, round half to even).

func init() {
	register(opEntry{alloc: buildQuantizeLinear}, "QuantizeLinear", "DequantizeLinear")
	register(opEntry{build: buildDynamicQuantizeLinear}, "DynamicQuantizeLinear")
	register(opEntry{alloc: buildQLinearConv, macs: qlinearConvMACs, qkind: kindInteger}, "QLinearConv")
	register(opEntry{alloc: buildQLinearMatMul, macs: qlinearMatMulMACs, qkind: kindInteger}, "QLinearMatMul")
	register(opEntry{build: buildConvInteger}, "ConvInteger")
	register(opEntry{build: buildMatMulInteger}, "MatMulInteger")
}

// buildQuantizeLinear builds QuantizeLinear and DequantizeLinear (per
// tensor or per axis; blocked quantization is not supported).
func buildQuantizeLinear(n *graph.Node, _ int64) (allocKernel, error) {
	axis := int(n.AttrInt("axis", 1))
	if n.AttrInt("block_size", 0) != 0 {
		return nil, unsupportedf("blocked quantization")
	}
	q := n.OpType == "QuantizeLinear"
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, s, err := need2(in, "x", "scale")
		if err != nil {
			return nil, err
		}
		if q {
			return one(kernels.QuantizeLinearWith(al, x, s, opt(in, 2), axis))
		}
		return one(kernels.DequantizeLinearWith(al, x, s, opt(in, 2), axis))
	}, nil
}

func buildDynamicQuantizeLinear(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "x")
		if err != nil {
			return nil, err
		}
		y, s, z, err := kernels.DynamicQuantizeLinear(x)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{y, s, z}, nil
	}, nil
}

func buildConvInteger(n *graph.Node, _ int64) (kernelFunc, error) {
	p := convParams(n)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w, err := need2(in, "x", "w")
		if err != nil {
			return nil, err
		}
		qp := kernels.QConvParams{ConvParams: p}
		if qp.XZeroPoint, err = zeroPointScalar(opt(in, 2), x.DType); err != nil {
			return nil, err
		}
		if qp.WZeroPoint, err = zeroPointVector(opt(in, 3), w.DType); err != nil {
			return nil, err
		}
		return one(kernels.ConvInteger(x, w, qp))
	}, nil
}

func buildMatMulInteger(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		a, b, err := need2(in, "A", "B")
		if err != nil {
			return nil, err
		}
		var p kernels.QGemmParams
		if p.BZeroPoint, err = zeroPointVector(opt(in, 3), b.DType); err != nil {
			return nil, err
		}
		za := opt(in, 2)
		if za != nil && za.Len() > 1 {
			return nil, fmt.Errorf("per-row A zero points are not supported")
		}
		if p.AZeroPoint, err = zeroPointScalar(za, a.DType); err != nil {
			return nil, err
		}
		return one(batchedMatMul(a, b, tensor.Int32, func(a2, b2 *tensor.Tensor) (*tensor.Tensor, error) {
			return kernels.MatMulInteger(a2, b2, p)
		}))
	}, nil
}

// qlinearConvMACs counts a QLinearConv's multiply-accumulates: one per
// output element and weight (input 3) of its group.
func qlinearConvMACs(in, out []*tensor.Tensor) int64 {
	if len(in) < 4 || in[3] == nil || len(out) == 0 || out[0] == nil {
		return 0
	}
	return int64(out[0].Len()) * int64(in[3].Shape[1:].Size())
}

// qlinearMatMulMACs counts a QLinearMatMul's multiply-accumulates: one per
// output element and inner index.
func qlinearMatMulMACs(in, out []*tensor.Tensor) int64 {
	if len(in) < 4 || in[0] == nil || len(out) == 0 || out[0] == nil || len(in[0].Shape) == 0 {
		return 0
	}
	return int64(out[0].Len()) * int64(in[0].Shape[len(in[0].Shape)-1])
}

// zeroPointScalar reads an optional one-element 8-bit zero point whose type
// must match the quantized tensor's.
func zeroPointScalar(z *tensor.Tensor, dt tensor.DType) (int32, error) {
	v, err := zeroPointVector(z, dt)
	if err != nil || v == nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want a scalar zero point, have shape %v", z.Shape)
	}
	return v[0], nil
}

func zeroPointVector(z *tensor.Tensor, dt tensor.DType) ([]int32, error) {
	if z == nil {
		return nil, nil
	}
	if z.DType != dt {
		return nil, fmt.Errorf("zero point type %v differs from its tensor's type %v", z.DType, dt)
	}
	v, err := z.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out, nil
}

func scales(t *tensor.Tensor, what string) ([]float32, error) {
	if t == nil || t.DType != tensor.Float32 || t.Len() == 0 {
		return nil, fmt.Errorf("%s must be a non-empty float32 tensor", what)
	}
	return t.F32, nil
}

// qparams gathers the output zero point and type of a QLinear op: the
// output type is the zero point's (uint8 when absent).
func outParams(yz *tensor.Tensor) (zp int32, signed bool, err error) {
	if yz == nil {
		return 0, false, nil
	}
	if yz.DType != tensor.Uint8 && yz.DType != tensor.Int8 {
		return 0, false, fmt.Errorf("unsupported output type %v", yz.DType)
	}
	zp, err = zeroPointScalar(yz, yz.DType)
	return zp, yz.DType == tensor.Int8, err
}

// multipliers returns RequantizeScale(sx, sw[i], sy) for every weight scale.
func multipliers(sx float32, sw []float32, sy float32) []float32 {
	m := make([]float32, len(sw))
	for i, s := range sw {
		m[i] = qmath.RequantizeScale(sx, s, sy)
	}
	return m
}

// planCache remembers the plan built for the last weight, scale and zero
// point tensors (by identity: constants are the same tensors every run).
type planCache[P any] struct {
	mu   sync.Mutex
	key  [8]*tensor.Tensor
	vals [4]float32
	plan P
	ok   bool
}

func (c *planCache[P]) get(key [8]*tensor.Tensor, vals [4]float32, build func() (P, error)) (P, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.key == key && c.vals == vals {
		return c.plan, nil
	}
	p, err := build()
	if err != nil {
		return p, err
	}
	c.key, c.vals, c.plan, c.ok = key, vals, p, true
	return p, nil
}

// buildQLinearConv returns the QLinearConv kernel, its output taken from
// the Run's arena.
func buildQLinearConv(n *graph.Node, _ int64) (allocKernel, error) {
	cp := convParams(n)
	var cache planCache[*kernels.QConvPlan]
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "x")
		if err != nil {
			return nil, err
		}
		w, err := need(in, 3, "w")
		if err != nil {
			return nil, err
		}
		sx, err := scales(opt(in, 1), "x_scale")
		if err != nil {
			return nil, err
		}
		sw, err := scales(opt(in, 4), "w_scale")
		if err != nil {
			return nil, err
		}
		sy, err := scales(opt(in, 6), "y_scale")
		if err != nil {
			return nil, err
		}
		b := opt(in, 8)
		if b != nil && b.DType != tensor.Int32 {
			return nil, fmt.Errorf("bias must be int32, have %v", b.DType)
		}
		key := [8]*tensor.Tensor{w, opt(in, 4), opt(in, 5), b, opt(in, 2), opt(in, 7)}
		vals := [4]float32{sx[0], sy[0], float32(x.DType)}
		plan, err := cache.get(key, vals, func() (*kernels.QConvPlan, error) {
			p := kernels.QConvParams{ConvParams: cp}
			var err error
			if p.XZeroPoint, err = zeroPointScalar(opt(in, 2), x.DType); err != nil {
				return nil, err
			}
			if p.WZeroPoint, err = zeroPointVector(opt(in, 5), w.DType); err != nil {
				return nil, err
			}
			if p.ZeroPoint, p.Signed, err = outParams(opt(in, 7)); err != nil {
				return nil, err
			}
			p.Multiplier = multipliers(sx[0], sw, sy[0])
			var bias []int32
			if b != nil {
				bias = b.I32
			}
			return kernels.NewQConvPlan(w, bias, p)
		})
		if err != nil {
			return nil, err
		}
		return one(plan.RunWith(al, x))
	}, nil
}

// buildQLinearMatMul returns the QLinearMatMul kernel; with a 2-D B (a
// weight) its output is taken from the arena.
func buildQLinearMatMul(*graph.Node, int64) (allocKernel, error) {
	var cache planCache[*kernels.QGemmPlan]
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		a, err := need(in, 0, "a")
		if err != nil {
			return nil, err
		}
		b, err := need(in, 3, "b")
		if err != nil {
			return nil, err
		}
		sa, err := scales(opt(in, 1), "a_scale")
		if err != nil {
			return nil, err
		}
		sb, err := scales(opt(in, 4), "b_scale")
		if err != nil {
			return nil, err
		}
		sy, err := scales(opt(in, 6), "y_scale")
		if err != nil {
			return nil, err
		}
		if len(sa) != 1 || len(sy) != 1 {
			return nil, fmt.Errorf("per-row A or output scales are not supported")
		}
		p := kernels.QGemmParams{}
		if p.AZeroPoint, err = zeroPointScalar(opt(in, 2), a.DType); err != nil {
			return nil, err
		}
		if p.BZeroPoint, err = zeroPointVector(opt(in, 5), b.DType); err != nil {
			return nil, err
		}
		if p.ZeroPoint, p.Signed, err = outParams(opt(in, 7)); err != nil {
			return nil, err
		}
		p.Multiplier = multipliers(sa[0], sb, sy[0])
		out := tensor.Uint8
		if p.Signed {
			out = tensor.Int8
		}
		if len(b.Shape) == 2 {
			key := [8]*tensor.Tensor{b, opt(in, 4), opt(in, 5), opt(in, 2), opt(in, 7)}
			plan, err := cache.get(key, [4]float32{sa[0], sy[0]}, func() (*kernels.QGemmPlan, error) {
				return kernels.NewQGemmPlan(b, false, nil, p)
			})
			if err != nil {
				return nil, err
			}
			return one(plan.RunWith(al, a))
		}
		return one(batchedMatMul(a, b, out, func(a2, b2 *tensor.Tensor) (*tensor.Tensor, error) {
			return kernels.QMatMul(a2, b2, false, nil, p)
		}))
	}, nil
}

// view returns a tensor sharing the elements [off, off+shape.Size()) of t.
func view(t *tensor.Tensor, off int, shape tensor.Shape) *tensor.Tensor {
	n := shape.Size()
	v := &tensor.Tensor{DType: t.DType, Shape: shape}
	switch t.DType {
	case tensor.Uint8:
		v.U8 = t.U8[off : off+n]
	case tensor.Int8:
		v.I8 = t.I8[off : off+n]
	case tensor.Int32:
		v.I32 = t.I32[off : off+n]
	}
	return v
}

// batchedMatMul applies a 2-D integer product with numpy matmul semantics:
// 1-D operands are promoted (and the added dimension removed), leading
// dimensions broadcast. A 2-D B is handed over whole (A's leading
// dimensions are flattened by the kernel).
func batchedMatMul(a, b *tensor.Tensor, out tensor.DType, mm func(a2, b2 *tensor.Tensor) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, fmt.Errorf("matmul of a scalar")
	}
	if len(b.Shape) == 1 {
		y, err := batchedMatMul(a, view(b, 0, tensor.Shape{b.Shape[0], 1}), out, mm)
		if err != nil {
			return nil, err
		}
		return view(y, 0, y.Shape[:len(y.Shape)-1]), nil
	}
	if len(b.Shape) == 2 {
		return mm(a, b)
	}
	if len(a.Shape) == 1 {
		y, err := batchedMatMul(view(a, 0, tensor.Shape{1, a.Shape[0]}), b, out, mm)
		if err != nil {
			return nil, err
		}
		s := append(y.Shape[:len(y.Shape)-2].Clone(), y.Shape[len(y.Shape)-1])
		return view(y, 0, s), nil
	}
	ra, rb := len(a.Shape), len(b.Shape)
	M, K, N := a.Shape[ra-2], a.Shape[ra-1], b.Shape[rb-1]
	if b.Shape[rb-2] != K {
		return nil, fmt.Errorf("inner dimensions of %v and %v differ", a.Shape, b.Shape)
	}
	r := max(ra, rb) - 2
	batch := make(tensor.Shape, r)
	da, db := make([]int, r), make([]int, r)
	for i := 0; i < r; i++ {
		da[i], db[i] = 1, 1
		if j := i - (r - (ra - 2)); j >= 0 {
			da[i] = a.Shape[j]
		}
		if j := i - (r - (rb - 2)); j >= 0 {
			db[i] = b.Shape[j]
		}
		switch {
		case da[i] == db[i] || db[i] == 1:
			batch[i] = da[i]
		case da[i] == 1:
			batch[i] = db[i]
		default:
			return nil, fmt.Errorf("batch dimensions of %v and %v do not broadcast", a.Shape, b.Shape)
		}
	}
	y := tensor.New(out, append(batch.Clone(), M, N))
	nb := batch.Size()
	for bi := 0; bi < nb; bi++ {
		ia, ib, rem := 0, 0, bi
		sa, sb := 1, 1
		for i := r - 1; i >= 0; i-- {
			idx := rem % batch[i]
			rem /= batch[i]
			if da[i] != 1 {
				ia += idx * sa
			}
			if db[i] != 1 {
				ib += idx * sb
			}
			sa *= da[i]
			sb *= db[i]
		}
		yi, err := mm(view(a, ia*M*K, tensor.Shape{M, K}), view(b, ib*K*N, tensor.Shape{K, N}))
		if err != nil {
			return nil, err
		}
		switch out {
		case tensor.Uint8:
			copy(y.U8[bi*M*N:], yi.U8)
		case tensor.Int8:
			copy(y.I8[bi*M*N:], yi.I8)
		case tensor.Int32:
			copy(y.I32[bi*M*N:], yi.I32)
		}
	}
	return y, nil
}
