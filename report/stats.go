package report

import "math"

// z95 is the 0.975 quantile of the standard normal distribution.
const z95 = 1.959963984540054

// Top1Diff returns the difference of top-1 accuracy int8 − float over n
// paired samples, with a 95% confidence interval, for Model.Top1Diff. b is
// the number of samples the float model classified correctly and the int8
// model not, c the number the int8 model classified correctly and the float
// model not; samples both got right or both got wrong (the concordant pairs)
// do not move the difference.
//
// The estimate is d = (c − b)/n. Its variance under the paired (McNemar)
// model, estimated from the discordant pairs, is
//
//	Var(d) = ((b + c) − (c − b)²/n) / n²
//
// and the interval is d ± 1.96·√Var(d) (normal approximation, Wald),
// clipped to [−1, 1]. With no discordant pair (b = c = 0) the interval is
// [0, 0]: the two models agree on correctness for every sample evaluated.
// The approximation needs b + c of roughly 10 or more to be trusted.
//
// Top1Diff returns nil when n ≤ 0, a count is negative, or b + c > n.
func Top1Diff(n, b, c int64) *PairedDiff {
	if n <= 0 || b < 0 || c < 0 || b+c > n {
		return nil
	}
	fn, fb, fc := float64(n), float64(b), float64(c)
	d := (fc - fb) / fn
	v := ((fb + fc) - (fc-fb)*(fc-fb)/fn) / (fn * fn)
	half := z95 * math.Sqrt(max(v, 0))
	return &PairedDiff{
		Samples:   n,
		FloatOnly: b,
		Int8Only:  c,
		Diff:      d,
		Low:       max(-1, d-half),
		High:      min(1, d+half),
	}
}
