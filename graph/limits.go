package graph

import (
	"fmt"
	"sort"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

// Limits bounds what a model may claim, so that a hostile or corrupt file
// is refused with an error (kind failure.InvalidModel) before it costs
// quadratic time or more memory than the machine has. Zero fields take the
// DefaultLimits value.
type Limits struct {
	// MaxNodes is the most nodes a graph may have.
	MaxNodes int
	// MaxElements is the most elements of one tensor: an initializer, a
	// Constant value, a declared value shape with static dimensions, a
	// ConstantOfShape of constant shape or (infer.Compile) an inferred
	// shape.
	MaxElements int64
	// MaxAttrElements is the most elements of one list attribute (ints,
	// floats, strings).
	MaxAttrElements int
}

// DefaultLimits are the limits of Validate: far above the CNN classifiers
// eightbit handles (VGG-16's largest weight has 103M elements, the largest
// zoo graphs a few thousand nodes), far below what breaks a machine (one
// float tensor at the limit takes 1 GiB).
var DefaultLimits = Limits{
	MaxNodes:        200_000,
	MaxElements:     1 << 28,
	MaxAttrElements: 1 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultLimits.MaxNodes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	if l.MaxAttrElements <= 0 {
		l.MaxAttrElements = DefaultLimits.MaxAttrElements
	}
	return l
}

// elements returns the product of static dims, saturating at max+1 so that
// huge claims do not overflow; ok is false when a dim is not static.
func elements(dims []int64, max int64) (n int64, ok bool) {
	n = 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true
		}
	}
	for _, d := range dims {
		if n > max/d {
			return max + 1, true
		}
		n *= d
	}
	return n, true
}

func dimValues(ds []Dim) ([]int64, bool) {
	if !Static(ds) {
		return nil, false
	}
	v := make([]int64, len(ds))
	for i, d := range ds {
		v[i] = d.Value
	}
	return v, true
}

func shapeValues(s tensor.Shape) []int64 {
	v := make([]int64, len(s))
	for i, d := range s {
		v[i] = int64(d)
	}
	return v
}

func tooLarge(what string, dims []int64, l Limits) error {
	return failure.Errorf(failure.InvalidModel, "%s has shape %v, more than the limit of %d elements", what, dims, l.MaxElements)
}

// CheckLimits checks the graph against l (zero fields: DefaultLimits):
// node count, the elements of initializers, Constant values, declared
// value shapes and ConstantOfShape outputs of constant shape, and the size
// of list attributes. Validate calls it with DefaultLimits first.
func (g *Graph) CheckLimits(l Limits) error {
	l = l.withDefaults()
	if len(g.Nodes) > l.MaxNodes {
		return failure.Errorf(failure.InvalidModel, "graph has %d nodes, more than the limit of %d", len(g.Nodes), l.MaxNodes)
	}
	names := make([]string, 0, len(g.Initializers))
	for k := range g.Initializers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if t := g.Initializers[name]; t != nil {
			if n, _ := elements(shapeValues(t.Shape), l.MaxElements); n > l.MaxElements {
				return tooLarge(fmt.Sprintf("initializer %q", name), shapeValues(t.Shape), l)
			}
		}
	}
	for _, set := range []struct {
		field string
		vs    []ValueInfo
	}{{"input", g.Inputs}, {"output", g.Outputs}, {"value_info", g.ValueInfo}} {
		for _, v := range set.vs {
			if dims, ok := dimValues(v.Shape); ok {
				if n, _ := elements(dims, l.MaxElements); n > l.MaxElements {
					return tooLarge(fmt.Sprintf("graph %s %q", set.field, v.Name), dims, l)
				}
			}
		}
	}
	for _, n := range g.Nodes {
		if n == nil {
			return failure.Errorf(failure.InvalidModel, "graph has a nil node")
		}
		anames := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			anames = append(anames, k)
		}
		sort.Strings(anames)
		for _, an := range anames {
			a := n.Attrs[an]
			if a == nil {
				continue
			}
			if k := max(len(a.Ints), len(a.Floats), len(a.Strings)); k > l.MaxAttrElements {
				return failure.Errorf(failure.InvalidModel, "%s attribute %q has %d elements, more than the limit of %d", n.Label(), an, k, l.MaxAttrElements)
			}
			if a.T != nil {
				if k, _ := elements(shapeValues(a.T.Shape), l.MaxElements); k > l.MaxElements {
					return tooLarge(fmt.Sprintf("%s attribute %q", n.Label(), an), shapeValues(a.T.Shape), l)
				}
			}
		}
		if isONNXOp(n, "ConstantOfShape") {
			if s := g.Initializers[n.Input(0)]; s != nil && s.DType == tensor.Int64 {
				if k, ok := elements(s.I64, l.MaxElements); ok && k > l.MaxElements {
					return tooLarge(fmt.Sprintf("the output of %s", n.Label()), s.I64, l)
				}
			}
		}
	}
	return nil
}

// CheckShapeLimits checks inferred shapes against l (zero fields:
// DefaultLimits): a value whose static inferred shape has more than
// MaxElements elements is an error of kind failure.InvalidModel naming it.
// An executor calls it before it allocates constant-folded values.
func (s *Shapes) CheckShapeLimits(l Limits) error {
	if s == nil {
		return nil
	}
	l = l.withDefaults()
	names := make([]string, 0, len(s.Values))
	for k := range s.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if dims, ok := dimValues(s.Values[name].Shape); ok {
			if n, _ := elements(dims, l.MaxElements); n > l.MaxElements {
				return tooLarge(fmt.Sprintf("value %q", name), dims, l)
			}
		}
	}
	return nil
}
