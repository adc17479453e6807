package tfgraph

import (
	"fmt"
	"slices"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Shape, StridedSlice and Pack usually compute the target of a Reshape from
// static shapes. They are evaluated at import when their inputs are known;
// Pack of run-time values becomes Unsqueeze and Concat.

func convShape(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	outType, ok, err := attrs{n}.dtype("out_type")
	if err != nil {
		return err
	}
	if !ok {
		outType = tfpb.DataType_DT_INT32
	}
	if outType != tfpb.DataType_DT_INT32 && outType != tfpb.DataType_DT_INT64 {
		return fmt.Errorf("%w: out_type %v", ErrInvalid, outType)
	}
	if _, err := elements(x.shape); x.shape == nil || err != nil {
		return fmt.Errorf("%w: the shape %v of %q is not known at import", ErrUnsupported, x.shape, x.ref.String())
	}
	if outType == tfpb.DataType_DT_INT64 {
		im.constant(n, 0, tensor.FromInt64(tensor.Shape{len(x.shape)}, toI64(x.shape)))
		return nil
	}
	v := make([]int32, len(x.shape))
	for i, d := range x.shape {
		v[i] = int32(d)
	}
	im.constant(n, 0, tensor.FromInt32(tensor.Shape{len(v)}, v))
	return nil
}

// convStridedSlice evaluates a StridedSlice of a constant. Ellipsis and
// new-axis masks are not supported.
func convStridedSlice(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	if x.c == nil {
		return fmt.Errorf("%w: slice of %q, which is computed at run time", ErrUnsupported, x.ref.String())
	}
	var spec [3][]int64
	for i, what := range []string{"begin", "end", "strides"} {
		t, err := im.constIn(n, i+1, what)
		if err != nil {
			return err
		}
		if spec[i], err = toInt64s(t, what); err != nil {
			return err
		}
	}
	a := attrs{n}
	var masks [5]int64
	for i, name := range []string{"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"} {
		if masks[i], err = a.integer(name, 0); err != nil {
			return err
		}
	}
	if masks[2] != 0 || masks[3] != 0 {
		return fmt.Errorf("%w: ellipsis_mask or new_axis_mask", ErrUnsupported)
	}
	t, err := stridedSlice(x.c, spec[0], spec[1], spec[2], masks[0], masks[1], masks[4])
	if err != nil {
		return err
	}
	im.constant(n, 0, t)
	return nil
}

func stridedSlice(x *tensor.Tensor, begin, end, strides []int64, beginMask, endMask, shrinkMask int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	k := len(begin)
	if len(end) != k || len(strides) != k || k > r {
		return nil, fmt.Errorf("%w: begin, end and strides of lengths %d, %d, %d for rank %d", ErrInvalid, k, len(end), len(strides), r)
	}
	starts := make([]int, r)
	steps := make([]int, r)
	counts := make([]int, r)
	var shape []int
	for i := 0; i < r; i++ {
		dim := x.Shape[i]
		if i >= k {
			starts[i], steps[i], counts[i] = 0, 1, dim
			shape = append(shape, dim)
			continue
		}
		s := strides[i]
		if s == 0 || s > 1<<31 || s < -(1<<31) {
			return nil, fmt.Errorf("%w: stride %d", ErrInvalid, s)
		}
		b, e := begin[i], end[i]
		if shrinkMask>>i&1 != 0 {
			if b < 0 {
				b += int64(dim)
			}
			if b < 0 || b >= int64(dim) {
				return nil, fmt.Errorf("%w: index %d out of range for dimension %d of size %d", ErrInvalid, begin[i], i, dim)
			}
			starts[i], steps[i], counts[i] = int(b), 1, 1
			continue
		}
		clamp := func(v int64, lo, hi int64) int64 { return max(lo, min(v, hi)) }
		norm := func(v int64) int64 {
			if v < 0 {
				v += int64(dim)
			}
			return v
		}
		var lo, hi int64 // valid index range for the start
		if s > 0 {
			lo, hi = 0, int64(dim)
		} else {
			lo, hi = -1, int64(dim)-1
		}
		if beginMask>>i&1 != 0 {
			if s > 0 {
				b = lo
			} else {
				b = hi
			}
		} else {
			b = clamp(norm(b), lo, hi)
		}
		if endMask>>i&1 != 0 {
			if s > 0 {
				e = hi
			} else {
				e = lo
			}
		} else {
			e = clamp(norm(e), lo, hi)
		}
		c := int64(0)
		if s > 0 && e > b {
			c = (e - b + s - 1) / s
		} else if s < 0 && e < b {
			c = (b - e - s - 1) / -s
		}
		starts[i], steps[i], counts[i] = int(b), int(s), int(c)
		shape = append(shape, int(c))
	}
	if shape == nil {
		shape = []int{}
	}
	total, err := elements(counts)
	if err != nil {
		return nil, err
	}
	out := tensor.New(x.DType, tensor.Shape(shape))
	strideOf := x.Shape.Strides()
	idx := make([]int, r)
	for o := 0; o < total; o++ {
		src := 0
		for i := 0; i < r; i++ {
			src += (starts[i] + idx[i]*steps[i]) * strideOf[i]
		}
		copyElem(out, o, x, src)
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < counts[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

func convPack(im *importer, n *tfpb.NodeDef) error {
	k := numInputs(n)
	if k == 0 {
		return fmt.Errorf("%w: no values", ErrInvalid)
	}
	xs := make([]*value, k)
	allConst := true
	for i := range xs {
		x, err := im.in(n, i)
		if err != nil {
			return err
		}
		xs[i] = x
		if x.c == nil {
			allConst = false
		}
	}
	r := xs[0].rank()
	for _, x := range xs {
		if x.rank() != r || r < 0 || !slices.Equal(x.shape, xs[0].shape) {
			return fmt.Errorf("%w: values of shapes %v and %v", ErrInvalid, xs[0].shape, x.shape)
		}
	}
	axisV, err := attrs{n}.integer("axis", 0)
	if err != nil {
		return err
	}
	axis, err := normAxis(axisV, r+1, "axis")
	if err != nil {
		return err
	}
	shape := slices.Insert(slices.Clone(xs[0].shape), axis, k)
	if allConst {
		dt := xs[0].c.DType
		for _, x := range xs {
			if x.c.DType != dt {
				return fmt.Errorf("%w: values of element types %v and %v", ErrInvalid, dt, x.c.DType)
			}
		}
		out := tensor.New(dt, tensor.Shape(shape))
		outer, inner := 1, 1
		for _, d := range xs[0].shape[:axis] {
			outer *= d
		}
		for _, d := range xs[0].shape[axis:] {
			inner *= d
		}
		for o := 0; o < outer; o++ {
			for i, x := range xs {
				for j := 0; j < inner; j++ {
					copyElem(out, (o*k+i)*inner+j, x.c, o*inner+j)
				}
			}
		}
		im.constant(n, 0, out)
		return nil
	}
	axes := im.int64s(n.GetName()+"/axes", int64(axis))
	names := make([]string, k)
	for i, x := range xs {
		names[i] = im.fresh(fmt.Sprintf("%s/value%d", n.GetName(), i))
		im.emit("Unsqueeze", fmt.Sprintf("unsqueeze%d", i), []string{im.tfName(x), axes}, []string{names[i]}, nil)
	}
	name, _ := im.out(n, 0, false, shape, xs[0].dtype)
	im.emit("Concat", "", names, []string{name}, map[string]*graph.Attr{"axis": graph.IntAttr(int64(axis))})
	return nil
}
