package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// ResizeParams are the attributes of ONNX Resize (and Upsample, which is
// Resize with asymmetric coordinates and floor rounding).
type ResizeParams struct {
	// Mode is "nearest", "linear" or "cubic".
	Mode string
	// CoordMode is the coordinate_transformation_mode ("half_pixel",
	// "pytorch_half_pixel", "align_corners", "asymmetric",
	// "tf_half_pixel_for_nn", "tf_crop_and_resize").
	CoordMode string
	// NearestMode is "round_prefer_floor", "round_prefer_ceil", "floor" or
	// "ceil".
	NearestMode string
	// CubicA is the cubic coefficient (ONNX default -0.75).
	CubicA float64
	// ExcludeOutside gives taps outside the input weight 0 (renormalising
	// the others).
	ExcludeOutside bool
	// Extrapolation is the value of output points that tf_crop_and_resize
	// maps outside the input.
	Extrapolation float32
	// ROI holds [start_1..start_r, end_1..end_r] in normalized coordinates
	// (tf_crop_and_resize only).
	ROI []float64
}

// ResizeOutShape returns floor(in·scale) per axis.
func ResizeOutShape(in tensor.Shape, scales []float64) (tensor.Shape, error) {
	if len(scales) != len(in) {
		return nil, fmt.Errorf("Resize: %d scales for rank %d", len(scales), len(in))
	}
	out := make(tensor.Shape, len(in))
	for i, s := range scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("Resize: invalid scale %v", s)
		}
		v := math.Floor(float64(in[i]) * s)
		if v > 1<<31 {
			return nil, fmt.Errorf("Resize: output too large")
		}
		out[i] = int(v)
	}
	return out, nil
}

// resizeTaps lists, for one output index, the input indices and weights it
// reads; outside marks points that extrapolate.
type resizeTaps struct {
	idx     []int
	w       []float64
	outside bool
}

func (p *ResizeParams) coord(i, inLen, outLen int, scale float64, axis, rank int) float64 {
	x := float64(i)
	// The transformations use the unrounded resized length in·scale.
	resized := float64(inLen) * scale
	switch p.CoordMode {
	case "", "half_pixel":
		return (x+0.5)/scale - 0.5
	case "pytorch_half_pixel":
		if resized > 1 {
			return (x+0.5)/scale - 0.5
		}
		return 0
	case "align_corners":
		if resized == 1 {
			return 0
		}
		return x * float64(inLen-1) / (resized - 1)
	case "asymmetric":
		return x / scale
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / scale
	case "tf_crop_and_resize":
		start, end := 0.0, 1.0
		if len(p.ROI) == 2*rank {
			start, end = p.ROI[axis], p.ROI[axis+rank]
		}
		if resized > 1 {
			return start*float64(inLen-1) + x*(end-start)*float64(inLen-1)/(resized-1)
		}
		return 0.5 * (start + end) * float64(inLen-1)
	}
	return math.NaN()
}

func cubicWeights(t, a float64) [4]float64 {
	w := func(d float64) float64 {
		d = math.Abs(d)
		switch {
		case d <= 1:
			return ((a+2)*d-(a+3))*d*d + 1
		case d < 2:
			return ((a*d-5*a)*d+8*a)*d - 4*a
		}
		return 0
	}
	return [4]float64{w(t + 1), w(t), w(1 - t), w(2 - t)}
}

func (p *ResizeParams) taps(i, inLen, outLen int, scale float64, axis, rank int) resizeTaps {
	x := p.coord(i, inLen, outLen, scale, axis, rank)
	if p.CoordMode == "tf_crop_and_resize" && (x < 0 || x > float64(inLen-1)) {
		return resizeTaps{outside: true}
	}
	clampI := func(v int) int { return min(max(v, 0), inLen-1) }
	switch p.Mode {
	case "", "nearest":
		var v float64
		switch p.NearestMode {
		case "", "round_prefer_floor":
			if x-math.Floor(x) == 0.5 {
				v = math.Floor(x)
			} else {
				v = math.Round(x)
			}
		case "round_prefer_ceil":
			if x-math.Floor(x) == 0.5 {
				v = math.Ceil(x)
			} else {
				v = math.Round(x)
			}
		case "floor":
			v = math.Floor(x)
		case "ceil":
			v = math.Ceil(x)
		}
		return resizeTaps{idx: []int{clampI(int(v))}, w: []float64{1}}
	case "linear":
		x = math.Min(math.Max(x, 0), float64(inLen-1))
		x0 := math.Floor(x)
		f := x - x0
		return resizeTaps{idx: []int{clampI(int(x0)), clampI(int(x0) + 1)}, w: []float64{1 - f, f}}
	default: // cubic
		x0 := math.Floor(x)
		cw := cubicWeights(x-x0, p.CubicA)
		t := resizeTaps{}
		sum := 0.0
		for k := 0; k < 4; k++ {
			j := int(x0) - 1 + k
			if p.ExcludeOutside && (j < 0 || j >= inLen) {
				continue
			}
			t.idx = append(t.idx, clampI(j))
			t.w = append(t.w, cw[k])
			sum += cw[k]
		}
		if p.ExcludeOutside && sum != 0 {
			for k := range t.w {
				t.w[k] /= sum
			}
		}
		return t
	}
}

// Resize resamples float32 x to shape out, one axis at a time (nearest,
// linear and cubic interpolation are separable). scales are the factors the
// coordinate transformation uses (out/in when the model gave sizes).
func Resize(x *tensor.Tensor, out tensor.Shape, scales []float64, p ResizeParams) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 {
		return nil, fmt.Errorf("Resize: unsupported type %v", x.DType)
	}
	r := len(x.Shape)
	if len(out) != r || len(scales) != r {
		return nil, fmt.Errorf("Resize: output %v or scales %v do not match input %v", out, scales, x.Shape)
	}
	switch p.Mode {
	case "", "nearest", "linear", "cubic":
	default:
		return nil, fmt.Errorf("Resize: unknown mode %q", p.Mode)
	}
	switch p.CoordMode {
	case "", "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize":
	default:
		return nil, fmt.Errorf("Resize: unknown coordinate_transformation_mode %q", p.CoordMode)
	}
	switch p.NearestMode {
	case "", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return nil, fmt.Errorf("Resize: unknown nearest_mode %q", p.NearestMode)
	}
	for d := 0; d < r; d++ {
		if out[d] < 0 || (x.Shape[d] == 0 && out[d] > 0) {
			return nil, fmt.Errorf("Resize: cannot resize %v to %v", x.Shape, out)
		}
	}
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("Resize: %w", err)
	}
	cur := x
	var outsideMask []bool // per element of the final output
	maskShape := tensor.Shape{}
	for d := 0; d < r; d++ {
		inLen, outLen := cur.Shape[d], out[d]
		taps := make([]resizeTaps, outLen)
		identity := inLen == outLen
		anyOutside := false
		for i := range taps {
			taps[i] = p.taps(i, inLen, outLen, scales[d], d, r)
			t := taps[i]
			if t.outside {
				anyOutside = true
				identity = false
				continue
			}
			if identity {
				nz := 0
				for k := range t.idx {
					if t.w[k] != 0 {
						nz++
						if t.idx[k] != i || t.w[k] != 1 {
							identity = false
						}
					}
				}
				if nz != 1 {
					identity = false
				}
			}
		}
		if identity {
			continue
		}
		shape := cur.Shape.Clone()
		shape[d] = outLen
		y := tensor.New(tensor.Float32, shape)
		outer := cur.Shape[:d].Size()
		inner := cur.Shape[d+1:].Size()
		for o := 0; o < outer; o++ {
			src := cur.F32[o*inLen*inner : (o+1)*inLen*inner]
			dst := y.F32[o*outLen*inner : (o+1)*outLen*inner]
			for i, t := range taps {
				row := dst[i*inner : (i+1)*inner]
				if t.outside {
					continue
				}
				for j := range row {
					var s float64
					for k, ix := range t.idx {
						s += t.w[k] * float64(src[ix*inner+j])
					}
					row[j] = float32(s)
				}
			}
		}
		if anyOutside {
			if outsideMask == nil {
				maskShape = out
				outsideMask = make([]bool, out.Size())
			}
			// Mark every final element whose coordinate on axis d is outside.
			st := maskShape.Strides()
			for i, e := range outsideMask {
				if !e && taps[(i/st[d])%out[d]].outside {
					outsideMask[i] = true
				}
			}
		}
		cur = y
	}
	if cur == x {
		cur = x.Clone()
	}
	for i, e := range outsideMask {
		if e {
			cur.F32[i] = p.Extrapolation
		}
	}
	return cur, nil
}
