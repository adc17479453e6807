package evaluate

import "github.com/eightbitml/eightbit/tensor"

// Counts are one model's evaluation tallies over some samples. Agree counts
// samples whose int8 top-1 class equals the float one. Every field merges
// by addition (Merge) except MACs and IntegerMACs (per image, equal on every
// shard: the larger wins), Bad and Err. The fields are exported for Beam's
// coders.
type Counts struct {
	Samples      int64
	FloatCorrect int64
	Int8Correct  int64
	Agree        int64
	// FloatOnly (b) counts samples the float model got right and int8
	// wrong, Int8Only (c) the reverse.
	FloatOnly, Int8Only int64
	// Top5Samples counts samples whose top-5 was checked (outputs of at
	// least five classes); FloatTop5 and Int8Top5 those with the label
	// among the five highest scores.
	Top5Samples, FloatTop5, Int8Top5 int64
	// ClassSamples, ClassFloat and ClassInt8 are per-class totals and
	// top-1 hits, indexed by dataset label (length Config.Classes).
	ClassSamples, ClassFloat, ClassInt8 []int64
	// MACs and IntegerMACs are the int8 program's multiply-accumulates per
	// image, all and integer ones.
	MACs, IntegerMACs int64
	// Bad is the JSON of the evaluation split's bad samples
	// ([]dataset.BadSample), sent by the shard starting at 0 only.
	Bad []byte
	// FloatNanos and Int8Nanos are the wall time of the timed runs of each
	// model over TimedSamples samples (Config.MeasureSpeed only).
	FloatNanos, Int8Nanos, TimedSamples int64
	// Err is the failure of the failing shard with the lowest start
	// (ErrShard), so the merged result does not depend on sharding.
	Err      string
	ErrShard int64
}

// NewCounts returns empty tallies with per-class slots for cfg.Classes.
func NewCounts(cfg Config) Counts {
	var c Counts
	if cfg.Classes > 0 {
		c.ClassSamples = make([]int64, cfg.Classes)
		c.ClassFloat = make([]int64, cfg.Classes)
		c.ClassInt8 = make([]int64, cfg.Classes)
	}
	return c
}

// Add tallies one sample: label in the dataset's label space, fs and is
// the float and int8 scores.
func (c *Counts) Add(cfg Config, label int, fs, is []float32) {
	fpred := tensor.ArgMax(fs) - cfg.LabelOffset
	ipred := tensor.ArgMax(is) - cfg.LabelOffset
	fok, iok := fpred == label, ipred == label
	c.Samples++
	if fok {
		c.FloatCorrect++
	}
	if iok {
		c.Int8Correct++
	}
	if fpred == ipred {
		c.Agree++
	}
	if fok && !iok {
		c.FloatOnly++
	}
	if iok && !fok {
		c.Int8Only++
	}
	if cfg.Classes >= 5 {
		c.Top5Samples++
		if InTop5(fs, label+cfg.LabelOffset) {
			c.FloatTop5++
		}
		if InTop5(is, label+cfg.LabelOffset) {
			c.Int8Top5++
		}
	}
	if label >= 0 && label < len(c.ClassSamples) {
		c.ClassSamples[label]++
		if fok {
			c.ClassFloat[label]++
		}
		if iok {
			c.ClassInt8[label]++
		}
	}
}

// InTop5 reports whether class k is among the five highest scores, ties
// going to the lower index (as tensor.ArgMax breaks them).
func InTop5(s []float32, k int) bool {
	if k < 0 || k >= len(s) {
		return false
	}
	above := 0
	for j, v := range s {
		if v > s[k] || v == s[k] && j < k {
			above++
			if above >= 5 {
				return false
			}
		}
	}
	return true
}

// AddSlices adds two count vectors element by element into a new slice as
// long as the longer (nil when both are empty).
func AddSlices(a, b []int64) []int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]int64, max(len(a), len(b)))
	for i, v := range a {
		out[i] += v
	}
	for i, v := range b {
		out[i] += v
	}
	return out
}

// Merge returns the tallies of a and b together; the error of the lowest
// failing shard wins, and the result is the same in either order.
func Merge(a, b Counts) Counts {
	out := Counts{
		Samples:      a.Samples + b.Samples,
		FloatCorrect: a.FloatCorrect + b.FloatCorrect,
		Int8Correct:  a.Int8Correct + b.Int8Correct,
		Agree:        a.Agree + b.Agree,
		FloatOnly:    a.FloatOnly + b.FloatOnly,
		Int8Only:     a.Int8Only + b.Int8Only,
		Top5Samples:  a.Top5Samples + b.Top5Samples,
		FloatTop5:    a.FloatTop5 + b.FloatTop5,
		Int8Top5:     a.Int8Top5 + b.Int8Top5,
		ClassSamples: AddSlices(a.ClassSamples, b.ClassSamples),
		ClassFloat:   AddSlices(a.ClassFloat, b.ClassFloat),
		ClassInt8:    AddSlices(a.ClassInt8, b.ClassInt8),
		MACs:         max(a.MACs, b.MACs),
		IntegerMACs:  max(a.IntegerMACs, b.IntegerMACs),
		Bad:          a.Bad,
		FloatNanos:   a.FloatNanos + b.FloatNanos,
		Int8Nanos:    a.Int8Nanos + b.Int8Nanos,
		TimedSamples: a.TimedSamples + b.TimedSamples,
	}
	if len(b.Bad) > 0 && (len(out.Bad) == 0 || string(b.Bad) < string(out.Bad)) {
		out.Bad = b.Bad // only one shard sends them; the choice is order-free anyway
	}
	switch {
	case a.Err != "" && (b.Err == "" || a.ErrShard < b.ErrShard || a.ErrShard == b.ErrShard && a.Err <= b.Err):
		out.Err, out.ErrShard = a.Err, a.ErrShard
	case b.Err != "":
		out.Err, out.ErrShard = b.Err, b.ErrShard
	}
	return out
}
