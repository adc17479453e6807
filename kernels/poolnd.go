package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// PoolND computes MaxPool (max true) or AveragePool over any number of
// spatial dimensions of a float32 [N,C,spatial...] tensor. It is the general
// path behind MaxPool and AveragePool for 3-D inputs and for MaxPool's
// Indices output: withIndices also returns, for every output, the flat
// index of the chosen input element (row-major, or with storageOrder 1 the
// spatial dimensions in column-major order).
func PoolND(x *tensor.Tensor, p PoolParams, max bool, withIndices bool, storageOrder int) (*tensor.Tensor, *tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, nil, fmt.Errorf("pool: unsupported type %v", x.DType)
	}
	sr := len(x.Shape) - 2
	if sr < 1 {
		return nil, nil, fmt.Errorf("pool: input of shape %v has no spatial dimensions", x.Shape)
	}
	k := p.KernelShape
	if len(k) != sr || len(p.Strides) > sr || len(p.Dilations) > sr || (len(p.Pads) != 0 && len(p.Pads) != 2*sr) {
		return nil, nil, fmt.Errorf("kernel %v, strides %v, dilations %v or pads %v do not match input shape %v", k, p.Strides, p.Dilations, p.Pads, x.Shape)
	}
	in := []int(x.Shape[2:])
	out := make([]int, sr)
	pb := make([]int, sr)
	pe := make([]int, sr)
	st := make([]int, sr)
	dl := make([]int, sr)
	for i := 0; i < sr; i++ {
		st[i], dl[i] = pick(p.Strides, i, 1), pick(p.Dilations, i, 1)
		b, e := pick(p.Pads, i, 0), pick(p.Pads, i+sr, 0)
		if k[i] < 1 || st[i] < 1 || dl[i] < 1 || b < 0 || e < 0 {
			return nil, nil, fmt.Errorf("invalid kernel %v, strides %v, dilations %v or pads %v", k, p.Strides, p.Dilations, p.Pads)
		}
		var err error
		if out[i], pb[i], pe[i], err = resolveAxis(in[i], k[i], st[i], dl[i], b, e, p.AutoPad, p.CeilMode); err != nil {
			return nil, nil, err
		}
	}
	N, C := x.Shape[0], x.Shape[1]
	if err := CheckSize(append(tensor.Shape{N, C, tensor.Shape(k).Size()}, out...)); err != nil {
		return nil, nil, err
	}
	y := tensor.New(tensor.Float32, append(tensor.Shape{N, C}, out...))
	var idx *tensor.Tensor
	if withIndices {
		idx = tensor.New(tensor.Int64, y.Shape)
	}
	inSize, outSize := tensor.Shape(in).Size(), tensor.Shape(out).Size()
	K := tensor.Shape(k).Size()
	ist := tensor.Shape(in).Strides()
	// Column-major strides of the spatial dimensions, for storage_order 1.
	cst := make([]int, sr)
	acc := 1
	for i := 0; i < sr; i++ {
		cst[i] = acc
		acc *= in[i]
	}
	opos := make([]int, sr)
	kpos := make([]int, sr)
	for nc := 0; nc < N*C; nc++ {
		plane := x.F32[nc*inSize : (nc+1)*inSize]
		for o := 0; o < outSize; o++ {
			rem := o
			for d := sr - 1; d >= 0; d-- {
				opos[d] = rem % out[d]
				rem /= out[d]
			}
			best := float32(math.Inf(-1))
			bestAt := -1
			bestCol := 0
			var sum float32
			n, npad := 0, 0
			for t := 0; t < K; t++ {
				rem := t
				for d := sr - 1; d >= 0; d-- {
					kpos[d] = rem % k[d]
					rem /= k[d]
				}
				inside, inPad := true, true
				off, col := 0, 0
				for d := 0; d < sr; d++ {
					c := opos[d]*st[d] - pb[d] + kpos[d]*dl[d]
					if c < 0 || c >= in[d] {
						inside = false
					}
					if c < -pb[d] || c >= in[d]+pe[d] {
						inPad = false
					}
					off += c * ist[d]
					col += c * cst[d]
				}
				if inPad {
					npad++
				}
				if !inside {
					continue
				}
				v := plane[off]
				n++
				sum += v
				if bestAt < 0 || v > best || v != v {
					best, bestAt, bestCol = v, off, col
				}
			}
			if max {
				if bestAt < 0 {
					best = float32(math.Inf(-1))
				}
				y.F32[nc*outSize+o] = best
				if idx != nil {
					at := bestAt
					if storageOrder == 1 {
						at = bestCol
					}
					idx.I64[nc*outSize+o] = int64(nc*inSize + at)
				}
				continue
			}
			if p.CountIncludePad {
				n = npad
			}
			if n > 0 {
				y.F32[nc*outSize+o] = sum / float32(n)
			}
		}
	}
	return y, idx, nil
}
