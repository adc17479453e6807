package calibrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Result returns the observed range widened to contain zero (the range
// MethodMinMax chooses), or {0, 0} when no finite value was seen.
func (m *MinMax) Result() qmath.Range { return m.Range().WithZero() }

// Histograms is a set of Histogram observers, one per tensor, laid over the
// ranges of a first pass. Tensors the first pass did not see (or saw no
// finite value of) are ignored.
type Histograms struct {
	opt Options
	hs  map[string]*Histogram
}

// NewHistograms returns empty histograms for every tensor of pass1 that
// holds a finite value, with o.Bins bins, absolute when o.Symmetric.
func NewHistograms(pass1 *Ranges, o Options) (*Histograms, error) {
	o, err := o.Normalize()
	if err != nil {
		return nil, err
	}
	if o.Bins == 0 {
		o.Bins = DefaultBins
	}
	s := &Histograms{opt: o, hs: map[string]*Histogram{}}
	for _, name := range pass1.Names() {
		if m := pass1.Get(name); m.count > 0 {
			s.hs[name] = NewHistogram(m.Range(), o.Bins, o.Symmetric)
		}
	}
	return s, nil
}

// Observe records the values of t under name (float32 tensors only).
func (s *Histograms) Observe(name string, t *tensor.Tensor) {
	if t == nil || t.DType != tensor.Float32 {
		return
	}
	s.ObserveValues(name, t.F32)
}

// ObserveValues records raw values under name.
func (s *Histograms) ObserveValues(name string, vs []float32) {
	if h := s.hs[name]; h != nil {
		h.Add(vs)
	}
}

// Names returns the tensor names, sorted.
func (s *Histograms) Names() []string {
	names := make([]string, 0, len(s.hs))
	for k := range s.hs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Get returns the histogram of a tensor, or nil.
func (s *Histograms) Get(name string) *Histogram { return s.hs[name] }

// Merge adds the counts of o (laid over the same first pass) to s.
func (s *Histograms) Merge(o *Histograms) error {
	for _, name := range o.Names() {
		h := s.hs[name]
		if h == nil {
			c := *o.hs[name]
			c.counts = append([]int64(nil), c.counts...)
			s.hs[name] = &c
			continue
		}
		if err := h.Merge(o.hs[name]); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	return nil
}

// Result returns the chosen range of every tensor with a finite value.
func (s *Histograms) Result() map[string]qmath.Range {
	out := map[string]qmath.Range{}
	for name, h := range s.hs {
		if h.Count() > 0 {
			out[name] = h.Result(s.opt)
		}
	}
	return out
}

// TensorResult is the calibration outcome of one tensor: the chosen range
// (Min, Max), the observed one and the counts behind them.
type TensorResult struct {
	Name        string  `json:"name"`
	Min         float32 `json:"min"`
	Max         float32 `json:"max"`
	ObservedMin float32 `json:"observed_min"`
	ObservedMax float32 `json:"observed_max"`
	Count       int64   `json:"count"`
	NonFinite   int64   `json:"nonfinite,omitempty"`
}

// FromMinMax is the result of MethodMinMax for one tensor.
func FromMinMax(name string, m *MinMax) TensorResult {
	r := m.Range()
	c := m.Result()
	return TensorResult{Name: name, Min: c.Min, Max: c.Max, ObservedMin: r.Min, ObservedMax: r.Max, Count: m.count, NonFinite: m.nonFinite}
}

// FromHistogram is the result of o.Method for one tensor. nonFinite counts
// the values skipped (the histogram's own count when negative).
func FromHistogram(name string, h *Histogram, o Options) TensorResult {
	r := h.Observed()
	c := h.Result(o)
	return TensorResult{Name: name, Min: c.Min, Max: c.Max, ObservedMin: r.Min, ObservedMax: r.Max, Count: h.Count(), NonFinite: h.NonFinite()}
}

// Table is the calibration result of a model: the settings and one entry
// per tensor, sorted by name. Its JSON form is canonical.
type Table struct {
	Version int            `json:"version"`
	Options Options        `json:"options"`
	Tensors []TensorResult `json:"tensors"`
}

// TableVersion is the version written in Table.
const TableVersion = 1

// Sort orders the tensors by name.
func (t *Table) Sort() {
	sort.Slice(t.Tensors, func(i, j int) bool { return t.Tensors[i].Name < t.Tensors[j].Name })
}

// Ranges returns the chosen range of every tensor that held a finite value
// (the input of quantize.Quantize).
func (t *Table) Ranges() map[string]qmath.Range {
	out := make(map[string]qmath.Range, len(t.Tensors))
	for _, e := range t.Tensors {
		if e.Count > 0 {
			out[e.Name] = qmath.Range{Min: e.Min, Max: e.Max}
		}
	}
	return out
}

// Check verifies the table's invariants: version, sorted unique names,
// finite ranges containing zero and the observed values' sign.
func (t *Table) Check() error {
	if t.Version != TableVersion {
		return fmt.Errorf("calibrate: table version %d, want %d", t.Version, TableVersion)
	}
	for i, e := range t.Tensors {
		if i > 0 && t.Tensors[i-1].Name >= e.Name {
			return fmt.Errorf("calibrate: table: tensors not sorted or duplicated at %q", e.Name)
		}
		if e.Count < 0 || e.NonFinite < 0 {
			return fmt.Errorf("calibrate: table: tensor %q: negative count", e.Name)
		}
		for _, v := range []float32{e.Min, e.Max, e.ObservedMin, e.ObservedMax} {
			if isNonFinite(v) {
				return fmt.Errorf("calibrate: table: tensor %q: non-finite bound", e.Name)
			}
		}
		if e.Min > 0 || e.Max < 0 || e.ObservedMin > e.ObservedMax {
			return fmt.Errorf("calibrate: table: tensor %q: bad range [%v, %v]", e.Name, e.Min, e.Max)
		}
	}
	return nil
}

// MarshalJSON encodes the table with tensors sorted.
func (t *Table) MarshalJSON() ([]byte, error) {
	c := *t
	c.Tensors = append([]TensorResult{}, t.Tensors...)
	c.Sort()
	type plain Table
	return json.Marshal((*plain)(&c))
}

// UnmarshalJSON decodes and checks a table.
func (t *Table) UnmarshalJSON(b []byte) error {
	type plain Table
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("calibrate: table: %w", err)
	}
	n := Table(p)
	if err := n.Check(); err != nil {
		return err
	}
	*t = n
	return nil
}
