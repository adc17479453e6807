package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Shape and data movement: reshaping, transposing, joining, splitting,
// slicing, gathering, padding and tiling tensors, masking triangles of
// matrices, the shape computations, and the pass-through and constant
// nodes (Identity, Dropout, Constant).

func init() {
	register(opEntry{build: buildPad}, "Pad")
	register(opEntry{build: buildFlatten, quantExact: true}, "Flatten")
	register(opEntry{build: buildReshape, quantExact: true}, "Reshape")
	register(opEntry{alloc: buildTranspose, quantExact: true}, "Transpose")
	register(opEntry{alloc: buildConcat, shapeData: true}, "Concat")
	register(opEntry{build: buildSqueeze, shapeData: true}, "Squeeze", "Unsqueeze")
	register(opEntry{build: buildShape, shapeData: true}, "Shape")
	register(opEntry{build: buildSize, shapeData: true}, "Size")
	register(opEntry{build: buildGather, shapeData: true}, "Gather")
	register(opEntry{build: buildSlice, shapeData: true}, "Slice")
	register(opEntry{build: buildSplit}, "Split")
	register(opEntry{build: buildExpand}, "Expand")
	register(opEntry{build: buildTile}, "Tile")
	register(opEntry{build: buildConstantOfShape}, "ConstantOfShape")
	register(opEntry{build: buildRange}, "Range")
	register(opEntry{build: buildTrilu}, "Trilu")
	register(opEntry{build: buildIdentity, shapeData: true}, "Identity")
	register(opEntry{build: buildDropout}, "Dropout")
	register(opEntry{build: buildConstant}, "Constant")
}

// buildPad builds Pad: pads and value are attributes before opset 11,
// inputs (with optional axes from 18) since.
func buildPad(n *graph.Node, opset int64) (kernelFunc, error) {
	mode := n.AttrString("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge":
	default:
		return nil, unsupportedf("mode %q", mode)
	}
	attrPads := n.AttrInts("pads", n.AttrInts("paddings", nil))
	attrValue := n.AttrFloat("value", 0)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		pads, value := attrPads, attrValue
		if opset >= 11 {
			pt, err := need(in, 1, "pads")
			if err != nil {
				return nil, err
			}
			if pads, err = intsInput(pt, "pads"); err != nil {
				return nil, err
			}
			if value, err = scalarFloat(opt(in, 2), 0); err != nil {
				return nil, fmt.Errorf("constant_value: %w", err)
			}
			if axt := opt(in, 3); axt != nil {
				axes, err := intsInput(axt, "axes")
				if err != nil {
					return nil, err
				}
				r := len(x.Shape)
				full := make([]int64, 2*r)
				for i, a := range axes {
					if a < 0 {
						a += int64(r)
					}
					if a < 0 || a >= int64(r) || 2*len(axes) != len(pads) {
						return nil, fmt.Errorf("invalid axes %v for pads %v", axes, pads)
					}
					full[a], full[int(a)+r] = pads[i], pads[i+len(axes)]
				}
				pads = full
			}
		}
		return one(kernels.PadMode(x, pads, mode, value))
	}, nil
}

func buildFlatten(n *graph.Node, _ int64) (kernelFunc, error) {
	axis := int(n.AttrInt("axis", 1))
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		return one(kernels.Flatten(x, axis))
	}, nil
}

func buildReshape(n *graph.Node, opset int64) (kernelFunc, error) {
	allowZero := n.AttrInt("allowzero", 0) != 0
	attrShape := n.AttrInts("shape", nil)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		target := attrShape
		if opset >= 5 {
			st, err := need(in, 1, "shape")
			if err != nil {
				return nil, err
			}
			if target, err = intsInput(st, "shape"); err != nil {
				return nil, err
			}
		}
		return one(kernels.Reshape(x, target, allowZero))
	}, nil
}

func buildTranspose(n *graph.Node, _ int64) (allocKernel, error) {
	perm := n.AttrInts("perm", nil)
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		return one(kernels.TransposeWith(al, x, perm))
	}, nil
}

func buildConcat(n *graph.Node, _ int64) (allocKernel, error) {
	axis := int(n.AttrInt("axis", 0))
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		xs := make([]*tensor.Tensor, 0, len(in))
		for _, t := range in {
			if t != nil {
				xs = append(xs, t)
			}
		}
		return one(kernels.ConcatWith(al, xs, axis))
	}, nil
}

// buildSqueeze builds Squeeze and Unsqueeze: axes are an attribute before
// opset 13, an input since.
func buildSqueeze(n *graph.Node, opset int64) (kernelFunc, error) {
	attrAxes := n.AttrInts("axes", nil)
	sq := n.OpType == "Squeeze"
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		axes := attrAxes
		if opset >= 13 {
			if at := opt(in, 1); at != nil {
				if axes, err = intsInput(at, "axes"); err != nil {
					return nil, err
				}
			} else {
				axes = nil
			}
		}
		if sq {
			return one(kernels.Squeeze(x, axes))
		}
		return one(kernels.Unsqueeze(x, axes))
	}, nil
}

func buildShape(n *graph.Node, _ int64) (kernelFunc, error) {
	start := int(n.AttrInt("start", 0))
	_, hasEnd := n.Attrs["end"]
	end := int(n.AttrInt("end", 0))
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{kernels.ShapeOf(x, start, end, hasEnd)}, nil
	}, nil
}

func buildSize(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{tensor.FromInt64(nil, []int64{int64(x.Shape.Size())})}, nil
	}, nil
}

func buildGather(n *graph.Node, _ int64) (kernelFunc, error) {
	axis := int(n.AttrInt("axis", 0))
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, idx, err := need2(in, "data", "indices")
		if err != nil {
			return nil, err
		}
		return one(kernels.Gather(x, idx, axis))
	}, nil
}

func buildSlice(n *graph.Node, opset int64) (kernelFunc, error) {
	attrStarts, attrEnds, attrAxes := n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		if opset < 10 {
			return one(kernels.Slice(x, attrStarts, attrEnds, attrAxes, nil))
		}
		st, err := need(in, 1, "starts")
		if err != nil {
			return nil, err
		}
		et, err := need(in, 2, "ends")
		if err != nil {
			return nil, err
		}
		starts, err := intsInput(st, "starts")
		if err != nil {
			return nil, err
		}
		ends, err := intsInput(et, "ends")
		if err != nil {
			return nil, err
		}
		axes, err := optInts(in, 3, "axes")
		if err != nil {
			return nil, err
		}
		steps, err := optInts(in, 4, "steps")
		if err != nil {
			return nil, err
		}
		return one(kernels.Slice(x, starts, ends, axes, steps))
	}, nil
}

func buildSplit(n *graph.Node, opset int64) (kernelFunc, error) {
	axis := int(n.AttrInt("axis", 0))
	attrSplit := n.AttrInts("split", nil)
	nout := len(n.Outputs)
	numOutputs := int(n.AttrInt("num_outputs", 0))
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		split := attrSplit
		if opset >= 13 {
			if split, err = optInts(in, 1, "split"); err != nil {
				return nil, err
			}
		}
		r := len(x.Shape)
		ax := axis
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			return nil, fmt.Errorf("axis %d out of range for shape %v", axis, x.Shape)
		}
		var sizes []int
		if len(split) > 0 {
			sizes = toInts(split)
		} else {
			parts := nout
			if numOutputs > 0 {
				parts = numOutputs
			}
			d := x.Shape[ax]
			chunk := (d + parts - 1) / parts
			if numOutputs == 0 && d%parts != 0 {
				return nil, fmt.Errorf("dimension %d does not split into %d equal parts", d, parts)
			}
			for left := d; left > 0 || len(sizes) < parts; left -= chunk {
				sizes = append(sizes, min(chunk, max(left, 0)))
				if len(sizes) == parts {
					break
				}
			}
		}
		return kernels.Split(x, ax, sizes)
	}, nil
}

func buildExpand(*graph.Node, int64) (kernelFunc, error) {
	return tensorAndInts("shape", kernels.Expand), nil
}

func buildTile(_ *graph.Node, opset int64) (kernelFunc, error) {
	if opset < 6 {
		return nil, unsupportedf("Tile before opset 6")
	}
	return tensorAndInts("repeats", kernels.Tile), nil
}

func buildConstantOfShape(n *graph.Node, _ int64) (kernelFunc, error) {
	value := tensor.ScalarFloat32(0)
	if t := n.AttrTensor("value"); t != nil {
		if t.Len() != 1 {
			return nil, fmt.Errorf("value has %d elements, want 1", t.Len())
		}
		value = t
	}
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		st, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		dims, err := intsInput(st, "input")
		if err != nil {
			return nil, err
		}
		shape := make(tensor.Shape, len(dims))
		for i, d := range dims {
			if d < 0 || d > int64(kernels.MaxElements) {
				return nil, fmt.Errorf("invalid shape %v", dims)
			}
			shape[i] = int(d)
		}
		if err := kernels.CheckSize(shape); err != nil {
			return nil, err
		}
		idx := make([]int, shape.Size())
		y := tensor.New(value.DType, shape)
		kernels.Take(y, value, idx)
		return []*tensor.Tensor{y}, nil
	}, nil
}

func buildRange(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		var v [3]float64
		var dt tensor.DType
		for i, name := range []string{"start", "limit", "delta"} {
			t, err := need(in, i, name)
			if err != nil {
				return nil, err
			}
			if t.Len() != 1 {
				return nil, fmt.Errorf("%s is not a scalar", name)
			}
			v[i], dt = t.Float64At(0), t.DType
		}
		if v[2] == 0 {
			return nil, fmt.Errorf("delta is 0")
		}
		cnt := math.Max(math.Ceil((v[1]-v[0])/v[2]), 0)
		if cnt > float64(kernels.MaxElements) {
			return nil, fmt.Errorf("range of %v elements", cnt)
		}
		y := tensor.New(dt, tensor.Shape{int(cnt)})
		for i := 0; i < int(cnt); i++ {
			if dt == tensor.Float32 {
				y.F32[i] = float32(v[0]) + float32(i)*float32(v[2])
			} else {
				kernels.SetFloat64(y, i, v[0]+float64(i)*v[2])
			}
		}
		return []*tensor.Tensor{y}, nil
	}, nil
}

// buildTrilu builds Trilu (opset 14): each matrix of the last two
// dimensions keeps the elements on and above (upper=1, the default) or on
// and below (upper=0) its k-th diagonal and the others become zero; k, the
// optional scalar input 1, counts diagonals above the main one (default 0,
// negative below).
func buildTrilu(n *graph.Node, _ int64) (kernelFunc, error) {
	upper := n.AttrInt("upper", 1) != 0
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		r := len(x.Shape)
		if r < 2 {
			return nil, fmt.Errorf("want input of rank >= 2, have shape %v", x.Shape)
		}
		var k int64
		if kt := opt(in, 1); kt != nil {
			v, err := intsInput(kt, "k")
			if err != nil {
				return nil, err
			}
			if len(v) != 1 {
				return nil, fmt.Errorf("k must be a scalar, have shape %v", kt.Shape)
			}
			k = v[0]
		}
		rows, cols := x.Shape[r-2], x.Shape[r-1]
		y := x.Clone()
		for m := 0; m < x.Shape[:r-2].Size(); m++ {
			for i := 0; i < rows; i++ {
				row := (m*rows + i) * cols
				for j := 0; j < cols; j++ {
					d := int64(j - i)
					if (upper && d < k) || (!upper && d > k) {
						kernels.SetFloat64(y, row+j, 0)
					}
				}
			}
		}
		return []*tensor.Tensor{y}, nil
	}, nil
}

func buildIdentity(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{x}, nil
	}, nil
}

// buildDropout builds inference-mode Dropout: the data passes through, the
// optional mask is all ones.
func buildDropout(n *graph.Node, opset int64) (kernelFunc, error) {
	if opset < 7 && n.AttrInt("is_test", 0) == 0 {
		return nil, unsupportedf("training mode (is_test=0)")
	}
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "data")
		if err != nil {
			return nil, err
		}
		if tm := opt(in, 2); opset >= 12 && tm != nil && tm.Len() == 1 && tm.Float64At(0) != 0 {
			ratio := 0.5
			if r := opt(in, 1); r != nil && r.Len() == 1 {
				ratio = r.Float64At(0)
			}
			if ratio != 0 {
				return nil, unsupportedf("training_mode=true (random dropout)")
			}
		}
		out := []*tensor.Tensor{x}
		if len(n.Outputs) > 1 {
			mask := tensor.New(tensor.Bool, x.Shape)
			if opset < 10 {
				// Before opset 10 the mask has the input's type.
				mask = tensor.New(x.DType, x.Shape)
			}
			for i := range mask.U8 {
				mask.U8[i] = 1
			}
			for i := range mask.F32 {
				mask.F32[i] = 1
			}
			out = append(out, mask)
		}
		return out, nil
	}, nil
}

func buildConstant(n *graph.Node, _ int64) (kernelFunc, error) {
	v, err := constantValue(n)
	if err != nil {
		return nil, err
	}
	return func([]*tensor.Tensor) ([]*tensor.Tensor, error) { return []*tensor.Tensor{v}, nil }, nil
}

// constantValue returns the value of a Constant node.
func constantValue(n *graph.Node) (*tensor.Tensor, error) {
	if t := n.AttrTensor("value"); t != nil {
		return t, nil
	}
	if a, ok := n.Attrs["value_float"]; ok && a.Type == graph.AttrFloat {
		return tensor.ScalarFloat32(a.F), nil
	}
	if a, ok := n.Attrs["value_floats"]; ok && a.Type == graph.AttrFloats {
		return tensor.FromFloat32(tensor.Shape{len(a.Floats)}, append([]float32(nil), a.Floats...)), nil
	}
	if a, ok := n.Attrs["value_int"]; ok && a.Type == graph.AttrInt {
		return tensor.FromInt64(nil, []int64{a.I}), nil
	}
	if a, ok := n.Attrs["value_ints"]; ok && a.Type == graph.AttrInts {
		return tensor.FromInt64(tensor.Shape{len(a.Ints)}, append([]int64(nil), a.Ints...)), nil
	}
	return nil, fmt.Errorf("Constant without a supported value attribute")
}

// tensorAndInts builds the kernel of an op whose inputs are a tensor and
// an integer list named what (Expand's shape, Tile's repeats).
func tensorAndInts(what string, f func(*tensor.Tensor, []int64) (*tensor.Tensor, error)) kernelFunc {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		t, err := need(in, 1, what)
		if err != nil {
			return nil, err
		}
		v, err := intsInput(t, what)
		if err != nil {
			return nil, err
		}
		return one(f(x, v))
	}
}
