package jobs

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/eightbitml/eightbit/calibrate"
)

// DefaultCalibSamples is the calibration sample cap per model of the
// command line and of spec files when none is given: that many samples of
// the calibration split, chosen class by class by a hash of their ids (deterministic,
// whatever the runner or sharding). ONNX Runtime's and TFLite's users
// calibrate on a few hundred to a few thousand samples; min/max and
// histogram ranges settle well before a 60,000-image split is exhausted,
// and calibration time grows with the count. Use "all" (or 0) for the
// whole split. The jobs' Go fields (QuantizeZoo.CalibSamples,
// Calibrate.CalibSamples) keep 0 as the whole split.
const DefaultCalibSamples = calibrate.DefaultSamples

// SampleLimit is a per-model sample cap as a spec file or a flag gives it:
// a count, or "all" (or 0) for the whole split. The zero value is unset:
// the job's default applies.
type SampleLimit struct {
	N     int  // the cap, 0 for the whole split
	Given bool // given explicitly
}

// ParseSampleLimit parses "all" or a count >= 0.
func ParseSampleLimit(s string) (SampleLimit, error) {
	if s == "all" {
		return SampleLimit{N: 0, Given: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return SampleLimit{}, fmt.Errorf("%q: want a sample count >= 0 or all", s)
	}
	return SampleLimit{N: n, Given: true}, nil
}

// Or returns the cap, def when unset (0: the whole split).
func (l SampleLimit) Or(def int) int {
	if !l.Given {
		return def
	}
	return l.N
}

// String renders the cap as ParseSampleLimit reads it ("" when unset).
func (l SampleLimit) String() string {
	switch {
	case !l.Given:
		return ""
	case l.N == 0:
		return "all"
	}
	return strconv.Itoa(l.N)
}

// Set parses a flag value (flag.Value).
func (l *SampleLimit) Set(s string) error {
	v, err := ParseSampleLimit(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// UnmarshalYAML reads a count or all. A negative count is kept so that
// validation can name the field.
func (l *SampleLimit) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "all" {
		*l = SampleLimit{Given: true}
		return nil
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("samples: want a count or all: %w", err)
	}
	*l = SampleLimit{N: v, Given: true}
	return nil
}

// MarshalYAML writes what UnmarshalYAML reads: null when unset, all for the
// whole split, else the count.
func (l SampleLimit) MarshalYAML() (any, error) {
	switch {
	case !l.Given:
		return nil, nil
	case l.N == 0:
		return "all", nil
	}
	return l.N, nil
}
