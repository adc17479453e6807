package kernels

import (
	"fmt"

	"github.com/eightbitml/eightbit/tensor"
)

// SliceRange resolves one ONNX Slice axis of size dim: negative starts and
// ends count from the end and are clamped as numpy does; the result is the
// first index and the number of elements taken with the step.
func SliceRange(start, end, step int64, dim int) (first, count int, err error) {
	if step == 0 {
		return 0, 0, fmt.Errorf("Slice: step 0")
	}
	d := int64(dim)
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	if step > 0 {
		start = min(max(start, 0), d)
		end = min(max(end, 0), d)
		if end <= start {
			return int(start), 0, nil
		}
		return int(start), int((end - start + step - 1) / step), nil
	}
	start = min(max(start, 0), d-1)
	end = min(max(end, -1), d-1)
	if start <= end {
		return int(start), 0, nil
	}
	return int(start), int((start - end + (-step) - 1) / (-step)), nil
}

// Slice takes x[starts:ends:steps] along axes (all axes, in order, when
// axes is nil; steps default to 1).
func Slice(x *tensor.Tensor, starts, ends, axes, steps []int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, fmt.Errorf("Slice: starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	first := make([]int, r)
	step := make([]int, r)
	out := x.Shape.Clone()
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		ax := i
		if axes != nil {
			a, err := normAxis(int(axes[i]), r)
			if err != nil {
				return nil, fmt.Errorf("Slice: %w", err)
			}
			ax = a
		}
		if ax >= r {
			return nil, fmt.Errorf("Slice: %d starts for rank %d", len(starts), r)
		}
		if seen[ax] {
			return nil, fmt.Errorf("Slice: axis %d repeated", ax)
		}
		seen[ax] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		f, c, err := SliceRange(starts[i], ends[i], st, x.Shape[ax])
		if err != nil {
			return nil, err
		}
		first[ax], out[ax], step[ax] = f, c, int(st)
	}
	y := tensor.New(x.DType, out)
	n := out.Size()
	if n == 0 {
		return y, nil
	}
	xs := x.Shape.Strides()
	idx := make([]int, n)
	pos := make([]int, r)
	base := 0
	for d := 0; d < r; d++ {
		base += first[d] * xs[d]
	}
	off := base
	for i := range idx {
		idx[i] = off
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			off += step[d] * xs[d]
			if pos[d] < out[d] {
				break
			}
			off -= step[d] * xs[d] * out[d]
			pos[d] = 0
		}
	}
	Take(y, x, idx)
	return y, nil
}

// Split cuts x along axis into pieces of the given sizes.
func Split(x *tensor.Tensor, axis int, sizes []int) ([]*tensor.Tensor, error) {
	r := len(x.Shape)
	ax, err := normAxis(axis, r)
	if err != nil {
		return nil, fmt.Errorf("Split: %w", err)
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("Split: negative size in %v", sizes)
		}
		total += s
	}
	if total != x.Shape[ax] {
		return nil, fmt.Errorf("Split: sizes %v do not add up to dimension %d of %v", sizes, ax, x.Shape)
	}
	outer := x.Shape[:ax].Size()
	inner := x.Shape[ax+1:].Size()
	outs := make([]*tensor.Tensor, len(sizes))
	start := 0
	for k, s := range sizes {
		shape := x.Shape.Clone()
		shape[ax] = s
		y := tensor.New(x.DType, shape)
		for o := 0; o < outer; o++ {
			copyElems(y, o*s*inner, x, (o*x.Shape[ax]+start)*inner, s*inner)
		}
		outs[k] = y
		start += s
	}
	return outs, nil
}

// PadMode pads x in mode "constant", "reflect" or "edge" (pads as in Pad;
// reflect and edge do not accept negative pads).
func PadMode(x *tensor.Tensor, pads []int64, mode string, value float32) (*tensor.Tensor, error) {
	if mode == "constant" || mode == "" {
		return Pad(x, pads, value)
	}
	r := len(x.Shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("Pad: %d pads for rank %d", len(pads), r)
	}
	out := make(tensor.Shape, r)
	for i := range out {
		if pads[i] < 0 || pads[i+r] < 0 || pads[i] > int64(MaxElements) || pads[i+r] > int64(MaxElements) {
			return nil, fmt.Errorf("Pad: pads %v out of range in %s mode", pads, mode)
		}
		out[i] = x.Shape[i] + int(pads[i]) + int(pads[i+r])
		if x.Shape[i] == 0 && out[i] > 0 {
			return nil, fmt.Errorf("Pad: cannot %s-pad an empty dimension", mode)
		}
		if mode == "reflect" && x.Shape[i] == 1 && out[i] > 1 {
			return nil, fmt.Errorf("Pad: cannot reflect-pad a dimension of size 1")
		}
	}
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Pad: %w", err)
	}
	if mode != "reflect" && mode != "edge" {
		return nil, fmt.Errorf("Pad: unknown mode %q", mode)
	}
	y := tensor.New(x.DType, out)
	n := out.Size()
	if n == 0 {
		return y, nil
	}
	xs := x.Shape.Strides()
	idx := make([]int, n)
	pos := make([]int, r)
	for i := range idx {
		off := 0
		for d := 0; d < r; d++ {
			p := pos[d] - int(pads[d])
			size := x.Shape[d]
			if mode == "edge" {
				p = min(max(p, 0), size-1)
			} else {
				period := 2 * (size - 1)
				if period == 0 {
					p = 0
				} else {
					p %= period
					if p < 0 {
						p += period
					}
					if p >= size {
						p = period - p
					}
				}
			}
			off += p * xs[d]
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
