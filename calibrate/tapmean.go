package calibrate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Window is the geometry of a 2-D convolution as TapMean needs it: the
// kernel, strides, dilations and padding of an NCHW input, as ONNX's Conv
// attributes give them. A fully connected layer is the window of a 1x1
// kernel over a 1x1 plane.
type Window struct {
	KH, KW           int
	StrideH, StrideW int
	DilH, DilW       int
	// Explicit pads (auto_pad NOTSET or VALID).
	PadTop, PadLeft, PadBottom, PadRight int
	// AutoPad is ONNX's auto_pad: "SAME_UPPER" and "SAME_LOWER" pad to an
	// output of ceil(in/stride) and ignore the explicit pads.
	AutoPad string
}

// plane returns the output size and the top (or left) pad along one axis.
func plane(in, k, stride, dil, padLo, padHi int, auto string) (out, lo int) {
	ek := dil*(k-1) + 1
	switch auto {
	case "SAME_UPPER", "SAME_LOWER":
		out = (in + stride - 1) / stride
		total := max(0, (out-1)*stride+ek-in)
		lo = total / 2
		if auto == "SAME_LOWER" {
			lo = total - total/2
		}
		return out, lo
	case "VALID":
		return (in-ek)/stride + 1, 0
	}
	return (in+padLo+padHi-ek)/stride + 1, padLo
}

// tapScale is the fixed-point resolution of TapMean's sums: a sample's
// mean tap value is rounded to a multiple of 2^-32 and summed in an int64,
// so that merging in any order gives the same bits.
const tapScale = 1 << 32

// tapLimit bounds the magnitude of one sample's mean tap value (2^28): the
// int64 sums then hold 2^3 samples of the largest value, and millions of
// typical ones.
const tapLimit = 1 << 28

// TapMean observes the mean input a convolution's kernel tap sees: for
// every input channel c and kernel offset (i, j), the mean over output
// positions and samples of the input value under that tap, 0 where the tap
// lies on padding. With these means the expected output of a convolution
// with weights W is Σ W[o,c,i,j]·mean[c,i,j] + b[o], which is what bias
// correction needs: the expected output shift caused by replacing W with
// its quantized values, measured on calibration data ("empirical" bias
// correction).
//
// Sums are exact fixed-point integers, so merging observers in any order
// gives the same result. The zero value is not usable; use NewTapMean.
type TapMean struct {
	c       int
	w       Window
	sums    []int64 // c·KH·KW
	samples int64
}

// NewTapMean returns an empty observer for an input of c channels seen
// through window w.
func NewTapMean(c int, w Window) *TapMean {
	return &TapMean{c: c, w: w, sums: make([]int64, c*w.KH*w.KW)}
}

// Samples returns the number of samples observed.
func (t *TapMean) Samples() int64 { return t.samples }

// ErrTapRange reports a mean tap value too large for TapMean's fixed-point
// sums, or a non-finite one.
var ErrTapRange = errors.New("calibrate: mean input out of range for bias correction")

// Add observes a batch x of shape [n, c, h, w] (NCHW, float32 values in
// row-major order).
func (t *TapMean) Add(x []float32, n, h, w int) error {
	if len(x) != n*t.c*h*w {
		return fmt.Errorf("calibrate: tap mean: %d values for a [%d,%d,%d,%d] input", len(x), n, t.c, h, w)
	}
	win := t.w
	outH, padTop := plane(h, win.KH, win.StrideH, win.DilH, win.PadTop, win.PadBottom, win.AutoPad)
	outW, padLeft := plane(w, win.KW, win.StrideW, win.DilW, win.PadLeft, win.PadRight, win.AutoPad)
	if outH <= 0 || outW <= 0 {
		return fmt.Errorf("calibrate: tap mean: a %dx%d input gives no output through %+v", h, w, win)
	}
	positions := float64(outH * outW)
	part := make([]int64, len(t.sums))
	for s := 0; s < n; s++ {
		for c := 0; c < t.c; c++ {
			plane := x[(s*t.c+c)*h*w : (s*t.c+c+1)*h*w]
			for i := 0; i < win.KH; i++ {
				for j := 0; j < win.KW; j++ {
					var sum float64
					for oh := 0; oh < outH; oh++ {
						r := oh*win.StrideH - padTop + i*win.DilH
						if r < 0 || r >= h {
							continue
						}
						row := plane[r*w : (r+1)*w]
						for ow := 0; ow < outW; ow++ {
							col := ow*win.StrideW - padLeft + j*win.DilW
							if col >= 0 && col < w {
								sum += float64(row[col])
							}
						}
					}
					mean := sum / positions
					if !(math.Abs(mean) < tapLimit) {
						return fmt.Errorf("%w: channel %d tap (%d,%d) of sample %d has mean %g", ErrTapRange, c, i, j, s, mean)
					}
					part[(c*win.KH+i)*win.KW+j] += int64(math.RoundToEven(mean * tapScale))
				}
			}
		}
	}
	for k, v := range part {
		t.sums[k] += v
	}
	t.samples += int64(n)
	return nil
}

// Merge adds o's observations to t. Both must observe the same channels
// and window.
func (t *TapMean) Merge(o *TapMean) error {
	if o.c != t.c || o.w != t.w {
		return fmt.Errorf("calibrate: tap mean: merging %d channels %+v into %d channels %+v", o.c, o.w, t.c, t.w)
	}
	for k, v := range o.sums {
		t.sums[k] += v
	}
	t.samples += o.samples
	return nil
}

// Means returns the mean tap values, indexed [c][i][j] in row-major order,
// or nil before the first sample.
func (t *TapMean) Means() []float64 {
	if t.samples == 0 {
		return nil
	}
	m := make([]float64, len(t.sums))
	for k, v := range t.sums {
		m[k] = float64(v) / tapScale / float64(t.samples)
	}
	return m
}

// Channels returns the number of input channels and the window.
func (t *TapMean) Channels() (int, Window) { return t.c, t.w }

// MarshalBinary encodes the observer: a version byte, the channel count
// and window as varints, auto_pad as a length-prefixed string, the sample
// count and the sums.
func (t *TapMean) MarshalBinary() ([]byte, error) {
	b := []byte{1}
	w := t.w
	for _, v := range []int{t.c, w.KH, w.KW, w.StrideH, w.StrideW, w.DilH, w.DilW, w.PadTop, w.PadLeft, w.PadBottom, w.PadRight} {
		b = binary.AppendVarint(b, int64(v))
	}
	b = binary.AppendUvarint(b, uint64(len(w.AutoPad)))
	b = append(b, w.AutoPad...)
	b = binary.AppendVarint(b, t.samples)
	for _, v := range t.sums {
		b = binary.AppendVarint(b, v)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (t *TapMean) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != 1 {
		return errors.New("calibrate: tap mean: unknown encoding")
	}
	b = b[1:]
	next := func() (int64, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, errors.New("calibrate: tap mean: truncated")
		}
		b = b[n:]
		return v, nil
	}
	var f [11]int64
	for i := range f {
		v, err := next()
		if err != nil {
			return err
		}
		if v < 0 || v > 1<<24 {
			return errors.New("calibrate: tap mean: bad geometry")
		}
		f[i] = v
	}
	l, k := binary.Uvarint(b)
	if k <= 0 || l > 16 || uint64(len(b)-k) < l {
		return errors.New("calibrate: tap mean: bad auto_pad")
	}
	auto := string(b[k : k+int(l)])
	b = b[k+int(l):]
	samples, err := next()
	if err != nil {
		return err
	}
	c := int(f[0])
	w := Window{KH: int(f[1]), KW: int(f[2]), StrideH: int(f[3]), StrideW: int(f[4]), DilH: int(f[5]), DilW: int(f[6]),
		PadTop: int(f[7]), PadLeft: int(f[8]), PadBottom: int(f[9]), PadRight: int(f[10]), AutoPad: auto}
	if w.StrideH == 0 || w.StrideW == 0 || w.DilH == 0 || w.DilW == 0 {
		return errors.New("calibrate: tap mean: bad geometry")
	}
	if f[0]*f[1] > int64(len(b)) || f[0]*f[1]*f[2] > int64(len(b)) {
		return errors.New("calibrate: tap mean: truncated")
	}
	n := c * w.KH * w.KW
	if n > len(b) {
		return errors.New("calibrate: tap mean: truncated")
	}
	sums := make([]int64, n)
	for k := range sums {
		v, err := next()
		if err != nil {
			return err
		}
		sums[k] = v
	}
	if len(b) != 0 {
		return errors.New("calibrate: tap mean: trailing bytes")
	}
	*t = TapMean{c: c, w: w, sums: sums, samples: samples}
	return nil
}
