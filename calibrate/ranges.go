package calibrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// Ranges is a set of MinMax observers, one per tensor name, for one model.
// The zero value is empty and ready to use.
type Ranges struct {
	obs map[string]*MinMax
}

// NewRanges returns an empty set.
func NewRanges() *Ranges { return &Ranges{} }

// Observe records the values of t under name. Tensors that are not float32
// are ignored (only float activations are quantized).
func (r *Ranges) Observe(name string, t *tensor.Tensor) {
	if t == nil || t.DType != tensor.Float32 {
		return
	}
	r.observer(name).Add(t.F32)
}

// ObserveValues records raw float32 values under name.
func (r *Ranges) ObserveValues(name string, vs []float32) { r.observer(name).Add(vs) }

func (r *Ranges) observer(name string) *MinMax {
	if r.obs == nil {
		r.obs = map[string]*MinMax{}
	}
	m, ok := r.obs[name]
	if !ok {
		m = &MinMax{}
		r.obs[name] = m
	}
	return m
}

// Merge folds the observations of o into r (o is not changed).
func (r *Ranges) Merge(o *Ranges) {
	if o == nil {
		return
	}
	for _, name := range o.Names() {
		r.observer(name).Merge(o.obs[name])
	}
}

// Names returns the observed tensor names, sorted.
func (r *Ranges) Names() []string {
	names := make([]string, 0, len(r.obs))
	for k := range r.obs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Get returns the observer of a tensor, or nil.
func (r *Ranges) Get(name string) *MinMax { return r.obs[name] }

// Len returns the number of observed tensors.
func (r *Ranges) Len() int { return len(r.obs) }

// Result returns the range of every tensor that had at least one finite
// value. Tensors that only ever held NaN or Inf are left out, so that a
// quantizer reports them as missing instead of using a made-up range.
func (r *Ranges) Result() map[string]qmath.Range {
	out := make(map[string]qmath.Range, len(r.obs))
	for name, m := range r.obs {
		if m.count > 0 {
			out[name] = m.Range()
		}
	}
	return out
}

// TensorRange is the serialized state of one observer.
type TensorRange struct {
	Name      string  `json:"name"`
	Min       float32 `json:"min"`
	Max       float32 `json:"max"`
	Count     int64   `json:"count"`
	NonFinite int64   `json:"nonfinite,omitempty"`
}

// Snapshot is the serializable form of Ranges: observers sorted by name.
type Snapshot struct {
	Version int           `json:"version"`
	Tensors []TensorRange `json:"tensors"`
}

// SnapshotVersion is the version written by Snapshot.
const SnapshotVersion = 1

// Snapshot returns the state of r with tensor names sorted.
func (r *Ranges) Snapshot() Snapshot {
	s := Snapshot{Version: SnapshotVersion, Tensors: []TensorRange{}}
	for _, name := range r.Names() {
		m := r.obs[name]
		tr := TensorRange{Name: name, Count: m.count, NonFinite: m.nonFinite}
		if m.count > 0 {
			tr.Min, tr.Max = m.min, m.max
		}
		s.Tensors = append(s.Tensors, tr)
	}
	return s
}

// FromSnapshot rebuilds Ranges from a snapshot, checking its consistency.
func FromSnapshot(s Snapshot) (*Ranges, error) {
	if s.Version != SnapshotVersion {
		return nil, fmt.Errorf("calibrate: snapshot version %d, want %d", s.Version, SnapshotVersion)
	}
	r := &Ranges{obs: make(map[string]*MinMax, len(s.Tensors))}
	for _, t := range s.Tensors {
		if _, dup := r.obs[t.Name]; dup {
			return nil, fmt.Errorf("calibrate: tensor %q appears twice", t.Name)
		}
		if t.Count < 0 || t.NonFinite < 0 {
			return nil, fmt.Errorf("calibrate: tensor %q: negative count", t.Name)
		}
		m := &MinMax{count: t.Count, nonFinite: t.NonFinite}
		if t.Count > 0 {
			if isNonFinite(t.Min) || isNonFinite(t.Max) || t.Min > t.Max {
				return nil, fmt.Errorf("calibrate: tensor %q: bad range [%v, %v]", t.Name, t.Min, t.Max)
			}
			m.min, m.max = t.Min+0, t.Max+0
		}
		r.obs[t.Name] = m
	}
	return r, nil
}

// MarshalJSON encodes the canonical snapshot: equal contents give identical
// bytes.
func (r *Ranges) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.Snapshot())
}

// UnmarshalJSON decodes what MarshalJSON wrote, replacing r's contents.
func (r *Ranges) UnmarshalJSON(b []byte) error {
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	n, err := FromSnapshot(s)
	if err != nil {
		return err
	}
	*r = *n
	return nil
}

func isNonFinite(v float32) bool { return v != v || math.IsInf(float64(v), 0) }

// MergeTensor folds the observations m of one tensor into r.
func (r *Ranges) MergeTensor(name string, m *MinMax) { r.observer(name).Merge(m) }
