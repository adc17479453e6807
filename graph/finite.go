package graph

import (
	"fmt"
	"math"
	"sort"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

// NonFiniteError reports a constant tensor (an initializer or the value of
// a Constant node) holding NaN or infinite values. It has kind
// failure.NonFinite.
type NonFiniteError struct {
	// Tensor is the initializer's name or the Constant node's output.
	Tensor string
	// Node labels the Constant node ("" for an initializer).
	Node string
	// Count of the Total values are NaN or ±Inf.
	Count, Total int
	// More counts the other constant tensors that hold non-finite values.
	More int
}

func (e *NonFiniteError) Error() string {
	s := fmt.Sprintf("tensor %q", e.Tensor)
	if e.Node != "" {
		s += " (value of " + e.Node + ")"
	}
	s += fmt.Sprintf(": %d of %d values are NaN or infinite", e.Count, e.Total)
	if e.More > 0 {
		s += fmt.Sprintf(" (and %d more tensors with non-finite values)", e.More)
	}
	return s
}

// Is reports whether target is failure.NonFinite, the error's kind.
func (e *NonFiniteError) Is(target error) bool { return target == failure.NonFinite }

// CountNonFinite returns how many float values of t are NaN or ±Inf (0 for
// tensors of other types).
func CountNonFinite(t *tensor.Tensor) int {
	if t == nil {
		return 0
	}
	n := 0
	for _, v := range t.F32 {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			n++
		}
	}
	return n
}

// CheckFinite returns a *NonFiniteError for the first constant tensor (the
// initializers by name, then the Constant nodes in order) that holds NaN or
// infinite values, and nil when every constant is finite. Such a model
// computes garbage (and its calibration ranges are empty), so every path
// that loads a model refuses it: Validate calls CheckFinite.
func (g *Graph) CheckFinite() error {
	var first *NonFiniteError
	found := func(e NonFiniteError) {
		if first == nil {
			first = &e
		} else {
			first.More++
		}
	}
	names := make([]string, 0, len(g.Initializers))
	for k := range g.Initializers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		t := g.Initializers[name]
		if c := CountNonFinite(t); c > 0 {
			found(NonFiniteError{Tensor: name, Count: c, Total: t.Len()})
		}
	}
	for _, n := range g.Nodes {
		if !isONNXOp(n, "Constant") {
			continue
		}
		var total, c int
		for _, a := range n.Attrs {
			switch {
			case a == nil:
			case a.Type == AttrTensor && a.T != nil:
				total, c = total+a.T.Len(), c+CountNonFinite(a.T)
			case a.Type == AttrFloat:
				total++
				if f := float64(a.F); math.IsNaN(f) || math.IsInf(f, 0) {
					c++
				}
			case a.Type == AttrFloats:
				for _, v := range a.Floats {
					total++
					if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
						c++
					}
				}
			}
		}
		if c > 0 {
			out := ""
			if len(n.Outputs) > 0 {
				out = n.Outputs[0]
			}
			found(NonFiniteError{Tensor: out, Node: n.Label(), Count: c, Total: total})
		}
	}
	if first == nil {
		return nil
	}
	return first
}
