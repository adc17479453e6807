// Package evaluate runs float and 8-bit models over an evaluation split and
// scores them, without Beam: the transforms' DoFns call it with the samples
// of one work item, and tests use it directly.
//
// It holds:
//
//   - batching: Batcher feeds the samples of a split to a program in
//     batches (decode, preprocess, shape checks) and splits the class
//     scores per sample; Predict returns top-1 classes;
//   - scoring: Counts tallies top-1, top-5, per-class accuracy and
//     float/int8 agreement per sample, and merges tallies exactly;
//   - per-layer statistics: Layer accumulates, per quantized tensor, the
//     float activation against the quantized model's dequantized one and
//     against its own quantization (FakeQuant); Results and Culprits turn
//     the merged statistics into report layers and rank the calibrated
//     ranges;
//   - Evaluator: one model's float, int8 and QDQ programs over a set of
//     samples, reusing its buffers from batch to batch.
//
// Results do not depend on how samples are grouped into work items or
// batches: every tally is a sum over samples, and layer statistics are
// added one sample at a time (report.LayerStats).
package evaluate
