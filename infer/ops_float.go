package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// ErrUnsupported is wrapped by errors about operator variants (attribute
// values, input types, training modes) that the executor does not
// implement, as opposed to malformed models. Compile lists such nodes in its
// *UnsupportedError.
var ErrUnsupported = failure.Errorf(failure.Unsupported, "unsupported")

type unsupportedErr struct{ msg string }

func (e *unsupportedErr) Error() string        { return e.msg }
func (e *unsupportedErr) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns ErrUnsupported, so that the error has kind unsupported.
func (e *unsupportedErr) Unwrap() error { return ErrUnsupported }

func unsupportedf(format string, args ...any) error {
	return &unsupportedErr{fmt.Sprintf(format, args...)}
}

// moreOps are the float operators built by buildMoreOp.
var moreOps = map[string]bool{
	"ConvTranspose": true, "InstanceNormalization": true, "LRN": true, "GlobalMaxPool": true,
	"Pow": true, "Max": true, "Min": true, "Sum": true, "Mean": true, "Mod": true, "PRelu": true,
	"LeakyRelu": true, "Elu": true, "Selu": true, "Celu": true, "Sigmoid": true, "HardSigmoid": true,
	"HardSwish": true, "Tanh": true, "Softplus": true, "Softsign": true, "Erf": true, "Exp": true,
	"Log": true, "Sqrt": true, "Reciprocal": true, "Neg": true, "Abs": true, "Floor": true,
	"Ceil": true, "Round": true, "Sign": true, "Sin": true, "Cos": true, "Tan": true, "Asin": true,
	"Acos": true, "Atan": true, "Sinh": true, "Cosh": true, "Asinh": true, "Acosh": true, "Atanh": true,
	"ThresholdedRelu": true, "Shrink": true, "IsNaN": true, "IsInf": true, "Not": true,
	"Equal": true, "Greater": true, "Less": true, "GreaterOrEqual": true, "LessOrEqual": true,
	"And": true, "Or": true, "Xor": true, "Where": true, "Expand": true, "Tile": true,
	"ConstantOfShape": true, "Size": true, "Split": true, "Slice": true, "Range": true,
	"ReduceMean": true, "ReduceSum": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true,
	"ReduceSumSquare": true, "ReduceL1": true, "ReduceL2": true, "ReduceLogSum": true, "ReduceLogSumExp": true,
	"ArgMax": true, "ArgMin": true, "Hardmax": true, "Resize": true, "Upsample": true, "CastLike": true,
}

func init() {
	for k := range moreOps {
		supportedOps[k] = true
	}
}

// in0 is the common preamble of single-input kernels.
func in0(in []*tensor.Tensor) (*tensor.Tensor, error) { return need(in, 0, "X") }

func unaryFloat(f func(float64) float64) kernelFunc {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		if x.DType != tensor.Float32 {
			return nil, unsupportedf("element type %v (float only)", x.DType)
		}
		return one(kernels.Unary(x, f))
	}
}

func unaryAny(f func(float64) float64) kernelFunc {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, err := in0(in)
		if err != nil {
			return nil, err
		}
		if x.DType == tensor.Bool {
			return nil, unsupportedf("element type bool")
		}
		return one(kernels.Unary(x, f))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// nonNil returns the present inputs.
func nonNil(in []*tensor.Tensor) []*tensor.Tensor {
	var xs []*tensor.Tensor
	for _, t := range in {
		if t != nil {
			xs = append(xs, t)
		}
	}
	return xs
}

// optInts reads an optional integer input (nil when absent).
func optInts(in []*tensor.Tensor, i int, what string) ([]int64, error) {
	t := opt(in, i)
	if t == nil {
		return nil, nil
	}
	return intsInput(t, what)
}

func reduceKind(op string) kernels.ReduceOp {
	return map[string]kernels.ReduceOp{
		"ReduceSum": kernels.ReduceSum, "ReduceMean": kernels.ReduceMean, "ReduceMax": kernels.ReduceMax,
		"ReduceMin": kernels.ReduceMin, "ReduceProd": kernels.ReduceProd, "ReduceSumSquare": kernels.ReduceSumSquare,
		"ReduceL1": kernels.ReduceL1, "ReduceL2": kernels.ReduceL2, "ReduceLogSum": kernels.ReduceLogSum,
		"ReduceLogSumExp": kernels.ReduceLogSumExp,
	}[op]
}

// buildMoreOp builds the operators of moreOps; ok is false for other types.
func buildMoreOp(n *graph.Node, opset int64) (kernelFunc, bool, error) {
	f, err := buildMore(n, opset)
	if f == nil && err == nil {
		return nil, false, nil
	}
	return f, true, err
}

func buildMore(n *graph.Node, opset int64) (kernelFunc, error) {
	switch n.OpType {
	case "ConvTranspose":
		p := kernels.ConvTransposeParams{
			KernelShape:   toInts(n.AttrInts("kernel_shape", nil)),
			Strides:       toInts(n.AttrInts("strides", nil)),
			Dilations:     toInts(n.AttrInts("dilations", nil)),
			Pads:          toInts(n.AttrInts("pads", nil)),
			OutputPadding: toInts(n.AttrInts("output_padding", nil)),
			OutputShape:   toInts(n.AttrInts("output_shape", nil)),
			AutoPad:       n.AttrString("auto_pad", "NOTSET"),
			Group:         int(n.AttrInt("group", 1)),
		}
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, w, err := need2(in, "X", "W")
			if err != nil {
				return nil, err
			}
			return one(kernels.ConvTranspose(x, w, opt(in, 2), p))
		}, nil
	case "InstanceNormalization":
		eps := n.AttrFloat("epsilon", 1e-5)
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, s, err := need2(in, "input", "scale")
			if err != nil {
				return nil, err
			}
			b, err := need(in, 2, "B")
			if err != nil {
				return nil, err
			}
			return one(kernels.InstanceNorm(x, s, b, eps))
		}, nil
	case "GlobalMaxPool":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			return one(kernels.GlobalMaxPool(x))
		}, nil
	case "Pow":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, y, err := need2(in, "X", "Y")
			if err != nil {
				return nil, err
			}
			if x.DType == tensor.Bool || y.DType == tensor.Bool {
				return nil, unsupportedf("bool operands")
			}
			if x.DType == tensor.Int64 && y.DType == tensor.Int64 {
				return one(kernels.Int64Combine(x, y, func(a, b int64) int64 { return int64(math.Pow(float64(a), float64(b))) }))
			}
			return one(kernels.Combine(x, y, x.DType, math.Pow))
		}, nil
	case "Max", "Min", "Sum", "Mean":
		var f func(a, b float64) float64
		switch n.OpType {
		case "Max":
			f = func(a, b float64) float64 {
				if a != a || b != b {
					return math.NaN()
				}
				return math.Max(a, b)
			}
		case "Min":
			f = func(a, b float64) float64 {
				if a != a || b != b {
					return math.NaN()
				}
				return math.Min(a, b)
			}
		default:
			f = func(a, b float64) float64 { return a + b }
		}
		op := n.OpType
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			xs := nonNil(in)
			if len(xs) == 0 {
				return nil, fmt.Errorf("no inputs")
			}
			if (op == "Sum" || op == "Mean") && xs[0].DType == tensor.Float32 {
				// Float sums in float32, left to right, as ONNX Runtime.
				acc := xs[0]
				for _, x := range xs[1:] {
					var err error
					if acc, err = kernels.Binary(kernels.OpAdd, acc, x); err != nil {
						return nil, err
					}
				}
				if op == "Mean" {
					return one(kernels.Binary(kernels.OpDiv, acc, tensor.ScalarFloat32(float32(len(xs)))))
				}
				if len(xs) == 1 {
					acc = acc.Clone()
				}
				return []*tensor.Tensor{acc}, nil
			}
			if op == "Mean" {
				return nil, unsupportedf("Mean of %v", xs[0].DType)
			}
			return one(kernels.Variadic(xs, f))
		}, nil
	case "Mod":
		fmod := n.AttrInt("fmod", 0) != 0
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			a, b, err := need2(in, "A", "B")
			if err != nil {
				return nil, err
			}
			if a.DType != b.DType {
				return nil, fmt.Errorf("types %v and %v differ", a.DType, b.DType)
			}
			if a.DType == tensor.Float32 && !fmod {
				return nil, fmt.Errorf("fmod=0 on floats")
			}
			intType := a.DType != tensor.Float32
			return one(kernels.Combine(a, b, a.DType, func(x, y float64) float64 {
				if intType && y == 0 {
					return 0
				}
				r := math.Mod(x, y)
				if !fmod && r != 0 && (r < 0) != (y < 0) {
					r += y
				}
				return r
			}))
		}, nil
	case "PRelu":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, s, err := need2(in, "X", "slope")
			if err != nil {
				return nil, err
			}
			return one(kernels.PRelu(x, s))
		}, nil
	case "LeakyRelu":
		a := float64(n.AttrFloat("alpha", 0.01))
		return unaryFloat(func(x float64) float64 {
			if x < 0 {
				return float64(float32(a) * float32(x))
			}
			return x
		}), nil
	case "Elu":
		a := float64(n.AttrFloat("alpha", 1))
		return unaryFloat(func(x float64) float64 {
			if x < 0 {
				return a * math.Expm1(x)
			}
			return x
		}), nil
	case "Celu":
		a := float64(n.AttrFloat("alpha", 1))
		return unaryFloat(func(x float64) float64 { return math.Max(0, x) + math.Min(0, a*math.Expm1(x/a)) }), nil
	case "Selu":
		a := float64(n.AttrFloat("alpha", 1.67326319217681884765625))
		g := float64(n.AttrFloat("gamma", 1.05070102214813232421875))
		return unaryFloat(func(x float64) float64 {
			if x <= 0 {
				return g * a * math.Expm1(x)
			}
			return g * x
		}), nil
	case "ThresholdedRelu":
		a := float64(n.AttrFloat("alpha", 1))
		return unaryFloat(func(x float64) float64 {
			if x > a {
				return x
			}
			return 0
		}), nil
	case "Shrink":
		bias, lambd := float64(n.AttrFloat("bias", 0)), float64(n.AttrFloat("lambd", 0.5))
		return unaryAny(func(x float64) float64 {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}), nil
	case "Sigmoid":
		return unaryFloat(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }), nil
	case "HardSigmoid":
		a, b := float64(n.AttrFloat("alpha", 0.2)), float64(n.AttrFloat("beta", 0.5))
		return unaryFloat(func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }), nil
	case "HardSwish":
		return unaryFloat(func(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) }), nil
	case "Tanh":
		return unaryFloat(math.Tanh), nil
	case "Softplus":
		return unaryFloat(func(x float64) float64 {
			if x > 30 {
				return x
			}
			return math.Log1p(math.Exp(x))
		}), nil
	case "Softsign":
		return unaryFloat(func(x float64) float64 { return x / (1 + math.Abs(x)) }), nil
	case "Erf":
		return unaryFloat(math.Erf), nil
	case "Exp":
		return unaryFloat(math.Exp), nil
	case "Log":
		return unaryFloat(math.Log), nil
	case "Sqrt":
		return unaryFloat(math.Sqrt), nil
	case "Reciprocal":
		return unaryFloat(func(x float64) float64 { return 1 / x }), nil
	case "Floor":
		return unaryFloat(math.Floor), nil
	case "Ceil":
		return unaryFloat(math.Ceil), nil
	case "Round":
		return unaryFloat(math.RoundToEven), nil
	case "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh":
		f := map[string]func(float64) float64{"Sin": math.Sin, "Cos": math.Cos, "Tan": math.Tan, "Asin": math.Asin,
			"Acos": math.Acos, "Atan": math.Atan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asinh": math.Asinh,
			"Acosh": math.Acosh, "Atanh": math.Atanh}[n.OpType]
		return unaryFloat(f), nil
	case "Neg":
		return unaryAny(func(x float64) float64 { return -x }), nil
	case "Abs":
		return unaryAny(math.Abs), nil
	case "Sign":
		return unaryAny(func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x
		}), nil
	case "IsNaN", "IsInf":
		pos, neg := n.AttrInt("detect_positive", 1) != 0, n.AttrInt("detect_negative", 1) != 0
		isNaN := n.OpType == "IsNaN"
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			if x.DType != tensor.Float32 {
				return nil, unsupportedf("element type %v", x.DType)
			}
			y := tensor.New(tensor.Bool, x.Shape)
			for i, v := range x.F32 {
				f := float64(v)
				var b bool
				if isNaN {
					b = v != v
				} else {
					b = (pos && math.IsInf(f, 1)) || (neg && math.IsInf(f, -1))
				}
				if b {
					y.U8[i] = 1
				}
			}
			return []*tensor.Tensor{y}, nil
		}, nil
	case "Not":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			if x.DType != tensor.Bool {
				return nil, fmt.Errorf("Not of %v", x.DType)
			}
			y := tensor.New(tensor.Bool, x.Shape)
			for i, v := range x.U8 {
				y.U8[i] = 1 - v&1
			}
			return []*tensor.Tensor{y}, nil
		}, nil
	case "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor":
		f := map[string]func(a, b float64) float64{
			"Equal":          func(a, b float64) float64 { return b2f(a == b) },
			"Greater":        func(a, b float64) float64 { return b2f(a > b) },
			"Less":           func(a, b float64) float64 { return b2f(a < b) },
			"GreaterOrEqual": func(a, b float64) float64 { return b2f(a >= b) },
			"LessOrEqual":    func(a, b float64) float64 { return b2f(a <= b) },
			"And":            func(a, b float64) float64 { return b2f(a != 0 && b != 0) },
			"Or":             func(a, b float64) float64 { return b2f(a != 0 || b != 0) },
			"Xor":            func(a, b float64) float64 { return b2f((a != 0) != (b != 0)) },
		}[n.OpType]
		logic := n.OpType == "And" || n.OpType == "Or" || n.OpType == "Xor"
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			a, b, err := need2(in, "A", "B")
			if err != nil {
				return nil, err
			}
			if a.DType != b.DType {
				return nil, fmt.Errorf("input types %v and %v differ", a.DType, b.DType)
			}
			if logic && a.DType != tensor.Bool {
				return nil, fmt.Errorf("want bool inputs, have %v", a.DType)
			}
			if a.DType == tensor.Int64 {
				// Compare exactly: large int64 values do not fit a float64.
				y, err := kernels.Int64Combine(a, b, func(x, y int64) int64 {
					c := 0
					if x > y {
						c = 1
					} else if x < y {
						c = -1
					}
					return int64(f(float64(c), 0))
				})
				if err != nil {
					return nil, err
				}
				return one(kernels.Cast(y, tensor.Bool))
			}
			return one(kernels.Combine(a, b, tensor.Bool, f))
		}, nil
	case "Where":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			c, x, err := need2(in, "condition", "X")
			if err != nil {
				return nil, err
			}
			y, err := need(in, 2, "Y")
			if err != nil {
				return nil, err
			}
			return one(kernels.Where(c, x, y))
		}, nil
	case "Expand":
		return tensorAndInts("shape", kernels.Expand), nil
	case "Tile":
		if opset < 6 {
			return nil, unsupportedf("Tile before opset 6")
		}
		return tensorAndInts("repeats", kernels.Tile), nil
	case "ConstantOfShape":
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
	case "Size":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{tensor.FromInt64(nil, []int64{int64(x.Shape.Size())})}, nil
		}, nil
	case "Split":
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
	case "Slice":
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
	case "Range":
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
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp":
		op := reduceKind(n.OpType)
		keep := n.AttrInt("keepdims", 1) != 0
		noop := n.AttrInt("noop_with_empty_axes", 0) != 0
		attrAxes := n.AttrInts("axes", nil)
		axesInput := (n.OpType == "ReduceSum" && opset >= 13) || opset >= 18
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			axes := attrAxes
			if axesInput {
				if axes, err = optInts(in, 1, "axes"); err != nil {
					return nil, err
				}
			}
			if x.DType == tensor.Bool {
				return nil, unsupportedf("reduction of bool")
			}
			return one(kernels.Reduce(op, x, axes, keep, noop && axesInput))
		}, nil
	case "ArgMax", "ArgMin":
		axis := int(n.AttrInt("axis", 0))
		keep := n.AttrInt("keepdims", 1) != 0
		last := n.AttrInt("select_last_index", 0) != 0
		isMin := n.OpType == "ArgMin"
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			return one(kernels.ArgMax(x, axis, keep, last, isMin))
		}, nil
	case "Hardmax":
		def := int64(1)
		if opset >= 13 {
			def = -1
		}
		axis := int(n.AttrInt("axis", def))
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			if opset < 13 {
				// Coerced to 2-D: the maximum over all dims from axis.
				r := len(x.Shape)
				a := axis
				if a < 0 {
					a += r
				}
				if a < 0 || a > r {
					return nil, fmt.Errorf("axis %d out of range", axis)
				}
				flat, err := x.Reshaped(tensor.Shape{x.Shape[:a].Size(), x.Shape[a:].Size()})
				if err != nil {
					return nil, err
				}
				y, err := kernels.Hardmax(flat, 1)
				if err != nil {
					return nil, err
				}
				return one(y.Reshaped(x.Shape))
			}
			return one(kernels.Hardmax(x, axis))
		}, nil
	case "Resize", "Upsample":
		return buildResize(n, opset)
	case "CastLike":
		return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, err := in0(in)
			if err != nil {
				return nil, err
			}
			like, err := need(in, 1, "target_type")
			if err != nil {
				return nil, err
			}
			return one(kernels.Cast(x, like.DType))
		}, nil
	}
	return nil, nil
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
