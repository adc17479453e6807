package tfgraph

import (
	"fmt"
	"math"
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
		// Computed at run time.
		var shape []int
		if x.shape != nil {
			shape = []int{len(x.shape)}
		}
		src := im.tfName(x)
		if outType == tfpb.DataType_DT_INT64 {
			name, _ := im.out(n, 0, false, shape, tensor.Int64)
			im.emit("Shape", "", []string{src}, []string{name}, nil)
			return nil
		}
		s64 := im.fresh(n.GetName() + "/int64")
		im.emit("Shape", "", []string{src}, []string{s64}, nil)
		name, _ := im.out(n, 0, false, shape, tensor.Int32)
		im.emit("Cast", "cast", []string{s64}, []string{name}, map[string]*graph.Attr{"to": graph.IntAttr(int64(tensor.Int32))})
		return nil
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
	if x.c == nil {
		return im.dynamicSlice(n, x, spec[0], spec[1], spec[2], masks[0], masks[1], masks[4])
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
		start, step, count, shrink, err := sliceAxis(dim, begin[i], end[i], strides[i], beginMask>>i&1 != 0, endMask>>i&1 != 0, shrinkMask>>i&1 != 0)
		if err != nil {
			return nil, fmt.Errorf("dimension %d: %w", i, err)
		}
		starts[i], steps[i], counts[i] = start, step, count
		if !shrink {
			shape = append(shape, count)
		}
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

// sliceAxis applies one axis of a StridedSlice to a dimension of size dim.
func sliceAxis(dim int, b, e, s int64, beginMask, endMask, shrink bool) (start, step, count int, shrunk bool, err error) {
	if s == 0 || s > 1<<31 || s < -(1<<31) {
		return 0, 0, 0, false, fmt.Errorf("%w: stride %d", ErrInvalid, s)
	}
	if shrink {
		if b < 0 {
			b += int64(dim)
		}
		if b < 0 || b >= int64(dim) {
			return 0, 0, 0, false, fmt.Errorf("%w: index out of range for a dimension of size %d", ErrInvalid, dim)
		}
		return int(b), 1, 1, true, nil
	}
	clamp := func(v int64, lo, hi int64) int64 { return max(lo, min(v, hi)) }
	norm := func(v int64) int64 {
		if v < 0 {
			v += int64(dim)
		}
		return v
	}
	lo, hi := int64(0), int64(dim) // valid start range for a positive stride
	if s < 0 {
		lo, hi = -1, int64(dim)-1
	}
	switch {
	case beginMask && s > 0:
		b = lo
	case beginMask:
		b = hi
	default:
		b = clamp(norm(b), lo, hi)
	}
	switch {
	case endMask && s > 0:
		e = hi
	case endMask:
		e = lo
	default:
		e = clamp(norm(e), lo, hi)
	}
	c := int64(0)
	if s > 0 && e > b {
		c = (e - b + s - 1) / s
	} else if s < 0 && e < b {
		c = (b - e - s - 1) / -s
	}
	return int(b), int(s), int(c), false, nil
}

// dynamicSlice imports a StridedSlice of a run-time tensor as Slice and,
// for shrunk axes, Squeeze.
func (im *importer) dynamicSlice(n *tfpb.NodeDef, x *value, begin, end, strides []int64, beginMask, endMask, shrinkMask int64) error {
	r := x.rank()
	k := len(begin)
	if r < 0 || len(end) != k || len(strides) != k || k > r {
		return fmt.Errorf("%w: begin, end and strides of lengths %d, %d, %d for shape %v", ErrInvalid, k, len(end), len(strides), x.shape)
	}
	const big = math.MaxInt64
	var starts, ends, axes, steps, shrunk []int64
	var shape []int
	for i := 0; i < r; i++ {
		if i >= k {
			shape = append(shape, x.shape[i])
			continue
		}
		b, e, s := begin[i], end[i], strides[i]
		bm, em, sm := beginMask>>i&1 != 0, endMask>>i&1 != 0, shrinkMask>>i&1 != 0
		if s == 0 {
			return fmt.Errorf("%w: stride 0", ErrInvalid)
		}
		if x.shape[i] >= 0 {
			_, _, c, _, err := sliceAxis(x.shape[i], b, e, s, bm, em, sm)
			if err != nil {
				return fmt.Errorf("dimension %d: %w", i, err)
			}
			if !sm {
				shape = append(shape, c)
			}
		} else if !sm {
			shape = append(shape, -1)
		}
		switch {
		case sm:
			e, s = b+1, 1
			if b == -1 {
				e = big
			}
			shrunk = append(shrunk, int64(i))
		default:
			if bm {
				b = 0
				if s < 0 {
					b = big
				}
			}
			if em {
				e = big
				if s < 0 {
					e = -big
				}
			}
		}
		starts, ends, axes, steps = append(starts, b), append(ends, e), append(axes, int64(i)), append(steps, s)
	}
	if shape == nil {
		shape = []int{}
	}
	src := im.tfName(x)
	inputs := []string{src, im.int64s(n.GetName()+"/starts", starts...), im.int64s(n.GetName()+"/ends", ends...),
		im.int64s(n.GetName()+"/axes", axes...), im.int64s(n.GetName()+"/steps", steps...)}
	if len(shrunk) == 0 {
		name, _ := im.out(n, 0, false, shape, x.dtype)
		im.emit("Slice", "", inputs, []string{name}, nil)
		return nil
	}
	sliced := im.fresh(n.GetName() + "/sliced")
	im.emit("Slice", "", inputs, []string{sliced}, nil)
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("Squeeze", "squeeze", []string{sliced, im.int64s(n.GetName()+"/shrink", shrunk...)}, []string{name}, nil)
	return nil
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
		total, err := elements(shape)
		if err != nil {
			return err
		}
		if total > im.budget {
			return fmt.Errorf("%w: packing %d values of shape %v exceeds the import's constant budget", ErrUnsupported, k, xs[0].shape)
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
