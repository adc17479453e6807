package kernels

import (
	"fmt"

	"github.com/eightbitml/eightbit/tensor"
)

// ConvTransposeParams are the attributes of ONNX ConvTranspose. Zero values
// mean the ONNX defaults.
type ConvTransposeParams struct {
	KernelShape   []int
	Strides       []int
	Dilations     []int
	Pads          []int
	OutputPadding []int
	// OutputShape, when set, fixes the spatial output size (pads are then
	// derived from it).
	OutputShape []int
	AutoPad     string
	Group       int
}

// ConvTransposeGeometry resolves the spatial output size and begin pads of
// a ConvTranspose of spatial input size in with kernel k.
func ConvTransposeGeometry(in, k []int, p ConvTransposeParams) (out, padBegin []int, err error) {
	s := len(in)
	if len(p.Strides) > s || len(p.Dilations) > s || len(p.OutputPadding) > s || (len(p.Pads) != 0 && len(p.Pads) != 2*s) {
		return nil, nil, fmt.Errorf("strides %v, dilations %v, pads %v or output_padding %v do not match %d spatial dimensions", p.Strides, p.Dilations, p.Pads, p.OutputPadding, s)
	}
	if len(p.OutputShape) != 0 && len(p.OutputShape) != s {
		if len(p.OutputShape) != s+2 {
			return nil, nil, fmt.Errorf("output_shape %v does not match %d spatial dimensions", p.OutputShape, s)
		}
		p.OutputShape = p.OutputShape[2:]
	}
	out = make([]int, s)
	padBegin = make([]int, s)
	for i := 0; i < s; i++ {
		st, dl := pick(p.Strides, i, 1), pick(p.Dilations, i, 1)
		op := pick(p.OutputPadding, i, 0)
		if st < 1 || dl < 1 || k[i] < 1 || op < 0 || st > MaxElements || dl > MaxElements || op > MaxElements || k[i] > MaxElements {
			return nil, nil, fmt.Errorf("invalid strides %v, dilations %v, kernel %v or output_padding %v", p.Strides, p.Dilations, k, p.OutputPadding)
		}
		eff := (k[i]-1)*dl + 1
		full := st*(in[i]-1) + op + eff
		var total int
		switch {
		case len(p.OutputShape) > 0:
			// A larger output than the input covers is zero filled at the
			// end (no negative padding).
			out[i] = p.OutputShape[i]
			total = max(0, full-out[i])
		case p.AutoPad == "SAME_UPPER" || p.AutoPad == "SAME_LOWER":
			out[i] = in[i] * st
			total = full - out[i]
		case p.AutoPad == "VALID":
			out[i] = full
		case p.AutoPad == "" || p.AutoPad == "NOTSET":
			pb, pe := pick(p.Pads, i, 0), pick(p.Pads, i+s, 0)
			if pb < 0 || pe < 0 || pb > MaxElements || pe > MaxElements {
				return nil, nil, fmt.Errorf("negative pads %v", p.Pads)
			}
			padBegin[i] = pb
			out[i] = full - pb - pe
			if out[i] < 0 {
				return nil, nil, fmt.Errorf("pads %v leave no output", p.Pads)
			}
			continue
		default:
			return nil, nil, fmt.Errorf("unknown auto_pad %q", p.AutoPad)
		}
		if out[i] < 0 {
			return nil, nil, fmt.Errorf("invalid output size %d", out[i])
		}
		if p.AutoPad == "SAME_UPPER" {
			padBegin[i] = total / 2
		} else {
			padBegin[i] = total - total/2
		}
	}
	return out, padBegin, nil
}

// ConvTranspose computes ONNX ConvTranspose of x [N,C,spatial...] with
// weights w [C, M/group, k...] and optional bias [M] in float32, for any
// number of spatial dimensions: each group is one Gemm (Wᵀ·x) followed by a
// scatter-add of the columns into the output.
func ConvTranspose(x, w, b *tensor.Tensor, p ConvTransposeParams) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || w.DType != tensor.Float32 || (b != nil && b.DType != tensor.Float32) {
		return nil, fmt.Errorf("ConvTranspose wants float32 tensors")
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("ConvTranspose: input %v and weight %v shapes do not agree", x.Shape, w.Shape)
	}
	s := len(x.Shape) - 2
	k := []int(w.Shape[2:])
	if len(p.KernelShape) > 0 && !tensor.Shape(p.KernelShape).Equal(tensor.Shape(k)) {
		return nil, fmt.Errorf("kernel_shape %v does not match weight shape %v", p.KernelShape, w.Shape)
	}
	group := max(p.Group, 1)
	N, C := x.Shape[0], x.Shape[1]
	if C != w.Shape[0] || C%group != 0 {
		return nil, fmt.Errorf("input channels %d, weight shape %v and group %d do not agree", C, w.Shape, group)
	}
	cg, mg := C/group, w.Shape[1]
	M := mg * group
	if b != nil && b.Len() != M {
		return nil, fmt.Errorf("bias has %d elements, want %d", b.Len(), M)
	}
	in := []int(x.Shape[2:])
	out, pb, err := ConvTransposeGeometry(in, k, p)
	if err != nil {
		return nil, err
	}
	yshape := append(tensor.Shape{N, M}, out...)
	if err := CheckSize(yshape); err != nil {
		return nil, err
	}
	if err := CheckSize(tensor.Shape{mg, tensor.Shape(k).Size(), tensor.Shape(in).Size()}); err != nil {
		return nil, err
	}
	y := tensor.New(tensor.Float32, yshape)
	P := tensor.Shape(in).Size()
	Q := tensor.Shape(out).Size()
	K := tensor.Shape(k).Size()
	col := make([]float32, mg*K*P)
	// Offsets of every kernel tap and input position, per spatial axis.
	kpos := make([][]int, K)
	for t := 0; t < K; t++ {
		kpos[t] = unravel(t, k)
	}
	ipos := make([][]int, P)
	for q := 0; q < P; q++ {
		ipos[q] = unravel(q, in)
	}
	ost := tensor.Shape(out).Strides()
	for n := 0; n < N; n++ {
		for gr := 0; gr < group; gr++ {
			xin := x.F32[(n*C+gr*cg)*P : (n*C+gr*cg+cg)*P]
			wg := w.F32[gr*cg*mg*K : (gr+1)*cg*mg*K]
			Gemm(true, false, mg*K, P, cg, wg, mg*K, xin, P, col, P, false)
			for m := 0; m < mg; m++ {
				dst := y.F32[(n*M+gr*mg+m)*Q : (n*M+gr*mg+m+1)*Q]
				for t := 0; t < K; t++ {
					row := col[(m*K+t)*P : (m*K+t+1)*P]
					for q, v := range row {
						off := 0
						ok := true
						for d := 0; d < s; d++ {
							o := ipos[q][d]*pick(p.Strides, d, 1) - pb[d] + kpos[t][d]*pick(p.Dilations, d, 1)
							if o < 0 || o >= out[d] {
								ok = false
								break
							}
							off += o * ost[d]
						}
						if ok {
							dst[off] += v
						}
					}
				}
			}
		}
		if b != nil {
			for m := 0; m < M; m++ {
				dst := y.F32[(n*M+m)*Q : (n*M+m+1)*Q]
				for i := range dst {
					dst[i] += b.F32[m]
				}
			}
		}
	}
	return y, nil
}

// unravel turns a row-major linear index into coordinates of shape.
func unravel(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			c[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return c
}
