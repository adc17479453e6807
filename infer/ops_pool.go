package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Pooling and resampling.

func init() {
	register(opEntry{alloc: buildPool, quantExact: true}, "MaxPool")
	register(opEntry{alloc: buildPool}, "AveragePool")
	register(opEntry{alloc: buildGlobalAveragePool}, "GlobalAveragePool")
	register(opEntry{build: buildGlobalMaxPool}, "GlobalMaxPool")
	register(opEntry{build: buildResize}, "Resize", "Upsample")
}

// buildPool builds MaxPool (with the optional Indices output) and
// AveragePool.
func buildPool(n *graph.Node, _ int64) (allocKernel, error) {
	withIndices := n.OpType == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != ""
	storageOrder := int(n.AttrInt("storage_order", 0))
	p := kernels.PoolParams{ConvParams: convParams(n), CountIncludePad: n.AttrInt("count_include_pad", 0) != 0}
	if len(p.KernelShape) == 0 {
		return nil, fmt.Errorf("missing kernel_shape")
	}
	maxPool := n.OpType == "MaxPool"
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if withIndices {
			y, idx, err := kernels.PoolND(x, p, true, true, storageOrder)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{y, idx}, nil
		}
		if maxPool {
			return one(kernels.MaxPoolWith(al, x, p))
		}
		return one(kernels.AveragePoolWith(al, x, p))
	}, nil
}

func buildGlobalAveragePool(*graph.Node, int64) (allocKernel, error) {
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "X")
		if err != nil {
			return nil, err
		}
		return one(kernels.GlobalAveragePoolWith(al, x))
	}, nil
}

func buildGlobalMaxPool(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		return one(kernels.GlobalMaxPool(x))
	}, nil
}

func buildResize(n *graph.Node, opset int64) (kernelFunc, error) {
	mode := n.AttrString("mode", "nearest")
	p := kernels.ResizeParams{
		Mode:           mode,
		CoordMode:      n.AttrString("coordinate_transformation_mode", "half_pixel"),
		NearestMode:    n.AttrString("nearest_mode", "round_prefer_floor"),
		CubicA:         float64(n.AttrFloat("cubic_coeff_a", -0.75)),
		ExcludeOutside: n.AttrInt("exclude_outside", 0) != 0,
		Extrapolation:  n.AttrFloat("extrapolation_value", 0),
	}
	legacy := n.OpType == "Upsample" || opset < 11
	if legacy {
		// Upsample and Resize-10: asymmetric coordinates, nearest rounds
		// down; "bilinear" is an old spelling of linear.
		p.CoordMode, p.NearestMode = "asymmetric", "floor"
		if mode == "bilinear" {
			p.Mode = "linear"
		}
	}
	if n.AttrInt("antialias", 0) != 0 {
		return nil, unsupportedf("antialias=1")
	}
	if _, ok := n.Attrs["axes"]; ok {
		return nil, unsupportedf("the axes attribute")
	}
	if pol := n.AttrString("keep_aspect_ratio_policy", "stretch"); pol != "stretch" {
		return nil, unsupportedf("keep_aspect_ratio_policy %q", pol)
	}
	switch p.Mode {
	case "nearest", "linear", "cubic":
	default:
		return nil, unsupportedf("mode %q", mode)
	}
	attrScales := n.AttrFloats("scales", nil)
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		var scalesT, sizesT *tensor.Tensor
		switch {
		case n.OpType == "Upsample" && opset < 9:
			scalesT = tensor.FromFloat32(tensor.Shape{len(attrScales)}, attrScales)
		case legacy:
			scalesT = opt(in, 1)
		default:
			scalesT, sizesT = opt(in, 2), opt(in, 3)
			if roi := opt(in, 1); roi != nil && p.CoordMode == "tf_crop_and_resize" {
				q := p
				q.ROI = kernels.Float64s(roi)
				p = q
			}
		}
		r := len(x.Shape)
		scales := make([]float64, r)
		var out tensor.Shape
		if sizesT != nil && sizesT.Len() > 0 {
			sz, err := intsInput(sizesT, "sizes")
			if err != nil {
				return nil, err
			}
			if len(sz) != r {
				return nil, fmt.Errorf("%d sizes for rank %d", len(sz), r)
			}
			out = make(tensor.Shape, r)
			for i, s := range sz {
				if s < 0 || s > 1<<24 {
					return nil, fmt.Errorf("invalid size %d", s)
				}
				out[i] = int(s)
				if x.Shape[i] > 0 {
					scales[i] = float64(s) / float64(x.Shape[i])
				}
			}
		} else {
			if scalesT == nil {
				return nil, fmt.Errorf("neither scales nor sizes given")
			}
			if scalesT.DType != tensor.Float32 {
				return nil, fmt.Errorf("scales are %v", scalesT.DType)
			}
			for i := range scales {
				if i < scalesT.Len() {
					scales[i] = float64(scalesT.F32[i])
				}
			}
			if out, err = kernels.ResizeOutShape(x.Shape, scales); err != nil {
				return nil, err
			}
		}
		return one(kernels.Resize(x, out, scales, p))
	}, nil
}
