package infer

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Activations: Relu and Clip (arena kernels), PRelu, and the unary float
// activations with their attributes.

func init() {
	register(opEntry{alloc: buildRelu, quantExact: true}, "Relu")
	register(opEntry{alloc: buildClip}, "Clip")
	register(opEntry{build: buildPRelu}, "PRelu")
	for op, f := range map[string]func(n *graph.Node) func(float64) float64{
		"LeakyRelu": func(n *graph.Node) func(float64) float64 {
			a := float64(n.AttrFloat("alpha", 0.01))
			return func(x float64) float64 {
				if x < 0 {
					return float64(float32(a) * float32(x))
				}
				return x
			}
		},
		"Elu": func(n *graph.Node) func(float64) float64 {
			a := float64(n.AttrFloat("alpha", 1))
			return func(x float64) float64 {
				if x < 0 {
					return a * math.Expm1(x)
				}
				return x
			}
		},
		"Celu": func(n *graph.Node) func(float64) float64 {
			a := float64(n.AttrFloat("alpha", 1))
			return func(x float64) float64 { return math.Max(0, x) + math.Min(0, a*math.Expm1(x/a)) }
		},
		"Selu": func(n *graph.Node) func(float64) float64 {
			a := float64(n.AttrFloat("alpha", 1.67326319217681884765625))
			g := float64(n.AttrFloat("gamma", 1.05070102214813232421875))
			return func(x float64) float64 {
				if x <= 0 {
					return g * a * math.Expm1(x)
				}
				return g * x
			}
		},
		"ThresholdedRelu": func(n *graph.Node) func(float64) float64 {
			a := float64(n.AttrFloat("alpha", 1))
			return func(x float64) float64 {
				if x > a {
					return x
				}
				return 0
			}
		},
		"HardSigmoid": func(n *graph.Node) func(float64) float64 {
			a, b := float64(n.AttrFloat("alpha", 0.2)), float64(n.AttrFloat("beta", 0.5))
			return func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }
		},
	} {
		register(unaryFloatOp(f), op)
	}
	for op, f := range map[string]func(float64) float64{
		"Sigmoid":   func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		"HardSwish": func(x float64) float64 { return x * math.Max(0, math.Min(1, x/6+0.5)) },
		"Tanh":      math.Tanh,
		"Softplus": func(x float64) float64 {
			if x > 30 {
				return x
			}
			return math.Log1p(math.Exp(x))
		},
		"Softsign": func(x float64) float64 { return x / (1 + math.Abs(x)) },
	} {
		register(unaryFloatOp(func(*graph.Node) func(float64) float64 { return f }), op)
	}
	register(opEntry{build: buildShrink}, "Shrink")
}

func buildRelu(*graph.Node, int64) (allocKernel, error) {
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "X")
		if err != nil {
			return nil, err
		}
		return one(kernels.ReluWith(al, x))
	}, nil
}

// buildClip builds Clip: bounds from attributes before opset 11, from the
// optional inputs min and max since.
func buildClip(n *graph.Node, opset int64) (allocKernel, error) {
	attrLo := n.AttrFloat("min", float32(math.Inf(-1)))
	attrHi := n.AttrFloat("max", float32(math.Inf(1)))
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, err := need(in, 0, "input")
		if err != nil {
			return nil, err
		}
		lo, hi := attrLo, attrHi
		if opset >= 11 && x.DType != tensor.Float32 {
			return one(kernels.ClipAny(x, opt(in, 1), opt(in, 2)))
		}
		if opset >= 11 {
			if lo, err = scalarFloat(opt(in, 1), float32(math.Inf(-1))); err != nil {
				return nil, fmt.Errorf("min: %w", err)
			}
			if hi, err = scalarFloat(opt(in, 2), float32(math.Inf(1))); err != nil {
				return nil, fmt.Errorf("max: %w", err)
			}
		}
		return one(kernels.ClipWith(al, x, lo, hi))
	}, nil
}

func buildPRelu(*graph.Node, int64) (kernelFunc, error) {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, s, err := need2(in, "X", "slope")
		if err != nil {
			return nil, err
		}
		return one(kernels.PRelu(x, s))
	}, nil
}

func buildShrink(n *graph.Node, _ int64) (kernelFunc, error) {
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
}
