package tfgraph

import (
	"fmt"
	"slices"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// axesOf reads a constant list (or scalar) of axes for a tensor of rank r,
// normalized and in input order.
func axesOf(t *tensor.Tensor, r int, what string) ([]int, error) {
	v, err := toInt64s(t, what)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, a := range v {
		if out[i], err = normAxis(a, r, what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keptInOrder reports whether the axes of an NCHW tensor that remain after
// dropping the given NHWC axes are in NHWC order, so that the result needs
// no transpose back.
func keptInOrder(dropped []int) bool {
	var kept []int
	for _, a := range []int{0, 3, 1, 2} { // NCHW order of NHWC axes
		if !slices.Contains(dropped, a) {
			kept = append(kept, a)
		}
	}
	return slices.IsSorted(kept)
}

func toI64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func convMean(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	at, err := im.constIn(n, 1, "reduction axes")
	if err != nil {
		return err
	}
	keep, err := attrs{n}.boolean("keep_dims", false)
	if err != nil {
		return err
	}
	r := x.rank()
	if r < 0 {
		return fmt.Errorf("%w: input of unknown rank", ErrUnsupported)
	}
	axes, err := axesOf(at, r, "reduction axis")
	if err != nil {
		return err
	}
	slices.Sort(axes)
	axes = slices.Compact(axes)
	shape := make([]int, 0, r)
	for i, d := range x.shape {
		switch {
		case !slices.Contains(axes, i):
			shape = append(shape, d)
		case keep:
			shape = append(shape, 1)
		}
	}
	if x.nchw != "" && r == 4 && (keep || keptInOrder(axes)) {
		mapped := make([]int64, len(axes))
		for i, a := range axes {
			mapped[i] = int64(nchwAxis[a])
		}
		slices.Sort(mapped)
		if slices.Equal(axes, []int{1, 2}) {
			// Spatial mean: GlobalAveragePool, then drop H and W.
			if keep {
				name, _ := im.out(n, 0, true, shape, x.dtype)
				im.emit("GlobalAveragePool", "", []string{x.nchw}, []string{name}, nil)
				return nil
			}
			pooled := im.fresh(n.GetName() + "/pooled")
			im.emit("GlobalAveragePool", "", []string{x.nchw}, []string{pooled}, nil)
			name, _ := im.out(n, 0, false, shape, x.dtype)
			im.emit("Squeeze", "squeeze", []string{pooled, im.int64s(n.GetName()+"/axes", 2, 3)}, []string{name}, nil)
			return nil
		}
		name, _ := im.out(n, 0, keep, shape, x.dtype)
		im.emit("ReduceMean", "", []string{x.nchw}, []string{name}, map[string]*graph.Attr{
			"axes": graph.IntsAttr(mapped...), "keepdims": graph.IntAttr(b2i(keep))})
		return nil
	}
	src := im.tfName(x)
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("ReduceMean", "", []string{src}, []string{name}, map[string]*graph.Attr{
		"axes": graph.IntsAttr(toI64(axes)...), "keepdims": graph.IntAttr(b2i(keep))})
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// convConcat imports ConcatV2 (axis last) and Concat (axis first).
func convConcat(im *importer, n *tfpb.NodeDef) error {
	k := numInputs(n)
	if k < 2 {
		return fmt.Errorf("%w: %d inputs, want values and an axis", ErrInvalid, k)
	}
	axisAt, first := k-1, 0
	if n.GetOp() == "Concat" {
		axisAt, first = 0, 1
	}
	at, err := im.constIn(n, axisAt, "axis")
	if err != nil {
		return err
	}
	if at.Len() != 1 {
		return fmt.Errorf("%w: axis has %d elements, want 1", ErrInvalid, at.Len())
	}
	xs := make([]*value, 0, k-1)
	for i := first; i < first+k-1; i++ {
		x, err := im.in(n, i)
		if err != nil {
			return err
		}
		xs = append(xs, x)
	}
	r := xs[0].rank()
	for _, x := range xs {
		if x.rank() < 0 || x.rank() != r {
			return fmt.Errorf("%w: inputs of ranks %d and %d (or unknown)", ErrUnsupported, r, x.rank())
		}
	}
	av, _ := toInt64s(at, "axis")
	if av == nil {
		return fmt.Errorf("%w: axis is not an integer", ErrInvalid)
	}
	axis, err := normAxis(av[0], r, "axis")
	if err != nil {
		return err
	}
	shape := slices.Clone(xs[0].shape)
	for _, x := range xs[1:] {
		if shape[axis] < 0 || x.shape[axis] < 0 {
			shape[axis] = -1
		} else {
			shape[axis] += x.shape[axis]
		}
	}
	nchw := r == 4
	anyNCHW := false
	for _, x := range xs {
		if x.nchw != "" {
			anyNCHW = true
		} else if x.c == nil {
			nchw = false
		}
	}
	nchw = nchw && anyNCHW
	names := make([]string, len(xs))
	for i, x := range xs {
		if nchw {
			if names[i], err = im.nchwName(x); err != nil {
				return err
			}
		} else {
			names[i] = im.tfName(x)
		}
	}
	irAxis := axis
	if nchw {
		irAxis = nchwAxis[axis]
	}
	name, _ := im.out(n, 0, nchw, shape, xs[0].dtype)
	im.emit("Concat", "", names, []string{name}, map[string]*graph.Attr{"axis": graph.IntAttr(int64(irAxis))})
	return nil
}

// resolveShape applies a Reshape target (with at most one -1) to a shape.
func resolveShape(in []int, target []int64) ([]int, error) {
	out := make([]int, len(target))
	unknown := -1
	known := 1
	for i, d := range target {
		switch {
		case d == -1:
			if unknown >= 0 {
				return nil, fmt.Errorf("%w: shape %v has more than one -1", ErrInvalid, target)
			}
			unknown = i
		case d < 0 || d > 1<<31:
			return nil, fmt.Errorf("%w: shape %v", ErrInvalid, target)
		default:
			out[i] = int(d)
			known *= max(int(d), 1)
		}
	}
	if unknown >= 0 {
		out[unknown] = -1
		if in != nil {
			if total, err := elements(in); err == nil && known > 0 && total%known == 0 {
				out[unknown] = total / known
			}
		}
	}
	return out, nil
}

func convReshape(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	sv, err := im.in(n, 1)
	if err != nil {
		return err
	}
	if sv.c == nil {
		return im.dynamicReshape(n, x, sv)
	}
	target, err := toInt64s(sv.c, "shape")
	if err != nil {
		return err
	}
	shape, err := resolveShape(x.shape, target)
	if err != nil {
		return err
	}
	if x.c != nil {
		if total, _ := elements(shape); total != x.c.Len() || slices.Contains(shape, -1) {
			return fmt.Errorf("%w: cannot reshape constant of shape %v to %v", ErrInvalid, x.c.Shape, target)
		}
		im.constant(n, 0, reshaped(x.c, shape...))
		return nil
	}
	src := im.tfName(x)
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("Reshape", "", []string{src, im.int64s(n.GetName()+"/shape", target...)}, []string{name}, nil)
	return nil
}

// dynamicReshape imports a Reshape whose target is computed at run time.
func (im *importer) dynamicReshape(n *tfpb.NodeDef, x, target *value) error {
	if target.dtype != tensor.Int32 && target.dtype != tensor.Int64 {
		return fmt.Errorf("%w: shape of element type %v", ErrInvalid, target.dtype)
	}
	var shape []int
	if target.rank() == 1 && target.shape[0] >= 0 {
		shape = make([]int, target.shape[0])
		for i := range shape {
			shape[i] = -1
		}
	}
	st := im.tfName(target)
	if target.dtype == tensor.Int32 {
		s64 := im.fresh(n.GetName() + "/shape")
		im.emit("Cast", "shape", []string{st}, []string{s64}, map[string]*graph.Attr{"to": graph.IntAttr(int64(tensor.Int64))})
		st = s64
	}
	src := im.tfName(x)
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("Reshape", "", []string{src, st}, []string{name}, nil)
	return nil
}

func convSqueeze(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	dims, err := attrs{n}.ints("squeeze_dims")
	if err != nil {
		return err
	}
	r := x.rank()
	if r < 0 {
		return fmt.Errorf("%w: input of unknown rank", ErrUnsupported)
	}
	var axes []int
	if len(dims) == 0 {
		for i, d := range x.shape {
			if d == 1 {
				axes = append(axes, i)
			} else if d < 0 {
				return fmt.Errorf("%w: squeeze of all size-1 axes of %v, which is not fully known", ErrUnsupported, x.shape)
			}
		}
	} else {
		for _, d := range dims {
			a, err := normAxis(d, r, "squeeze dim")
			if err != nil {
				return err
			}
			if x.shape[a] != 1 && x.shape[a] != -1 {
				return fmt.Errorf("%w: squeeze of axis %d of size %d", ErrInvalid, a, x.shape[a])
			}
			axes = append(axes, a)
		}
	}
	slices.Sort(axes)
	axes = slices.Compact(axes)
	var shape []int
	for i, d := range x.shape {
		if !slices.Contains(axes, i) {
			shape = append(shape, d)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	if x.c != nil {
		im.constant(n, 0, reshaped(x.c, shape...))
		return nil
	}
	src, irAxes := "", toI64(axes)
	if x.nchw != "" && r == 4 && keptInOrder(axes) {
		src = x.nchw
		for i, a := range axes {
			irAxes[i] = int64(nchwAxis[a])
		}
		slices.Sort(irAxes)
	} else {
		src = im.tfName(x)
	}
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("Squeeze", "", []string{src, im.int64s(n.GetName()+"/axes", irAxes...)}, []string{name}, nil)
	return nil
}

func convExpandDims(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	dt, err := im.constIn(n, 1, "dim")
	if err != nil {
		return err
	}
	r := x.rank()
	if r < 0 {
		return fmt.Errorf("%w: input of unknown rank", ErrUnsupported)
	}
	dv, err := toInt64s(dt, "dim")
	if err != nil {
		return err
	}
	if len(dv) != 1 {
		return fmt.Errorf("%w: dim has %d elements, want 1", ErrInvalid, len(dv))
	}
	a, err := normAxis(dv[0], r+1, "dim")
	if err != nil {
		return err
	}
	shape := slices.Insert(slices.Clone(x.shape), a, 1)
	if x.c != nil {
		im.constant(n, 0, reshaped(x.c, shape...))
		return nil
	}
	src := im.tfName(x)
	name, _ := im.out(n, 0, false, shape, x.dtype)
	im.emit("Unsqueeze", "", []string{src, im.int64s(n.GetName()+"/axes", int64(a))}, []string{name}, nil)
	return nil
}

// convPad imports Pad and PadV2 (constant padding).
func convPad(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	pt, err := im.constIn(n, 1, "paddings")
	if err != nil {
		return err
	}
	p, err := toInt64s(pt, "paddings")
	if err != nil {
		return err
	}
	r := x.rank()
	if r < 0 || len(p) != 2*r {
		return fmt.Errorf("%w: paddings of shape %v for an input of shape %v", ErrInvalid, pt.Shape, x.shape)
	}
	for _, v := range p {
		if v < 0 || v > 1<<20 {
			return fmt.Errorf("%w: padding %d", ErrUnsupported, v)
		}
	}
	value := float32(0)
	if n.GetOp() == "PadV2" {
		vt, err := im.constIn(n, 2, "constant_values")
		if err != nil {
			return err
		}
		if vt.Len() != 1 {
			return fmt.Errorf("%w: constant_values has %d elements, want 1", ErrInvalid, vt.Len())
		}
		value = float32(vt.Float64At(0))
	}
	shape := slices.Clone(x.shape)
	for i := range shape {
		if shape[i] >= 0 {
			shape[i] += int(p[2*i] + p[2*i+1])
		}
	}
	nchw := x.nchw != "" && r == 4
	pads := make([]int64, 2*r)
	for i := 0; i < r; i++ {
		j := i
		if nchw {
			j = nchwAxis[i]
		}
		pads[j], pads[j+r] = p[2*i], p[2*i+1]
	}
	src := x.nchw
	if !nchw {
		src = im.tfName(x)
	}
	inputs := []string{src, im.int64s(n.GetName()+"/pads", pads...)}
	if value != 0 {
		inputs = append(inputs, im.constName(n.GetName()+"/value", tensor.ScalarFloat32(value)))
	}
	name, _ := im.out(n, 0, nchw, shape, x.dtype)
	im.emit("Pad", "", inputs, []string{name}, nil)
	return nil
}
