package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// ReduceOp is a reduction of ONNX's Reduce* family.
type ReduceOp int

// Supported reductions.
const (
	ReduceSum ReduceOp = iota
	ReduceMean
	ReduceMax
	ReduceMin
	ReduceProd
	ReduceSumSquare
	ReduceL1
	ReduceL2
	ReduceLogSum
	ReduceLogSumExp
)

// reduceAxes marks the reduced axes; an empty list reduces all of them
// unless noop is set.
func reduceAxes(rank int, axes []int64, noop bool) ([]bool, error) {
	red := make([]bool, rank)
	if len(axes) == 0 {
		if !noop {
			for i := range red {
				red[i] = true
			}
		}
		return red, nil
	}
	for _, a := range axes {
		ax, err := normAxis(int(a), rank)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	return red, nil
}

// Reduce reduces x over axes (all axes when empty, unless noopEmpty). The
// sums are formed in float64 and rounded to x's type. keepdims keeps the
// reduced axes with size 1.
func Reduce(op ReduceOp, x *tensor.Tensor, axes []int64, keepdims, noopEmpty bool) (*tensor.Tensor, error) {
	r := len(x.Shape)
	red, err := reduceAxes(r, axes, noopEmpty)
	if err != nil {
		return nil, err
	}
	var outKeep, out tensor.Shape
	outKeep = make(tensor.Shape, r)
	for i, d := range x.Shape {
		if red[i] {
			outKeep[i] = 1
		} else {
			outKeep[i] = d
			out = append(out, d)
		}
	}
	if keepdims {
		out = outKeep
	}
	if out == nil {
		out = tensor.Shape{}
	}
	n := outKeep.Size()
	acc := make([]float64, n)
	cnt := 1
	for i, d := range x.Shape {
		if red[i] {
			cnt *= d
		}
	}
	init := 0.0
	switch op {
	case ReduceMax:
		init = math.Inf(-1)
	case ReduceMin:
		init = math.Inf(1)
	case ReduceProd:
		init = 1
	}
	for i := range acc {
		acc[i] = init
	}
	var maxes []float64
	if op == ReduceLogSumExp {
		// Subtract the maximum first for stability.
		m, err := Reduce(ReduceMax, x, axes, true, noopEmpty)
		if err != nil {
			return nil, err
		}
		maxes = Float64s(m)
	}
	if x.Len() > 0 {
		// Map every input element to its output element.
		idx, err := reduceIndex(x.Shape, outKeep)
		if err != nil {
			return nil, err
		}
		vals := Float64s(x)
		for i, v := range vals {
			o := idx[i]
			switch op {
			case ReduceSum, ReduceMean:
				acc[o] += v
			case ReduceMax:
				if v > acc[o] || v != v {
					acc[o] = v
				}
			case ReduceMin:
				if v < acc[o] || v != v {
					acc[o] = v
				}
			case ReduceProd:
				acc[o] *= v
			case ReduceSumSquare, ReduceL2:
				acc[o] += v * v
			case ReduceL1:
				acc[o] += math.Abs(v)
			case ReduceLogSum:
				acc[o] += v
			case ReduceLogSumExp:
				acc[o] += math.Exp(v - maxes[o])
			}
		}
	}
	for i := range acc {
		switch op {
		case ReduceMean:
			acc[i] /= float64(cnt)
		case ReduceL2:
			acc[i] = math.Sqrt(acc[i])
		case ReduceLogSum:
			acc[i] = math.Log(acc[i])
		case ReduceLogSumExp:
			acc[i] = math.Log(acc[i]) + maxes[i]
		}
	}
	y := tensor.New(x.DType, out)
	for i, v := range acc {
		SetFloat64(y, i, v)
	}
	return y, nil
}

// reduceIndex maps every element of shape in to its element in the reduced
// shape out (same rank, reduced axes of size 1).
func reduceIndex(in, out tensor.Shape) ([]int, error) {
	st := out.Strides()
	for i := range st {
		if out[i] == 1 {
			st[i] = 0
		}
	}
	r := len(in)
	idx := make([]int, in.Size())
	pos := make([]int, r)
	off := 0
	for i := range idx {
		idx[i] = off
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			off += st[d]
			if pos[d] < in[d] {
				break
			}
			off -= st[d] * in[d]
			pos[d] = 0
		}
	}
	return idx, nil
}

// ArgMax (or ArgMin with min) returns the int64 index of the extreme value
// along axis; ties take the first index, or the last with selectLast.
func ArgMax(x *tensor.Tensor, axis int, keepdims, selectLast, min bool) (*tensor.Tensor, error) {
	r := len(x.Shape)
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	outer := x.Shape[:ax].Size()
	n := x.Shape[ax]
	inner := x.Shape[ax+1:].Size()
	var out tensor.Shape
	for i, d := range x.Shape {
		if i == ax {
			if keepdims {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = tensor.Shape{}
	}
	y := tensor.New(tensor.Int64, out)
	if n == 0 {
		if y.Len() > 0 {
			return nil, fmt.Errorf("ArgMax over an empty axis")
		}
		return y, nil
	}
	vals := Float64s(x)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			best := 0
			bv := vals[base]
			for i := 1; i < n; i++ {
				v := vals[base+i*inner]
				better := v > bv
				if min {
					better = v < bv
				}
				if better || (selectLast && v == bv) {
					best, bv = i, v
				}
			}
			y.I64[o*inner+in] = int64(best)
		}
	}
	return y, nil
}

// Hardmax sets the first maximum along axis to 1 and everything else to 0.
func Hardmax(x *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("Hardmax: unsupported type %v", x.DType)
	}
	am, err := ArgMax(x, axis, true, false, false)
	if err != nil {
		return nil, err
	}
	ax, _ := normAxis(axis, len(x.Shape))
	n := x.Shape[ax]
	inner := x.Shape[ax+1:].Size()
	y := tensor.New(tensor.Float32, x.Shape)
	for i, v := range am.I64 {
		o, in := i/inner, i%inner
		y.F32[o*n*inner+int(v)*inner+in] = 1
	}
	return y, nil
}
