package calibrate

import (
	"fmt"
	"math"
)

// Method names how a tensor's quantization range is chosen from what was
// observed.
type Method string

// Methods.
const (
	// MethodMinMax uses the smallest and largest finite value seen.
	MethodMinMax Method = "minmax"
	// MethodPercentile clips a fixed share of the values in the tails.
	MethodPercentile Method = "percentile"
	// MethodEntropy minimizes the KL divergence between the observed
	// distribution and its quantized approximation (TensorRT's calibrator).
	MethodEntropy Method = "entropy"
	// MethodMSE minimizes the expected squared quantization error, rounding
	// and clipping included.
	MethodMSE Method = "mse"
)

// DefaultSamples is the calibration sample cap per model that eightbit's
// command line and spec files use when none is given (see
// docs/calibration.md): the samples are chosen class by class by a hash of their ids.
const DefaultSamples = 1000

// Methods lists every method, in the order the CLI documents them.
var Methods = []Method{MethodMinMax, MethodPercentile, MethodEntropy, MethodMSE}

// ParseMethod returns the method named s.
func ParseMethod(s string) (Method, error) {
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("calibrate: unknown method %q (want minmax, percentile, entropy or mse)", s)
}

// Defaults.
const (
	DefaultBins       = 2048
	DefaultPercentile = 99.99
)

// Options configures range choice.
type Options struct {
	// Method is the range choice; "" means MethodMinMax.
	Method Method `json:"method"`
	// Percentile is the share of values, in percent, that MethodPercentile
	// keeps inside the range; 0 means DefaultPercentile. Asymmetric ranges
	// cut half of the rest from each tail.
	Percentile float64 `json:"percentile,omitempty"`
	// Bins is the histogram resolution; 0 means DefaultBins.
	Bins int `json:"bins,omitempty"`
	// Symmetric asks for ranges [−t, t] (int8 with zero point 0, levels
	// −128..127, scale t/127). Otherwise ranges are asymmetric (uint8 with a
	// zero point, 256 levels), as eightbit's activation scheme uses.
	Symmetric bool `json:"symmetric,omitempty"`
	// AllowNonFinite calibrates on the finite values of activations that
	// hold NaN or ±Inf (the observers skip and count them). Without it a
	// non-finite activation fails the model's calibration, naming the first
	// tensor in graph order and the sample.
	AllowNonFinite bool `json:"allow_nonfinite,omitempty"`
}

// Normalize returns o with defaults filled in, or an error when a setting is
// out of range. Settings that the method does not use are cleared so that
// equal configurations compare (and serialize) equal.
func (o Options) Normalize() (Options, error) {
	if o.Method == "" {
		o.Method = MethodMinMax
	}
	if _, err := ParseMethod(string(o.Method)); err != nil {
		return o, err
	}
	if o.Method != MethodPercentile {
		o.Percentile = 0
	} else {
		if o.Percentile == 0 {
			o.Percentile = DefaultPercentile
		}
		if !(o.Percentile > 50 && o.Percentile <= 100) || math.IsNaN(o.Percentile) {
			return o, fmt.Errorf("calibrate: percentile %v is outside (50, 100]", o.Percentile)
		}
	}
	if o.Method == MethodMinMax {
		o.Bins = 0
	} else {
		if o.Bins == 0 {
			o.Bins = DefaultBins
		}
		if o.Bins < 256 || o.Bins > 1<<16 {
			return o, fmt.Errorf("calibrate: %d histogram bins; want 256 to 65536", o.Bins)
		}
	}
	return o, nil
}

// NeedsHistogram reports whether the method needs the second pass (a
// histogram over the range found by the first).
func (o Options) NeedsHistogram() bool {
	return o.Method != "" && o.Method != MethodMinMax
}

// levels returns the integer grid of the quantized type the options target.
func (o Options) levels() (qmin, qmax int32) {
	if o.Symmetric {
		return -128, 127
	}
	return 0, 255
}
