package calibrate

import (
	"fmt"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

// NonFiniteCount is how many NaN or infinite values the observer of one
// tensor skipped, next to the finite ones it recorded.
type NonFiniteCount struct {
	Tensor    string `json:"tensor"`
	NonFinite int64  `json:"nonfinite"`
	Finite    int64  `json:"finite"`
}

// NonFiniteError is the calibration failure of a model whose activations
// held NaN or infinite values: the first such tensor (in the order given
// to FiniteError, graph order for a job) and how many others there were.
// It has kind failure.NonFinite.
type NonFiniteError struct {
	NonFiniteCount
	// More counts the other tensors with non-finite values.
	More int
	// Sample, when known, is the id of the first sample whose run gave
	// the tensor non-finite values (the counts are then that sample's).
	Sample string
}

func (e *NonFiniteError) Error() string {
	of := ""
	if e.Sample != "" {
		of = " of sample " + e.Sample
	}
	s := fmt.Sprintf("activation %q%s: %d of %d values are NaN or infinite", e.Tensor, of, e.NonFinite, e.NonFinite+e.Finite)
	if e.More > 0 {
		s += fmt.Sprintf(" (and %d more tensors with non-finite values)", e.More)
	}
	return s
}

// Is reports whether target is failure.NonFinite, the error's kind.
func (e *NonFiniteError) Is(target error) bool { return target == failure.NonFinite }

// CountNonFinite returns how many of a float32 tensor's values are NaN or
// infinite (0 for other element types).
func CountNonFinite(t *tensor.Tensor) int64 {
	if t == nil || t.DType != tensor.Float32 {
		return 0
	}
	var n int64
	for _, v := range t.F32 {
		if v-v != 0 { // NaN − NaN and ±Inf − ±Inf are NaN
			n++
		}
	}
	return n
}

// NonFinite lists the tensors whose observer skipped NaN or infinite
// values, sorted by name.
func (r *Ranges) NonFinite() []NonFiniteCount {
	var out []NonFiniteCount
	for _, name := range r.Names() {
		if m := r.obs[name]; m.nonFinite > 0 {
			out = append(out, NonFiniteCount{Tensor: name, NonFinite: m.nonFinite, Finite: m.count})
		}
	}
	return out
}

// NonFinite lists the tensors whose histogram skipped NaN or infinite
// values, sorted by name.
func (s *Histograms) NonFinite() []NonFiniteCount {
	var out []NonFiniteCount
	for _, name := range s.Names() {
		if h := s.hs[name]; h.NonFinite() > 0 {
			out = append(out, NonFiniteCount{Tensor: name, NonFinite: h.NonFinite(), Finite: h.Count()})
		}
	}
	return out
}

// NonFinite lists the table's tensors that held NaN or infinite values, in
// table order.
func (t *Table) NonFinite() []NonFiniteCount {
	var out []NonFiniteCount
	for _, e := range t.Tensors {
		if e.NonFinite > 0 {
			out = append(out, NonFiniteCount{Tensor: e.Name, NonFinite: e.NonFinite, Finite: e.Count})
		}
	}
	return out
}

// FiniteError returns nil when counts is empty, and otherwise a
// *NonFiniteError naming the first tensor of order (a model's values in
// graph order, so the error points at where NaN first appears) that has a
// count, or the first count when none of order has one.
func FiniteError(counts []NonFiniteCount, order []string) error {
	if len(counts) == 0 {
		return nil
	}
	first := counts[0]
	byName := make(map[string]NonFiniteCount, len(counts))
	for _, c := range counts {
		byName[c.Tensor] = c
	}
	for _, name := range order {
		if c, ok := byName[name]; ok {
			first = c
			break
		}
	}
	return &NonFiniteError{NonFiniteCount: first, More: len(counts) - 1}
}
