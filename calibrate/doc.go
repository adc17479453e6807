// Package calibrate collects the activation ranges that post-training
// quantization needs.
//
// A MinMax observes the values of one tensor and keeps their minimum and
// maximum (NaN and ±Inf are skipped and counted). Ranges holds one MinMax per
// tensor name of a model; feed it from an executor's observation callback
// while running the calibration samples.
//
// Both types merge: the state is a minimum, a maximum and counters, so
// merging is associative and commutative and any split of the same samples
// over workers, merged in any order, gives the same result bit for bit (−0
// is recorded as +0 so that the order of equal zeros cannot matter). Ranges
// has a canonical JSON form with tensor names sorted, so equal contents
// encode to identical bytes and can be shipped between workers.
//
// The package does no I/O and is not safe for concurrent use; give each
// goroutine its own Ranges and merge them.
package calibrate
