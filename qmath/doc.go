// Package qmath is the arithmetic of 8-bit quantization: choosing a scale and
// zero point for a real range, quantizing and dequantizing single values, and
// requantizing int32 accumulators. Every rounding rule used anywhere in
// eightbit is defined here once.
//
// The affine mapping is real = scale × (q − zero_point). Ranges are always
// widened to contain 0 so that real zero maps to an integer exactly, which
// keeps zero padding and ReLU exact.
package qmath
