package calibrate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/eightbitml/eightbit/qmath"
)

// MinMax observes the values of one tensor: the smallest and largest finite
// value seen, how many finite values were seen and how many NaN or infinite
// values were skipped. The zero value is an empty observer.
type MinMax struct {
	min, max  float32
	count     int64
	nonFinite int64
}

// Add records the finite values of vs; NaN and ±Inf are counted in
// NonFinite and otherwise ignored.
func (m *MinMax) Add(vs []float32) {
	for i := 0; i < len(vs); {
		j := i
		if c, ok := scan(vs[i:]); ok {
			m.merge(c.min, c.max, int64(len(vs)-i))
			return
		}
		for j < len(vs) && !isNonFinite(vs[j]) {
			j++
		}
		if j > i {
			c, _ := scan(vs[i:j])
			m.merge(c.min, c.max, int64(j-i))
		}
		for j < len(vs) && isNonFinite(vs[j]) {
			m.nonFinite++
			j++
		}
		i = j
	}
}

// merge folds count finite values with the given min and max into m.
func (m *MinMax) merge(mn, mx float32, count int64) {
	if count == 0 {
		return
	}
	if m.count == 0 {
		m.min, m.max = mn, mx
	} else {
		if mn < m.min {
			m.min = mn
		}
		if mx > m.max {
			m.max = mx
		}
	}
	m.count += count
}

// Merge folds the observations of o into m.
func (m *MinMax) Merge(o *MinMax) {
	if o == nil {
		return
	}
	m.nonFinite += o.nonFinite
	if o.count == 0 {
		return
	}
	if m.count == 0 {
		m.min, m.max = o.min, o.max
	} else {
		if o.min < m.min {
			m.min = o.min
		}
		if o.max > m.max {
			m.max = o.max
		}
	}
	m.count += o.count
}

// Range returns [min, max] of the finite values seen, or {0, 0} when there
// were none.
func (m *MinMax) Range() qmath.Range {
	if m.count == 0 {
		return qmath.Range{}
	}
	return qmath.Range{Min: m.min, Max: m.max}
}

// Count returns the number of finite values seen.
func (m *MinMax) Count() int64 { return m.count }

// NonFinite returns the number of NaN and infinite values skipped.
func (m *MinMax) NonFinite() int64 { return m.nonFinite }

// Empty reports whether no finite value was seen.
func (m *MinMax) Empty() bool { return m.count == 0 }

type minMaxJSON struct {
	Min       float32 `json:"min"`
	Max       float32 `json:"max"`
	Count     int64   `json:"count"`
	NonFinite int64   `json:"nonfinite,omitempty"`
}

// MarshalJSON encodes the observer canonically.
func (m *MinMax) MarshalJSON() ([]byte, error) {
	j := minMaxJSON{Count: m.count, NonFinite: m.nonFinite}
	if m.count > 0 {
		j.Min, j.Max = m.min, m.max
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote, checking its consistency.
func (m *MinMax) UnmarshalJSON(b []byte) error {
	var j minMaxJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("calibrate: min/max: %w", err)
	}
	if j.Count < 0 || j.NonFinite < 0 || j.Count > 0 && (isNonFinite(j.Min) || isNonFinite(j.Max) || j.Min > j.Max) {
		return fmt.Errorf("calibrate: min/max: bad state %+v", j)
	}
	*m = MinMax{count: j.Count, nonFinite: j.NonFinite}
	if j.Count > 0 {
		m.min, m.max = j.Min+0, j.Max+0
	}
	return nil
}
