// Package kernels implements eightbit's operators in pure Go: float32
// kernels with ONNX semantics and the reference integer kernels of the
// quantized path.
//
// Float kernels: Conv (im2col + Gemm, direct loops for depthwise), Gemm /
// GemmOp / MatMul, BatchNorm, Binary (Add/Sub/Mul/Div with numpy
// broadcasting), Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, Pad,
// Softmax/LogSoftmax, and the shape operators (Reshape, Flatten, Transpose,
// Concat, Squeeze, Unsqueeze, ShapeOf, Gather, Cast).
//
// Gemm is cache blocked (K blocks of 256, N blocks of 512, 4-row/4-column
// packed panels) with a 4x4 register-blocked inner kernel. Large products
// use several goroutines split on output rows only, so every output element
// is summed in the same order whatever the number of goroutines
// (MaxThreads): results are reproducible.
//
// Integer kernels follow ONNX QuantizeLinear/DequantizeLinear and ONNX
// Runtime's QLinearConv/QLinearMatMul arithmetic, with the rounding rules of
// package qmath:
//
//	acc = bias + Σ (x − zx)·(w − zw)         int32
//	y   = saturate(round_half_even(float32(acc)·M) + zy),  M = sx·sw/sy
//
// QConvReference and QMatMulReference are the readable definitions;
// QConv and QMatMul compute the same integers faster (integer addition is
// exact, so they agree bit for bit).
package kernels
