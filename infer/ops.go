package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// kernelFunc runs one operator. Absent optional inputs are nil. Kernels
// never modify their inputs; outputs may share an input's data (views).
type kernelFunc func(in []*tensor.Tensor) ([]*tensor.Tensor, error)

// supportedOps are the ONNX operator types of the default domain that the
// executor runs.
var supportedOps = map[string]bool{
	"Conv": true, "BatchNormalization": true, "Gemm": true, "MatMul": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Relu": true, "Clip": true,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "Pad": true,
	"Flatten": true, "Reshape": true, "Transpose": true, "Softmax": true,
	"LogSoftmax": true, "Identity": true, "Dropout": true, "Constant": true,
	"Concat": true, "Squeeze": true, "Unsqueeze": true, "Shape": true,
	"Gather": true, "Cast": true, "QuantizeLinear": true, "DequantizeLinear": true,
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

func one(t *tensor.Tensor, err error) ([]*tensor.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func need(in []*tensor.Tensor, i int, what string) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("missing input %d (%s)", i, what)
	}
	return in[i], nil
}

// need2 returns the required inputs 0 and 1, named for errors.
func need2(in []*tensor.Tensor, name0, name1 string) (*tensor.Tensor, *tensor.Tensor, error) {
	a, err := need(in, 0, name0)
	if err != nil {
		return nil, nil, err
	}
	b, err := need(in, 1, name1)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

func opt(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func toInts(v []int64) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func convParams(n *graph.Node) kernels.ConvParams {
	return kernels.ConvParams{
		KernelShape: toInts(n.AttrInts("kernel_shape", nil)),
		Strides:     toInts(n.AttrInts("strides", nil)),
		Dilations:   toInts(n.AttrInts("dilations", nil)),
		Pads:        toInts(n.AttrInts("pads", nil)),
		AutoPad:     n.AttrString("auto_pad", "NOTSET"),
		Group:       int(n.AttrInt("group", 1)),
		CeilMode:    n.AttrInt("ceil_mode", 0) != 0,
	}
}

// scalarFloat reads a one-element float tensor (or returns def for nil).
func scalarFloat(t *tensor.Tensor, def float32) (float32, error) {
	if t == nil {
		return def, nil
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("want a scalar, have shape %v", t.Shape)
	}
	return float32(t.Float64At(0)), nil
}

func intsInput(t *tensor.Tensor, what string) ([]int64, error) {
	v, err := t.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
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

// buildOp prepares the kernel of one node for the given opset of the
// default domain. Attribute errors are reported here, at compile time.
func buildOp(n *graph.Node, opset int64) (kernelFunc, error) {
	if k, ok, err := buildAllocOp(n, opset); ok {
		if err != nil {
			return nil, err
		}
		return k.heap(), nil
	}
	switch n.OpType {
	case "Pad":
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
	case "Flatten":
		axis := int(n.AttrInt("axis", 1))
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "input")
			if err != nil {
				return nil, err
			}
			return one(kernels.Flatten(x, axis))
		}, nil
	case "Reshape":
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
	case "Softmax", "LogSoftmax":
		def := int64(1)
		if opset >= 13 {
			def = -1
		}
		axis := int(n.AttrInt("axis", def))
		log := n.OpType == "LogSoftmax"
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "input")
			if err != nil {
				return nil, err
			}
			return one(kernels.Softmax(x, axis, opset < 13, log))
		}, nil
	case "Identity":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "input")
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{x}, nil
		}, nil
	case "Dropout":
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
	case "Constant":
		v, err := constantValue(n)
		if err != nil {
			return nil, err
		}
		return func([]*tensor.Tensor) ([]*tensor.Tensor, error) { return []*tensor.Tensor{v}, nil }, nil
	case "Squeeze", "Unsqueeze":
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
	case "Shape":
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
	case "Gather":
		axis := int(n.AttrInt("axis", 0))
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, idx, err := need2(in, "data", "indices")
			if err != nil {
				return nil, err
			}
			return one(kernels.Gather(x, idx, axis))
		}, nil
	case "Cast":
		// FLOAT16 and DOUBLE tensors are held as float32 (the codec
		// converts them): casting to FLOAT16 rounds to half precision,
		// casting to DOUBLE keeps float32.
		code := n.AttrInt("to", 0)
		to := tensor.DType(code)
		half := code == 10
		if code == 10 || code == 11 {
			to = tensor.Float32
		}
		if !to.Supported() {
			return nil, unsupportedf("cast to element type %d", code)
		}
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := need(in, 0, "input")
			if err != nil {
				return nil, err
			}
			if half {
				y, err := kernels.Cast(x, tensor.Float32)
				if err != nil {
					return nil, err
				}
				return one(kernels.UnaryFloat(y, kernels.RoundFloat16))
			}
			return one(kernels.Cast(x, to))
		}, nil
	}
	if f, ok, err := buildMoreOp(n, opset); ok {
		return f, err
	}
	return buildQuantOp(n, opset)
}

// nodeMACs counts the multiply-accumulates of the compute-heavy ops.
func nodeMACs(op string, in, out []*tensor.Tensor) int64 {
	if len(out) == 0 || out[0] == nil || len(in) < 2 || in[1] == nil {
		return 0
	}
	switch op {
	case "Conv":
		w := in[1]
		if len(w.Shape) < 2 {
			return 0
		}
		return int64(out[0].Shape.Size()) * int64(w.Shape[1:].Size())
	case "Gemm":
		if len(out[0].Shape) != 2 || out[0].Shape[1] == 0 {
			return 0
		}
		return int64(out[0].Shape.Size()) * int64(in[1].Len()/out[0].Shape[1])
	case "MatMul":
		a := in[0]
		if a == nil || len(a.Shape) == 0 {
			return 0
		}
		return int64(out[0].Shape.Size()) * int64(a.Shape[len(a.Shape)-1])
	}
	return 0
}
