package quantize

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// sameSince gives, for default-domain ops whose meaning at opset 13 is the
// same as at every opset from the listed one (later versions only added
// element types, optional inputs with the old default, or clarified the
// text), that first opset. Legacy attributes that later versions dropped
// (consumed_inputs, is_test, Gemm's broadcast) are removed on upgrade.
var sameSince = map[string]int64{
	"Abs": 1, "Acos": 7, "Add": 7, "And": 7, "ArgMax": 1, "ArgMin": 1, "Asin": 7, "Atan": 7,
	"AveragePool": 1, "BatchNormalization": 1, "Cast": 6, "Ceil": 1, "Concat": 4,
	"Constant": 1, "ConstantOfShape": 9, "Conv": 1, "ConvTranspose": 1, "Cos": 7,
	"DepthToSpace": 1, "DequantizeLinear": 10, "Div": 7, "Elu": 1, "Equal": 7, "Erf": 9,
	"Exp": 1, "Expand": 8, "Flatten": 1, "Floor": 1, "Gather": 1, "Gemm": 1,
	"GlobalAveragePool": 1, "GlobalMaxPool": 1, "Greater": 7, "HardSigmoid": 1,
	"Identity": 1, "InstanceNormalization": 1, "LRN": 1, "LeakyRelu": 1, "Less": 7,
	"Log": 1, "MatMul": 1, "Max": 1, "MaxPool": 1, "Mean": 1, "Min": 1, "Mul": 7,
	"Neg": 1, "Not": 1, "Or": 7, "PRelu": 7, "Pow": 7, "QuantizeLinear": 10,
	"Reciprocal": 1, "ReduceL2": 1, "ReduceMax": 1, "ReduceMean": 1, "ReduceMin": 1,
	"ReduceProd": 1, "Relu": 1, "Reshape": 5, "Selu": 1, "Shape": 1, "Sigmoid": 1,
	"Sin": 7, "Size": 1, "Slice": 10, "Softplus": 1, "Softsign": 1, "SpaceToDepth": 1,
	"Sqrt": 1, "Sub": 7, "Sum": 1, "Tanh": 1, "Tile": 6, "Transpose": 1, "Where": 9,
	// Ops introduced after opset 1, from the opset that introduced them (or
	// that made their current form: Resize's roi and coordinate modes at 11).
	"Acosh": 9, "Asinh": 9, "Atanh": 9, "Celu": 12, "ConvInteger": 10, "Cosh": 9,
	"CumSum": 11, "DynamicQuantizeLinear": 11, "Einsum": 12, "EyeLike": 9,
	"GatherElements": 11, "GatherND": 11, "GreaterOrEqual": 12, "IsInf": 10, "IsNaN": 9,
	"LessOrEqual": 12, "MatMulInteger": 10, "Mod": 10, "NonZero": 9, "QLinearConv": 10,
	"QLinearMatMul": 10, "Range": 11, "Resize": 11, "ReverseSequence": 10, "Round": 11,
	"Shrink": 9, "Sign": 9, "Sinh": 9, "Tan": 7, "ThresholdedRelu": 10, "Xor": 7,
}

// CheckQuantizable reports what Quantize would say of m's graph before any
// calibration: an error from the preparation passes, or an op of an old
// opset without an opset-13 form (kind failure.Unsupported). It returns
// the opset Quantize writes. m is not changed.
func CheckQuantizable(m *graph.Model) (int64, error) {
	p, err := Prepare(m)
	if err != nil {
		return 0, err
	}
	if err := upgradeOpset(p); err != nil {
		return 0, failure.Mark(err, failure.Unsupported)
	}
	return p.Opset(), nil
}

var legacyAttrs = []string{"consumed_inputs", "is_test"}

// upgradeOpset raises the default-domain opset of m to MinOpset. Below it,
// every op must mean the same at opset 13 (sameSince) or be converted, as
// ONNX's version converter does: Clip bounds, Squeeze/Unsqueeze/ReduceSum
// axes, Pad pads, Slice starts/ends/axes (opset < 10) and Split sizes become
// inputs; Upsample and Resize-10 become Resize-13 with
// asymmetric coordinates and nearest rounding down (their meaning), scales
// as an input and "bilinear" spelled linear; Dropout becomes a
// pass-through; Softmax/LogSoftmax/Hardmax keep their coerce-to-2-D meaning
// through Flatten and Reshape. Anything else is an error naming the op.
func upgradeOpset(m *graph.Model) error {
	v := m.Opset()
	if v >= MinOpset {
		return nil
	}
	if v == 0 {
		v = 1
	}
	g := m.Graph
	var out []*graph.Node
	newInit := func(base string, t *tensor.Tensor) string {
		name := g.UniqueName(base)
		g.Initializers[name] = t
		return name
	}
	for _, n := range g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			out = append(out, n)
			continue
		}
		for _, a := range legacyAttrs {
			delete(n.Attrs, a)
		}
		if since, ok := sameSince[n.OpType]; ok && v >= since {
			switch n.OpType {
			case "Gemm":
				delete(n.Attrs, "broadcast")
			case "BatchNormalization":
				if n.AttrInt("spatial", 1) != 1 {
					return fmt.Errorf("quantize: %s: BatchNormalization with spatial=0 has no opset-13 equivalent", n.Label())
				}
				delete(n.Attrs, "spatial")
			}
			out = append(out, n)
			continue
		}
		switch {
		case n.OpType == "Add" || n.OpType == "Sub" || n.OpType == "Mul" || n.OpType == "Div":
			// Opset < 7 legacy broadcasting: without axis it aligns trailing
			// dimensions, as numpy broadcasting does.
			if _, ok := n.Attrs["axis"]; ok {
				return fmt.Errorf("quantize: %s: legacy broadcast with axis (opset %d) is not supported; convert the model to opset >= 7", n.Label(), v)
			}
			delete(n.Attrs, "broadcast")
			out = append(out, n)
		case n.OpType == "Clip":
			if len(n.Inputs) > 1 {
				out = append(out, n) // opset 11 and 12 differ from 13 only in types
				break
			}
			lo, hi := n.AttrFloat("min", float32(math.Inf(-1))), n.AttrFloat("max", float32(math.Inf(1)))
			delete(n.Attrs, "min")
			delete(n.Attrs, "max")
			n.Inputs = []string{n.Input(0),
				newInit(n.Outputs[0]+"_min", tensor.ScalarFloat32(lo)),
				newInit(n.Outputs[0]+"_max", tensor.ScalarFloat32(hi))}
			out = append(out, n)
		case (n.OpType == "Squeeze" || n.OpType == "Unsqueeze" || n.OpType == "ReduceSum") && len(n.Inputs) == 1:
			if axes, ok := n.Attrs["axes"]; ok {
				n.Inputs = append(n.Inputs, newInit(n.Outputs[0]+"_axes", tensor.FromInt64(tensor.Shape{len(axes.Ints)}, append([]int64(nil), axes.Ints...))))
				delete(n.Attrs, "axes")
			}
			out = append(out, n)
		case n.OpType == "Pad" && v >= 2 && len(n.Inputs) == 1:
			pads := n.AttrInts("pads", nil)
			value := n.AttrFloat("value", 0)
			delete(n.Attrs, "pads")
			delete(n.Attrs, "value")
			n.Inputs = append(n.Inputs,
				newInit(n.Outputs[0]+"_pads", tensor.FromInt64(tensor.Shape{len(pads)}, append([]int64(nil), pads...))),
				newInit(n.Outputs[0]+"_value", tensor.ScalarFloat32(value)))
			out = append(out, n)
		case n.OpType == "Pad" && len(n.Inputs) > 1:
			out = append(out, n) // opset 11 and 12: pads already an input
		case n.OpType == "Slice":
			// Before opset 10: starts, ends and axes attributes, step 1.
			starts, ends := n.AttrInts("starts", nil), n.AttrInts("ends", nil)
			if len(starts) != len(ends) {
				return fmt.Errorf("quantize: %s: Slice with %d starts and %d ends", n.Label(), len(starts), len(ends))
			}
			n.Inputs = []string{n.Input(0),
				newInit(n.Outputs[0]+"_starts", int64s(starts)),
				newInit(n.Outputs[0]+"_ends", int64s(ends))}
			if axes, ok := n.Attrs["axes"]; ok {
				n.Inputs = append(n.Inputs, newInit(n.Outputs[0]+"_axes", int64s(axes.Ints)))
			}
			for _, a := range []string{"starts", "ends", "axes"} {
				delete(n.Attrs, a)
			}
			out = append(out, n)
		case n.OpType == "Split":
			if sizes, ok := n.Attrs["split"]; ok {
				if len(n.Inputs) > 1 {
					return fmt.Errorf("quantize: %s: Split with both a split input and attribute", n.Label())
				}
				n.Inputs = append(n.Inputs, newInit(n.Name+"_split", int64s(sizes.Ints)))
				delete(n.Attrs, "split")
			}
			out = append(out, n)
		case n.OpType == "Resize" || n.OpType == "Upsample":
			// Resize-10 and Upsample-7/9 (scales an input) or Upsample-1/7
			// (scales an attribute): asymmetric coordinates, nearest rounds
			// down.
			mode := n.AttrString("mode", "nearest")
			switch mode {
			case "bilinear", "linear":
				mode = "linear"
			case "nearest":
			default:
				return fmt.Errorf("quantize: %s: %s mode %q is not supported", n.Label(), n.OpType, mode)
			}
			scales := n.Input(1)
			if sc, ok := n.Attrs["scales"]; ok {
				scales = newInit(n.Outputs[0]+"_scales", tensor.FromFloat32(tensor.Shape{len(sc.Floats)}, append([]float32(nil), sc.Floats...)))
			}
			if scales == "" {
				return fmt.Errorf("quantize: %s: %s without scales", n.Label(), n.OpType)
			}
			for a := range n.Attrs {
				if a != "mode" && a != "scales" {
					return fmt.Errorf("quantize: %s: %s attribute %q is not supported", n.Label(), n.OpType, a)
				}
			}
			out = append(out, &graph.Node{Name: n.Name, OpType: "Resize", Inputs: []string{n.Input(0), "", scales},
				Outputs: n.Outputs, Attrs: map[string]*graph.Attr{
					"mode":                           graph.StringAttr(mode),
					"coordinate_transformation_mode": graph.StringAttr("asymmetric"),
					"nearest_mode":                   graph.StringAttr("floor")}})
		case n.OpType == "Dropout":
			if len(n.Outputs) > 1 && n.Outputs[1] != "" {
				return fmt.Errorf("quantize: %s: Dropout mask output %q is used", n.Label(), n.Outputs[1])
			}
			// Inference Dropout is the identity.
			out = append(out, &graph.Node{Name: n.Name, OpType: "Identity", Inputs: []string{n.Input(0)}, Outputs: []string{n.Outputs[0]}})
		case n.OpType == "Softmax" || n.OpType == "LogSoftmax" || n.OpType == "Hardmax":
			// Before opset 13 these work on the input coerced to 2-D at axis
			// (default 1): Shape, Flatten(axis), op(axis=1), Reshape back.
			axis := n.AttrInt("axis", 1)
			in, o := n.Input(0), n.Outputs[0]
			shape, flat, res := g.UniqueName(o+"_shape"), g.UniqueName(o+"_2d"), g.UniqueName(o+"_2d_out")
			out = append(out,
				&graph.Node{Name: g.UniqueName(o + "_Shape"), OpType: "Shape", Inputs: []string{in}, Outputs: []string{shape}},
				&graph.Node{Name: g.UniqueName(o + "_Flatten"), OpType: "Flatten", Inputs: []string{in}, Outputs: []string{flat},
					Attrs: map[string]*graph.Attr{"axis": graph.IntAttr(axis)}},
				&graph.Node{Name: n.Name, OpType: n.OpType, Inputs: []string{flat}, Outputs: []string{res},
					Attrs: map[string]*graph.Attr{"axis": graph.IntAttr(1)}},
				&graph.Node{Name: g.UniqueName(o + "_Reshape"), OpType: "Reshape", Inputs: []string{res, shape}, Outputs: []string{o}})
			// Names must be reserved before the next UniqueName call.
			g.Nodes = append(g.Nodes, out[len(out)-4:]...)
		default:
			return fmt.Errorf("quantize: %s: op %s of opset %d may change meaning at opset %d; not supported", n.Label(), n.OpType, v, MinOpset)
		}
	}
	g.Nodes = out
	g.RemoveIdentities()
	m.Opsets[""] = MinOpset
	delete(m.Opsets, "ai.onnx")
	return nil
}

// int64s is a 1-D int64 tensor holding a copy of v.
func int64s(v []int64) *tensor.Tensor {
	return tensor.FromInt64(tensor.Shape{len(v)}, append([]int64(nil), v...))
}
