package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Element-wise arithmetic (with numpy broadcasting), variadic Max / Min /
// Sum / Mean, unary math, comparisons and logic, Where, and element type
// conversions.

func init() {
	register(opEntry{alloc: buildArith, shapeData: true}, "Add", "Sub", "Mul", "Div")
	register(opEntry{build: buildPow}, "Pow")
	register(opEntry{build: buildVariadic}, "Max", "Min", "Sum", "Mean")
	register(opEntry{build: buildMod}, "Mod")
	for op, f := range map[string]func(float64) float64{
		"Erf": math.Erf, "Exp": math.Exp, "Log": math.Log, "Sqrt": math.Sqrt,
		"Reciprocal": func(x float64) float64 { return 1 / x },
		"Floor":      math.Floor, "Ceil": math.Ceil, "Round": math.RoundToEven,
		"Sin": math.Sin, "Cos": math.Cos, "Tan": math.Tan, "Asin": math.Asin,
		"Acos": math.Acos, "Atan": math.Atan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asinh": math.Asinh,
		"Acosh": math.Acosh, "Atanh": math.Atanh,
	} {
		register(unaryFloatOp(func(*graph.Node) func(float64) float64 { return f }), op)
	}
	for op, f := range map[string]func(float64) float64{
		"Neg": func(x float64) float64 { return -x },
		"Abs": math.Abs,
		"Sign": func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x
		},
	} {
		register(opEntry{build: func(*graph.Node, int64) (kernelFunc, error) { return unaryAny(f), nil }}, op)
	}
	register(opEntry{build: buildIsNaNInf}, "IsNaN", "IsInf")
	register(opEntry{build: buildNot}, "Not")
	register(opEntry{build: buildCompare}, "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor")
	register(opEntry{build: buildWhere}, "Where")
	register(opEntry{build: buildCast, shapeData: true}, "Cast")
	register(opEntry{build: buildCastLike}, "CastLike")
}

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

// unaryFloatOp is the entry of a unary operator on float32 tensors whose
// function f returns for the node (reading its attributes).
func unaryFloatOp(f func(n *graph.Node) func(float64) float64) opEntry {
	return opEntry{build: func(n *graph.Node, _ int64) (kernelFunc, error) { return unaryFloat(f(n)), nil }}
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

// buildArith builds Add, Sub, Mul and Div.
func buildArith(n *graph.Node, opset int64) (allocKernel, error) {
	// Before opset 7, B broadcasts only with broadcast=1, aligned at
	// axis (default: trailing dimensions, as numpy).
	legacyAxis, hasAxis := -1, false
	if opset < 7 && n.AttrInt("broadcast", 0) != 0 {
		if a, ok := n.Attrs["axis"]; ok && a.Type == graph.AttrInt {
			legacyAxis, hasAxis = int(a.I), true
		}
	}
	op := map[string]kernels.BinaryOp{"Add": kernels.OpAdd, "Sub": kernels.OpSub, "Mul": kernels.OpMul, "Div": kernels.OpDiv}[n.OpType]
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		a, b, err := need2(in, "A", "B")
		if err != nil {
			return nil, err
		}
		if hasAxis {
			ax := legacyAxis
			if ax < 0 {
				ax += len(a.Shape)
			}
			if ax < 0 || ax+len(b.Shape) > len(a.Shape) {
				return nil, fmt.Errorf("B of shape %v does not fit A of shape %v at axis %d", b.Shape, a.Shape, legacyAxis)
			}
			s := append(b.Shape.Clone(), make(tensor.Shape, len(a.Shape)-ax-len(b.Shape))...)
			for i := len(b.Shape); i < len(s); i++ {
				s[i] = 1
			}
			if b, err = b.Reshaped(s); err != nil {
				return nil, err
			}
		}
		if a.DType != b.DType {
			return nil, fmt.Errorf("input types %v and %v differ", a.DType, b.DType)
		}
		if a.DType == tensor.Bool {
			return nil, unsupportedf("%s of bool", n.OpType)
		}
		return one(kernels.BinaryWith(al, op, a, b))
	}, nil
}

func buildPow(*graph.Node, int64) (kernelFunc, error) {
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
}

// buildVariadic builds Max, Min, Sum and Mean.
func buildVariadic(n *graph.Node, _ int64) (kernelFunc, error) {
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
}

func buildMod(n *graph.Node, _ int64) (kernelFunc, error) {
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
}

func buildIsNaNInf(n *graph.Node, _ int64) (kernelFunc, error) {
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
}

func buildNot(*graph.Node, int64) (kernelFunc, error) {
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
}

// buildCompare builds the comparisons and the logical operators.
func buildCompare(n *graph.Node, _ int64) (kernelFunc, error) {
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
}

func buildWhere(*graph.Node, int64) (kernelFunc, error) {
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
}

func buildCast(n *graph.Node, _ int64) (kernelFunc, error) {
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

func buildCastLike(*graph.Node, int64) (kernelFunc, error) {
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
