package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// ReshapeShape resolves an ONNX Reshape target: 0 copies the input
// dimension (unless allowZero), -1 is inferred from the remaining size.
func ReshapeShape(in tensor.Shape, target []int64, allowZero bool) (tensor.Shape, error) {
	out := make(tensor.Shape, len(target))
	infer := -1
	known := 1
	for i, d := range target {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("reshape target %v has more than one -1", target)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("reshape target %v copies dimension %d of %v", target, i, in)
			}
			out[i] = in[i]
		case d < 0:
			return nil, fmt.Errorf("invalid reshape target %v", target)
		default:
			out[i] = int(d)
		}
		known *= out[i]
	}
	total := in.Size()
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[infer] = total / known
	}
	if out.Size() != total {
		return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
	}
	return out, nil
}

// Reshape returns x viewed with the resolved target shape (data shared).
func Reshape(x *tensor.Tensor, target []int64, allowZero bool) (*tensor.Tensor, error) {
	s, err := ReshapeShape(x.Shape, target, allowZero)
	if err != nil {
		return nil, err
	}
	return x.Reshaped(s)
}

// Flatten views x as [∏ dims before axis, ∏ dims from axis] (data shared).
func Flatten(x *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis > r {
		return nil, fmt.Errorf("Flatten: axis out of range for shape %v", x.Shape)
	}
	return x.Reshaped(tensor.Shape{x.Shape[:axis].Size(), x.Shape[axis:].Size()})
}

// Squeeze removes the given axes (all size-1 axes when axes is empty).
func Squeeze(x *tensor.Tensor, axes []int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	drop := make([]bool, r)
	if len(axes) == 0 {
		for i, d := range x.Shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(int(a), r)
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", ax, x.Shape)
		}
		drop[ax] = true
	}
	out := tensor.Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return x.Reshaped(out)
}

// Unsqueeze inserts size-1 axes at the given positions of the output.
func Unsqueeze(x *tensor.Tensor, axes []int64) (*tensor.Tensor, error) {
	r := len(x.Shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(int(a), r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("Unsqueeze: repeated axis %d", a)
		}
		ins[ax] = true
	}
	out := make(tensor.Shape, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, x.Shape[j])
			j++
		}
	}
	return x.Reshaped(out)
}

// ShapeOf returns the shape of x as an int64 tensor, dimensions
// [start, end) with numpy slice semantics (end 0 means the rank).
func ShapeOf(x *tensor.Tensor, start, end int, hasEnd bool) *tensor.Tensor {
	r := len(x.Shape)
	clamp := func(v int) int {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	s := clamp(start)
	e := r
	if hasEnd {
		e = clamp(end)
	}
	var dims []int64
	for i := s; i < e; i++ {
		dims = append(dims, int64(x.Shape[i]))
	}
	return tensor.FromInt64(tensor.Shape{len(dims)}, append([]int64{}, dims...))
}

// copyElems copies n elements from src[si:] into dst[di:] (same type).
func copyElems(dst *tensor.Tensor, di int, src *tensor.Tensor, si, n int) {
	switch src.DType {
	case tensor.Float32:
		copy(dst.F32[di:di+n], src.F32[si:si+n])
	case tensor.Uint8, tensor.Bool:
		copy(dst.U8[di:di+n], src.U8[si:si+n])
	case tensor.Int8:
		copy(dst.I8[di:di+n], src.I8[si:si+n])
	case tensor.Int32:
		copy(dst.I32[di:di+n], src.I32[si:si+n])
	case tensor.Int64:
		copy(dst.I64[di:di+n], src.I64[si:si+n])
	}
}

// Concat joins tensors of the same type along axis.
func Concat(xs []*tensor.Tensor, axis int) (*tensor.Tensor, error) { return ConcatWith(nil, xs, axis) }

// ConcatWith is Concat with the output taken from a.
func ConcatWith(a Alloc, xs []*tensor.Tensor, axis int) (*tensor.Tensor, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("Concat: no inputs")
	}
	r := len(xs[0].Shape)
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, fmt.Errorf("Concat: %w", err)
	}
	out := xs[0].Shape.Clone()
	out[ax] = 0
	for _, x := range xs {
		if x.DType != xs[0].DType || len(x.Shape) != r {
			return nil, fmt.Errorf("Concat: inputs %v %v and %v %v differ in type or rank", xs[0].DType, xs[0].Shape, x.DType, x.Shape)
		}
		for d := range x.Shape {
			if d != ax && x.Shape[d] != xs[0].Shape[d] {
				return nil, fmt.Errorf("Concat: shapes %v and %v differ outside axis %d", xs[0].Shape, x.Shape, ax)
			}
		}
		out[ax] += x.Shape[ax]
	}
	y := newOut(a, xs[0].DType, out)
	outer := out[:ax].Size()
	inner := out[ax+1:].Size()
	off := 0
	for o := 0; o < outer; o++ {
		for _, x := range xs {
			n := x.Shape[ax] * inner
			copyElems(y, off, x, o*n, n)
			off += n
		}
	}
	return y, nil
}

// Transpose permutes the axes of x (reversing them when perm is empty).
func Transpose(x *tensor.Tensor, perm []int64) (*tensor.Tensor, error) {
	return TransposeWith(nil, x, perm)
}

// TransposeWith is Transpose with the output taken from a.
func TransposeWith(a Alloc, x *tensor.Tensor, perm []int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	p := make([]int, r)
	if len(perm) == 0 {
		for i := range p {
			p[i] = r - 1 - i
		}
	} else {
		if len(perm) != r {
			return nil, fmt.Errorf("Transpose: perm %v for rank %d", perm, r)
		}
		seen := make([]bool, r)
		for i, v := range perm {
			if v < 0 || int(v) >= r || seen[v] {
				return nil, fmt.Errorf("Transpose: invalid perm %v", perm)
			}
			seen[v] = true
			p[i] = int(v)
		}
	}
	out := make(tensor.Shape, r)
	for i := range p {
		out[i] = x.Shape[p[i]]
	}
	y := newOut(a, x.DType, out)
	switch x.DType {
	case tensor.Float32:
		transpose(x.F32, y.F32, x.Shape, p)
	case tensor.Uint8, tensor.Bool:
		transpose(x.U8, y.U8, x.Shape, p)
	case tensor.Int8:
		transpose(x.I8, y.I8, x.Shape, p)
	case tensor.Int32:
		transpose(x.I32, y.I32, x.Shape, p)
	case tensor.Int64:
		transpose(x.I64, y.I64, x.Shape, p)
	default:
		return nil, fmt.Errorf("Transpose: unsupported type %v", x.DType)
	}
	return y, nil
}

func transpose[T any](x, y []T, in tensor.Shape, p []int) {
	if len(y) == 0 {
		return
	}
	in, p = coalesceAxes(in, p)
	r := len(in)
	if r == 0 {
		y[0] = x[0]
		return
	}
	st := in.Strides()
	// Strides of the input for each output axis.
	ost := make([]int, r)
	out := make([]int, r)
	for i := range p {
		ost[i] = st[p[i]]
		out[i] = in[p[i]]
	}
	idx := make([]int, r)
	inner := out[r-1]
	is := ost[r-1]
	off := 0
	for o := 0; o < len(y); o += inner {
		if is == 1 {
			copy(y[o:o+inner], x[off:off+inner])
		} else {
			src := off
			for j := 0; j < inner; j++ {
				y[o+j] = x[src]
				src += is
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			off += ost[d]
			if idx[d] < out[d] {
				break
			}
			off -= ost[d] * out[d]
			idx[d] = 0
		}
	}
}

// coalesceAxes merges the input axes that stay adjacent and in order under
// the permutation p (output axis i reads input axis p[i]) into one, so
// that transpose moves the longest contiguous runs: for example a channel
// shuffle [N, g, C/g, H, W] with p = [0, 2, 1, 3, 4] becomes
// [N, g, C/g, H·W] with p = [0, 2, 1, 3]. It returns the merged input shape
// and permutation.
func coalesceAxes(in tensor.Shape, p []int) (tensor.Shape, []int) {
	r := len(in)
	// first[a] reports whether input axis a starts a merged group: it does
	// not follow axis a−1 directly in output order (axis 0 always starts
	// one).
	first := make([]bool, r)
	for i := range p {
		first[p[i]] = i == 0 || p[i-1] != p[i]-1
	}
	// Merged input axes, in input order, and the new index of each group.
	var shape tensor.Shape
	group := make([]int, r)
	for a := 0; a < r; a++ {
		if first[a] {
			shape = append(shape, in[a])
		} else {
			shape[len(shape)-1] *= in[a]
		}
		group[a] = len(shape) - 1
	}
	var perm []int
	for i := range p {
		if first[p[i]] {
			perm = append(perm, group[p[i]])
		}
	}
	return shape, perm
}

// Gather takes slices of x along axis at the given indices (int64 or int32;
// negative indices count from the end).
func Gather(x, indices *tensor.Tensor, axis int) (*tensor.Tensor, error) {
	r := len(x.Shape)
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, fmt.Errorf("Gather: %w", err)
	}
	idx, err := indices.Int64s()
	if err != nil || (indices.DType != tensor.Int64 && indices.DType != tensor.Int32) {
		return nil, fmt.Errorf("Gather: indices must be int64 or int32, have %v", indices.DType)
	}
	n := x.Shape[ax]
	out := append(append(x.Shape[:ax].Clone(), indices.Shape...), x.Shape[ax+1:]...)
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Gather: %w", err)
	}
	y := tensor.New(x.DType, out)
	outer := x.Shape[:ax].Size()
	inner := x.Shape[ax+1:].Size()
	off := 0
	for o := 0; o < outer; o++ {
		for _, i := range idx {
			if i < 0 {
				i += int64(n)
			}
			if i < 0 || i >= int64(n) {
				return nil, fmt.Errorf("Gather: index out of range [%d,%d)", -n, n)
			}
			copyElems(y, off, x, (o*n+int(i))*inner, inner)
			off += inner
		}
	}
	return y, nil
}

// Cast converts x to dtype: float→integer truncates toward zero (saturating
// for 8-bit targets is not specified by ONNX; values wrap like C casts of
// in-range values), integer→float rounds to nearest.
func Cast(x *tensor.Tensor, to tensor.DType) (*tensor.Tensor, error) {
	if !to.Supported() || !x.DType.Supported() {
		return nil, fmt.Errorf("Cast: unsupported types %v → %v", x.DType, to)
	}
	if x.DType == to {
		return x, nil
	}
	y := tensor.New(to, x.Shape)
	n := x.Len()
	for i := 0; i < n; i++ {
		switch to {
		case tensor.Float32:
			y.F32[i] = float32(x.Float64At(i))
		case tensor.Bool:
			if x.Float64At(i) != 0 {
				y.U8[i] = 1
			}
		default:
			var v int64
			if x.DType == tensor.Float32 {
				f := float64(x.F32[i])
				if f != f {
					f = 0
				}
				v = int64(math.Trunc(math.Max(math.Min(f, math.MaxInt64/2), math.MinInt64/2)))
			} else {
				v = int64(x.Float64At(i))
				if x.DType == tensor.Int64 {
					v = x.I64[i]
				}
			}
			switch to {
			case tensor.Uint8:
				y.U8[i] = uint8(v)
			case tensor.Int8:
				y.I8[i] = int8(v)
			case tensor.Int32:
				y.I32[i] = int32(v)
			case tensor.Int64:
				y.I64[i] = v
			}
		}
	}
	return y, nil
}

// Pad pads x with a constant. pads holds [begin_0..begin_{r-1}, end_0..
// end_{r-1}]; negative values crop.
func Pad(x *tensor.Tensor, pads []int64, value float32) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("Pad: %d pads for rank %d", len(pads), r)
	}
	out := make(tensor.Shape, r)
	for i := range out {
		if pads[i] > int64(MaxElements) || pads[i+r] > int64(MaxElements) || pads[i] < -int64(MaxElements) || pads[i+r] < -int64(MaxElements) {
			return nil, fmt.Errorf("Pad: pads %v out of range", pads)
		}
		out[i] = x.Shape[i] + int(pads[i]) + int(pads[i+r])
		if out[i] < 0 {
			return nil, fmt.Errorf("Pad: pads %v crop shape %v below zero", pads, x.Shape)
		}
	}
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Pad: %w", err)
	}
	y := tensor.New(x.DType, out)
	switch x.DType {
	case tensor.Float32:
		for i := range y.F32 {
			y.F32[i] = value
		}
	case tensor.Int64:
		for i := range y.I64 {
			y.I64[i] = int64(value)
		}
	case tensor.Int32:
		for i := range y.I32 {
			y.I32[i] = int32(value)
		}
	case tensor.Uint8:
		for i := range y.U8 {
			y.U8[i] = uint8(value)
		}
	case tensor.Int8:
		for i := range y.I8 {
			y.I8[i] = int8(value)
		}
	}
	if x.Len() == 0 || y.Len() == 0 {
		return y, nil
	}
	// Copy every innermost row of x that survives cropping.
	xs, ys := x.Shape.Strides(), out.Strides()
	idx := make([]int, r)
	last := r - 1
	if r == 0 {
		copyElems(y, 0, x, 0, 1)
		return y, nil
	}
	for {
		ok := true
		yo := 0
		for d := 0; d < last; d++ {
			p := idx[d] + int(pads[d])
			if p < 0 || p >= out[d] {
				ok = false
				break
			}
			yo += p * ys[d]
		}
		if ok {
			// Range of the innermost dimension.
			lo := max(0, -int(pads[last]))
			hi := min(x.Shape[last], out[last]-int(pads[last]))
			if hi > lo {
				xo := 0
				for d := 0; d < last; d++ {
					xo += idx[d] * xs[d]
				}
				copyElems(y, yo+lo+int(pads[last]), x, xo+lo, hi-lo)
			}
		}
		d := last - 1
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.Shape[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			break
		}
	}
	return y, nil
}
