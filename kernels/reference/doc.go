// Package reference holds the readable definitions of eightbit's integer
// operators, and of the float pools, as plain loops: the exact results the
// optimized engines of package kernels (tiles, packing, assembly) must
// reproduce bit for bit. Nothing here is fast; everything here is the spec.
//
//   - ConvAcc and MatMulAcc are the int32 accumulators of QLinearConv /
//     ConvInteger (any group count, so depthwise included) and QLinearMatMul
//     / MatMulInteger: acc = bias + Σ (x − zx)·(w − zw).
//   - Requantize is the one requantization rule (ONNX Runtime's,
//     qmath.Requantize): saturate(round_half_even(float32(acc)·M) + zy),
//     clamped to [lo, hi].
//   - MaxPool (float32, uint8, int8) and AveragePool (float32) over a
//     resolved Window.
//   - Quantize, Dequantize and QAdd, the element-wise 8-bit operators.
//
// The package depends on tensor and qmath only, so that kernels (and its
// tests) can import it: the engine calls MaxPoolWindow for the border
// windows of the float MaxPool, as its generic fallback.
package reference
