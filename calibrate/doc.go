// Package calibrate collects the activation ranges that post-training
// quantization needs and chooses the range each tensor is quantized to.
//
// Calibration runs in two passes over the same samples, each an observer
// per tensor with Add, Merge and Result:
//
//   - MinMax keeps the minimum and maximum (pass 1, and all that
//     MethodMinMax needs). Ranges holds one per tensor name of a model.
//   - Histogram counts values in Bins fixed-width bins laid over the pass-1
//     range (pass 2). Histograms holds one per tensor, built from a pass-1
//     Ranges.
//
// Because the bins are fixed before pass 2 starts, both observers merge
// exactly: min/max and integer addition. Any split of the same samples over
// workers, merged in any order, gives the same state bit for bit (−0 is
// recorded as +0 so that the order of equal zeros cannot matter), and every
// state has a canonical JSON form, so equal contents encode to identical
// bytes.
//
// Histogram.Result chooses a range by Options.Method:
//
//   - MethodMinMax: the observed range.
//   - MethodPercentile: the range keeping Options.Percentile percent of the
//     values (half of the rest cut from each tail of a signed histogram,
//     all of it from the top of an absolute one), on bin edges.
//   - MethodEntropy: the window minimizing KL(P‖Q) between the clipped
//     distribution and its quantization to 128 (symmetric) or 256
//     (asymmetric) levels, as in TensorRT's entropy calibrator.
//   - MethodMSE: the window minimizing the expected squared error of
//     rounding to the actual qmath grid plus clipping, integrated exactly
//     per bin (values uniform within a bin, exact zeros free).
//
// Options.Symmetric selects ranges [−t, t] (an absolute histogram of |v|)
// instead of asymmetric ones (a signed histogram with zero on a bin edge).
// Every chosen range contains zero, so the zero point qmath derives
// represents real zero exactly, and never reaches beyond the observed
// values. NaN and ±Inf are skipped and counted; a tensor with no finite
// value has no range, constant and all-zero tensors get valid ones.
//
// WeightRanges gives per-channel weight ranges, optionally MSE-clipped for
// symmetric int8 weights (levels −127..127); the quantizer can call it.
//
// Table is a model's result, tensors sorted, with settings; its JSON is
// the body of eightbit's range files (docs/calibration.md).
//
// The package does no I/O. Observers are not safe for concurrent use (a
// large Histogram.Add spreads its own work over goroutines); give each
// goroutine its own and merge them.
package calibrate
