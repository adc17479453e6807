package calibrate

import (
	"math"

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
	for _, v := range vs {
		if v != v || math.IsInf(float64(v), 0) {
			m.nonFinite++
			continue
		}
		v += 0 // −0 becomes +0: min/max of equal zeros must not depend on order
		if m.count == 0 {
			m.min, m.max = v, v
		} else if v < m.min {
			m.min = v
		} else if v > m.max {
			m.max = v
		}
		m.count++
	}
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
