package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// This file holds the element-wise operators beyond Add/Sub/Mul/Div: they
// are not on the hot path of CNN classifiers, so they trade speed for
// generality (any element type, any number of broadcast inputs).

// BroadcastIndex returns, for every element of the row-major shape out, the
// linear index of the element of a tensor of shape in that numpy
// broadcasting maps to it. in must broadcast to out.
func BroadcastIndex(in, out tensor.Shape) ([]int, error) {
	if len(in) > len(out) {
		return nil, fmt.Errorf("shape %v does not broadcast to %v", in, out)
	}
	for i := range in {
		d := in[len(in)-1-i]
		o := out[len(out)-1-i]
		if d != o && d != 1 {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", in, out)
		}
	}
	st := broadcastStrides(in, out)
	idx := make([]int, out.Size())
	if len(idx) == 0 {
		return idx, nil
	}
	r := len(out)
	if r == 0 {
		return idx, nil
	}
	pos := make([]int, r)
	off := 0
	for i := range idx {
		idx[i] = off
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			off += st[d]
			if pos[d] < out[d] {
				break
			}
			off -= st[d] * out[d]
			pos[d] = 0
		}
	}
	return idx, nil
}

// BroadcastShapes returns the numpy-broadcast shape of several shapes.
func BroadcastShapes(shapes ...tensor.Shape) (tensor.Shape, error) {
	out := tensor.Shape{}
	for _, s := range shapes {
		var err error
		if out, err = BroadcastShape(out, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Float64s returns the elements of t converted to float64.
func Float64s(t *tensor.Tensor) []float64 {
	out := make([]float64, t.Len())
	switch t.DType {
	case tensor.Float32:
		for i, v := range t.F32 {
			out[i] = float64(v)
		}
	case tensor.Int64:
		for i, v := range t.I64 {
			out[i] = float64(v)
		}
	default:
		for i := range out {
			out[i] = t.Float64At(i)
		}
	}
	return out
}

// SetFloat64 stores v, converted to t's type (integers truncate toward
// zero), as element i of t.
func SetFloat64(t *tensor.Tensor, i int, v float64) {
	switch t.DType {
	case tensor.Float32:
		t.F32[i] = float32(v)
	case tensor.Uint8:
		t.U8[i] = uint8(int64(v))
	case tensor.Bool:
		if v != 0 {
			t.U8[i] = 1
		} else {
			t.U8[i] = 0
		}
	case tensor.Int8:
		t.I8[i] = int8(int64(v))
	case tensor.Int32:
		t.I32[i] = int32(int64(v))
	case tensor.Int64:
		t.I64[i] = int64(v)
	}
}

// Take sets dst[i] = src[idx[i]] for tensors of the same type.
func Take(dst, src *tensor.Tensor, idx []int) {
	switch src.DType {
	case tensor.Float32:
		take(dst.F32, src.F32, idx)
	case tensor.Uint8, tensor.Bool:
		take(dst.U8, src.U8, idx)
	case tensor.Int8:
		take(dst.I8, src.I8, idx)
	case tensor.Int32:
		take(dst.I32, src.I32, idx)
	case tensor.Int64:
		take(dst.I64, src.I64, idx)
	}
}

func take[T any](dst, src []T, idx []int) {
	for i, j := range idx {
		dst[i] = src[j]
	}
}

// Combine applies f to broadcast pairs of elements of a and b, converted to
// float64, and stores the result as type out. It is the generic path of
// Pow, Max, Min, Mod and the comparisons.
func Combine(a, b *tensor.Tensor, out tensor.DType, f func(x, y float64) float64) (*tensor.Tensor, error) {
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ia, err := BroadcastIndex(a.Shape, shape)
	if err != nil {
		return nil, err
	}
	ib, err := BroadcastIndex(b.Shape, shape)
	if err != nil {
		return nil, err
	}
	y := tensor.New(out, shape)
	if out == tensor.Float32 && a.DType == tensor.Float32 && b.DType == tensor.Float32 {
		for i := range y.F32 {
			y.F32[i] = float32(f(float64(a.F32[ia[i]]), float64(b.F32[ib[i]])))
		}
		return y, nil
	}
	for i := range ia {
		SetFloat64(y, i, f(a.Float64At(ia[i]), b.Float64At(ib[i])))
	}
	return y, nil
}

// Int64Combine is Combine for two int64 tensors computed exactly in int64.
func Int64Combine(a, b *tensor.Tensor, f func(x, y int64) int64) (*tensor.Tensor, error) {
	shape, err := BroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ia, err := BroadcastIndex(a.Shape, shape)
	if err != nil {
		return nil, err
	}
	ib, err := BroadcastIndex(b.Shape, shape)
	if err != nil {
		return nil, err
	}
	y := tensor.New(tensor.Int64, shape)
	for i := range y.I64 {
		y.I64[i] = f(a.I64[ia[i]], b.I64[ib[i]])
	}
	return y, nil
}

// Variadic folds f over the inputs left to right with broadcasting (ONNX
// Max, Min, Sum); all inputs must have the same type.
func Variadic(xs []*tensor.Tensor, f func(x, y float64) float64) (*tensor.Tensor, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	acc := xs[0]
	if len(xs) == 1 {
		return acc.Clone(), nil
	}
	for _, x := range xs[1:] {
		if x.DType != acc.DType {
			return nil, fmt.Errorf("input types %v and %v differ", acc.DType, x.DType)
		}
		var err error
		if acc.DType == tensor.Int64 {
			acc, err = Int64Combine(acc, x, func(a, b int64) int64 { return int64(f(float64(a), float64(b))) })
		} else {
			acc, err = Combine(acc, x, acc.DType, f)
		}
		if err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// PRelu computes x < 0 ? slope·x : x with slope broadcast to x.
func PRelu(x, slope *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || slope.DType != tensor.Float32 {
		return nil, fmt.Errorf("PRelu: want float32 inputs, have %v and %v", x.DType, slope.DType)
	}
	idx, err := BroadcastIndex(slope.Shape, x.Shape)
	if err != nil {
		return nil, fmt.Errorf("PRelu: %w", err)
	}
	y := tensor.New(tensor.Float32, x.Shape)
	for i, v := range x.F32 {
		if v < 0 {
			v *= slope.F32[idx[i]]
		}
		y.F32[i] = v
	}
	return y, nil
}

// Where selects x where cond is true and y elsewhere, broadcasting all three.
func Where(cond, x, y *tensor.Tensor) (*tensor.Tensor, error) {
	if cond.DType != tensor.Bool {
		return nil, fmt.Errorf("Where: condition is %v, want bool", cond.DType)
	}
	if x.DType != y.DType {
		return nil, fmt.Errorf("Where: X is %v and Y is %v", x.DType, y.DType)
	}
	shape, err := BroadcastShapes(cond.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, fmt.Errorf("Where: %w", err)
	}
	ic, _ := BroadcastIndex(cond.Shape, shape)
	ix, _ := BroadcastIndex(x.Shape, shape)
	iy, _ := BroadcastIndex(y.Shape, shape)
	xs := make([]int, len(ic))
	ys := make([]int, 0, len(ic))
	var pos []int
	for i, c := range ic {
		if cond.U8[c] != 0 {
			xs[i] = ix[i]
		} else {
			xs[i] = -1
			ys = append(ys, iy[i])
			pos = append(pos, i)
		}
	}
	out := tensor.New(x.DType, shape)
	// Copy from X everywhere the condition holds, then fill from Y.
	for i, j := range xs {
		if j >= 0 {
			copyElems(out, i, x, j, 1)
		}
	}
	for k, i := range pos {
		copyElems(out, i, y, ys[k], 1)
	}
	return out, nil
}

// Expand broadcasts x to the broadcast of its shape and shape.
func Expand(x *tensor.Tensor, shape []int64) (*tensor.Tensor, error) {
	s := make(tensor.Shape, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("Expand: negative dimension in %v", shape)
		}
		s[i] = int(d)
	}
	out, err := BroadcastShape(x.Shape, s)
	if err != nil {
		return nil, fmt.Errorf("Expand: %w", err)
	}
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Expand: %w", err)
	}
	idx, err := BroadcastIndex(x.Shape, out)
	if err != nil {
		return nil, fmt.Errorf("Expand: %w", err)
	}
	y := tensor.New(x.DType, out)
	Take(y, x, idx)
	return y, nil
}

// Tile repeats x repeats[d] times along every dimension d.
func Tile(x *tensor.Tensor, repeats []int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if len(repeats) != r {
		return nil, fmt.Errorf("Tile: %d repeats for rank %d", len(repeats), r)
	}
	out := make(tensor.Shape, r)
	for i, v := range repeats {
		if v < 0 {
			return nil, fmt.Errorf("Tile: negative repeat %d", v)
		}
		if v > int64(MaxElements) {
			return nil, fmt.Errorf("Tile: repeat %d too large", v)
		}
		out[i] = x.Shape[i] * int(v)
	}
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Tile: %w", err)
	}
	y := tensor.New(x.DType, out)
	n := out.Size()
	if n == 0 {
		return y, nil
	}
	st := x.Shape.Strides()
	idx := make([]int, n)
	pos := make([]int, r)
	for i := range idx {
		off := 0
		for d := 0; d < r; d++ {
			off += (pos[d] % x.Shape[d]) * st[d]
		}
		idx[i] = off
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < out[d] {
				break
			}
			pos[d] = 0
		}
	}
	Take(y, x, idx)
	return y, nil
}

// UnaryFloat applies f to every element of a float32 tensor.
func UnaryFloat(x *tensor.Tensor, f func(float32) float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("want float32, have %v", x.DType)
	}
	y := tensor.New(tensor.Float32, x.Shape)
	for i, v := range x.F32 {
		y.F32[i] = f(v)
	}
	return y, nil
}

// Unary applies f to every element of a numeric tensor, in float64 for
// integer types (results truncate back to the input type).
func Unary(x *tensor.Tensor, f func(float64) float64) (*tensor.Tensor, error) {
	y := tensor.New(x.DType, x.Shape)
	if x.DType == tensor.Float32 {
		for i, v := range x.F32 {
			y.F32[i] = float32(f(float64(v)))
		}
		return y, nil
	}
	if x.DType == tensor.Int64 {
		for i, v := range x.I64 {
			y.I64[i] = int64(f(float64(v)))
		}
		return y, nil
	}
	for i := 0; i < x.Len(); i++ {
		SetFloat64(y, i, f(x.Float64At(i)))
	}
	return y, nil
}

// ClipAny clamps a tensor of any numeric type to [lo, hi] (nil bounds are
// open).
func ClipAny(x, lo, hi *tensor.Tensor) (*tensor.Tensor, error) {
	l, h := math.Inf(-1), math.Inf(1)
	if lo != nil {
		if lo.Len() != 1 {
			return nil, fmt.Errorf("Clip: min of shape %v is not a scalar", lo.Shape)
		}
		l = lo.Float64At(0)
	}
	if hi != nil {
		if hi.Len() != 1 {
			return nil, fmt.Errorf("Clip: max of shape %v is not a scalar", hi.Shape)
		}
		h = hi.Float64At(0)
	}
	if x.DType == tensor.Float32 {
		return Clip(x, float32(l), float32(h))
	}
	return Unary(x, func(v float64) float64 { return math.Min(math.Max(v, l), h) })
}

// RoundFloat16 rounds every float32 to the nearest float16 value (ties to
// even), keeping float32 storage: eightbit holds FLOAT16 tensors as float32.
func RoundFloat16(x float32) float32 {
	if x != x || math.IsInf(float64(x), 0) {
		return x
	}
	a := math.Abs(float64(x))
	if a >= 65520 {
		return float32(math.Copysign(math.Inf(1), float64(x)))
	}
	// Spacing of float16 values around a.
	e := math.Floor(math.Log2(a))
	if a == 0 {
		return x
	}
	if e < -14 {
		e = -14
	}
	q := math.Ldexp(1, int(e)-10)
	return float32(math.Copysign(math.RoundToEven(a/q)*q, float64(x)))
}

// MaxElements bounds the element count of tensors that kernels create from
// sizes given by attributes or small inputs (ConstantOfShape, Expand, Tile,
// Pad, Resize, ConvTranspose, window operators, Range), so that a model
// cannot make the executor allocate without bound.
var MaxElements = 1 << 28

// CheckSize returns an error when shape has a negative dimension or more
// than MaxElements elements (overflow-safe).
func CheckSize(shape tensor.Shape) error {
	// The errors print a copy, so that shape does not escape (callers pass
	// literals).
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", shape.Clone()) // a copy: shape stays on the caller's stack
		}
		if d == 0 {
			return nil
		}
	}
	for _, d := range shape {
		if n > MaxElements/d {
			return fmt.Errorf("shape %v has more than %d elements", shape.Clone(), MaxElements)
		}
		n *= d
	}
	return nil
}

// Alloc supplies the memory of a kernel's result. Tensor returns a tensor
// of the given type and shape whose elements are undefined: a kernel that
// takes an Alloc writes every element of its output. Float32s returns n
// float32 elements of scratch memory, also undefined, which the kernel
// hands back with PutFloat32s before it returns. A nil Alloc allocates from
// the Go heap (tensor.New, make).
//
// The *With kernels never return a view of an input: their output is
// always memory obtained from the Alloc (or the heap).
type Alloc interface {
	Tensor(dt tensor.DType, shape tensor.Shape) *tensor.Tensor
	Float32s(n int) []float32
	PutFloat32s(s []float32)
}

// newOut returns an output tensor from a, or from the heap when a is nil.
func newOut(a Alloc, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if a == nil {
		return tensor.New(dt, shape)
	}
	return a.Tensor(dt, shape)
}

// scratch returns n float32 elements of scratch memory from a (or the heap).
func scratch(a Alloc, n int) []float32 {
	if a == nil {
		return make([]float32, n)
	}
	return a.Float32s(n)
}

// unscratch hands scratch memory back to a.
func unscratch(a Alloc, s []float32) {
	if a != nil {
		a.PutFloat32s(s)
	}
}
