package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// BinaryOp is an element-wise arithmetic operator.
type BinaryOp int

// The element-wise operators of ONNX Add, Sub, Mul and Div.
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
)

func (op BinaryOp) String() string {
	return [...]string{"Add", "Sub", "Mul", "Div"}[op]
}

// BroadcastShape returns the numpy-broadcast shape of a and b.
func BroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	r := max(len(a), len(b))
	out := make(tensor.Shape, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	if err := CheckSize(out); err != nil {
		return nil, err
	}
	return out, nil
}

// broadcastStrides returns the element strides of shape s viewed in the
// broadcast shape out (0 along broadcast dimensions).
func broadcastStrides(s, out tensor.Shape) []int {
	st := make([]int, len(out))
	acc := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(s) - len(out) + i
		if j >= 0 && s[j] != 1 {
			st[i] = acc
		}
		if j >= 0 {
			acc *= s[j]
		}
	}
	return st
}

// Binary applies op element-wise with numpy broadcasting. Both inputs must
// have the same type (float32, int64, int32, uint8 or int8); integer Div
// truncates toward zero, integer overflow wraps.
func Binary(op BinaryOp, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	return BinaryWith(nil, op, a, b)
}

// BinaryWith is Binary with the output taken from al.
func BinaryWith(al Alloc, op BinaryOp, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if a.DType != b.DType {
		return nil, fmt.Errorf("%v: input types %v and %v differ", op, a.DType, b.DType)
	}
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	switch a.DType {
	case tensor.Float32, tensor.Int64, tensor.Int32, tensor.Uint8, tensor.Int8:
	default:
		return nil, fmt.Errorf("%v: unsupported type %v", op, a.DType)
	}
	y := newOut(al, a.DType, shape)
	switch a.DType {
	case tensor.Float32:
		binary(op, a.F32, a.Shape, b.F32, b.Shape, y.F32, shape)
	case tensor.Int64:
		err = checkDivZero(op, b.I64)
		binary(op, a.I64, a.Shape, b.I64, b.Shape, y.I64, shape)
	case tensor.Int32:
		err = checkDivZero(op, b.I32)
		binary(op, a.I32, a.Shape, b.I32, b.Shape, y.I32, shape)
	case tensor.Uint8:
		err = checkDivZero(op, b.U8)
		binary(op, a.U8, a.Shape, b.U8, b.Shape, y.U8, shape)
	case tensor.Int8:
		err = checkDivZero(op, b.I8)
		binary(op, a.I8, a.Shape, b.I8, b.Shape, y.I8, shape)
	default:
		return nil, fmt.Errorf("%v: unsupported type %v", op, a.DType)
	}
	if err != nil {
		return nil, err
	}
	return y, nil
}

func checkDivZero[T int64 | int32 | uint8 | int8](op BinaryOp, b []T) error {
	if op != OpDiv {
		return nil
	}
	for _, v := range b {
		if v == 0 {
			return fmt.Errorf("Div: integer division by zero")
		}
	}
	return nil
}

type number interface {
	float32 | int64 | int32 | uint8 | int8
}

func binary[T number](op BinaryOp, a []T, as tensor.Shape, b []T, bs tensor.Shape, y []T, ys tensor.Shape) {
	if len(y) == 0 {
		return
	}
	switch {
	case as.Equal(bs):
		binaryRun(op, y, a, 1, b, 1)
		return
	case len(b) == 1:
		binaryRun(op, y, a, 1, b, 0)
		return
	case len(a) == 1:
		binaryRun(op, y, a, 0, b, 1)
		return
	}
	sa := broadcastStrides(as, ys)
	sb := broadcastStrides(bs, ys)
	r := len(ys)
	inner := ys[r-1]
	ia, ib := sa[r-1], sb[r-1]
	idx := make([]int, r)
	offA, offB := 0, 0
	for o := 0; o < len(y); o += inner {
		binaryRun(op, y[o:o+inner], a[offA:], ia, b[offB:], ib)
		// Advance the multi-index over the outer dimensions.
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			offA += sa[d]
			offB += sb[d]
			if idx[d] < ys[d] {
				break
			}
			offA -= sa[d] * ys[d]
			offB -= sb[d] * ys[d]
			idx[d] = 0
		}
	}
}

// binaryRun computes y[i] = a[i*ia] op b[i*ib]; ia and ib are 0 or 1.
func binaryRun[T number](op BinaryOp, y, a []T, ia int, b []T, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(y)], b[:len(y)]
		switch op {
		case OpAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case OpSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case OpMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case OpDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
	case ia == 1 && ib == 0:
		a = a[:len(y)]
		v := b[0]
		switch op {
		case OpAdd:
			for i := range y {
				y[i] = a[i] + v
			}
		case OpSub:
			for i := range y {
				y[i] = a[i] - v
			}
		case OpMul:
			for i := range y {
				y[i] = a[i] * v
			}
		case OpDiv:
			for i := range y {
				y[i] = a[i] / v
			}
		}
	case ia == 0 && ib == 1:
		b = b[:len(y)]
		v := a[0]
		switch op {
		case OpAdd:
			for i := range y {
				y[i] = v + b[i]
			}
		case OpSub:
			for i := range y {
				y[i] = v - b[i]
			}
		case OpMul:
			for i := range y {
				y[i] = v * b[i]
			}
		case OpDiv:
			for i := range y {
				y[i] = v / b[i]
			}
		}
	default:
		var v T
		switch op {
		case OpAdd:
			v = a[0] + b[0]
		case OpSub:
			v = a[0] - b[0]
		case OpMul:
			v = a[0] * b[0]
		case OpDiv:
			v = a[0] / b[0]
		}
		for i := range y {
			y[i] = v
		}
	}
}

// Relu returns max(x, 0) element-wise (NaN stays NaN).
func Relu(x *tensor.Tensor) (*tensor.Tensor, error) { return ReluWith(nil, x) }

// ReluWith is Relu with the output taken from a.
func ReluWith(a Alloc, x *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("Relu: unsupported type %v", x.DType)
	}
	y := newOut(a, tensor.Float32, x.Shape)
	f32BiasClamp(y.F32, x.F32, nil, negZero, 0, float32(math.Inf(1)))
	return y, nil
}

// Clip clamps x to [lo, hi] element-wise (float32; NaN stays NaN).
func Clip(x *tensor.Tensor, lo, hi float32) (*tensor.Tensor, error) {
	return ClipWith(nil, x, lo, hi)
}

// ClipWith is Clip with the output taken from a.
func ClipWith(a Alloc, x *tensor.Tensor, lo, hi float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("Clip: unsupported type %v", x.DType)
	}
	y := newOut(a, tensor.Float32, x.Shape)
	f32BiasClamp(y.F32, x.F32, nil, negZero, lo, hi)
	return y, nil
}

// BatchNormWith applies inference-mode BatchNormalization to x [N,C,...]:
//
//	y = x·s + (B − mean·s),  s = scale / sqrt(var + epsilon)
//
// with s and the offset computed per channel in float32, the output taken
// from a (nil: the heap).
func BatchNormWith(a Alloc, x, scale, bias, mean, variance *tensor.Tensor, epsilon float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || len(x.Shape) < 2 {
		return nil, fmt.Errorf("BatchNormalization: want float32 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	C := x.Shape[1]
	for _, t := range []*tensor.Tensor{scale, bias, mean, variance} {
		if t.DType != tensor.Float32 || t.Len() != C {
			return nil, fmt.Errorf("BatchNormalization: parameter of shape %v, want [%d] float32", t.Shape, C)
		}
	}
	y := newOut(a, tensor.Float32, x.Shape)
	sp := x.Shape[2:].Size()
	for c := 0; c < C; c++ {
		s := scale.F32[c] / float32(math.Sqrt(float64(variance.F32[c]+epsilon)))
		off := bias.F32[c] - mean.F32[c]*s
		for n := 0; n < x.Shape[0]; n++ {
			base := (n*C + c) * sp
			src := x.F32[base : base+sp]
			dst := y.F32[base : base+sp]
			for i, v := range src {
				dst[i] = v*s + off
			}
		}
	}
	return y, nil
}

// Softmax computes exp(x − max) / Σ exp(x − max) over rows of length inner
// (log: x − max − log Σ exp(x − max)); x is viewed as [len/inner, inner]
// when stride is 1, or more generally as [outer, inner, stride] reducing
// the middle axis.
func softmax(x, y []float32, outer, n, stride int, log bool) {
	for o := 0; o < outer; o++ {
		for s := 0; s < stride; s++ {
			base := o*n*stride + s
			m := float32(math.Inf(-1))
			for i := 0; i < n; i++ {
				if v := x[base+i*stride]; v > m {
					m = v
				}
			}
			var sum float32
			for i := 0; i < n; i++ {
				e := float32(math.Exp(float64(x[base+i*stride] - m)))
				if !log {
					y[base+i*stride] = e
				}
				sum += e
			}
			if log {
				ls := float32(math.Log(float64(sum)))
				for i := 0; i < n; i++ {
					y[base+i*stride] = x[base+i*stride] - m - ls
				}
				continue
			}
			for i := 0; i < n; i++ {
				y[base+i*stride] /= sum
			}
		}
	}
}

// Softmax computes ONNX Softmax (LogSoftmax when log is true) of float32 x.
// With coerce2D (opset < 13) x is viewed as a matrix [∏ dims before axis,
// ∏ dims from axis] and each row is normalised; otherwise only the single
// axis is reduced. axis may be negative.
func Softmax(x *tensor.Tensor, axis int, coerce2D, log bool) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("Softmax: unsupported type %v", x.DType)
	}
	r := len(x.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || (axis >= r && !(r == 0 && axis == 0)) {
		return nil, fmt.Errorf("Softmax: axis %d out of range for shape %v", axis, x.Shape)
	}
	y := tensor.New(tensor.Float32, x.Shape)
	if x.Len() == 0 {
		return y, nil
	}
	if r == 0 {
		softmax(x.F32, y.F32, 1, 1, 1, log)
		return y, nil
	}
	outer := x.Shape[:axis].Size()
	if coerce2D {
		softmax(x.F32, y.F32, outer, x.Shape[axis:].Size(), 1, log)
	} else {
		softmax(x.F32, y.F32, outer, x.Shape[axis], x.Shape[axis+1:].Size(), log)
	}
	return y, nil
}
