// Package kernels implements eightbit's operators in pure Go: float32
// kernels with ONNX semantics and the reference integer kernels of the
// quantized path.
//
// Float kernels: Conv (im2col + Gemm, direct loops for depthwise),
// ConvTranspose (Gemm + scatter, any spatial rank), Gemm / GemmOp / MatMul,
// BatchNorm, InstanceNorm, LRN, Binary (Add/Sub/Mul/Div with numpy
// broadcasting), Relu, Clip, MaxPool, AveragePool (PoolND for 3-D inputs
// and MaxPool indices), GlobalAveragePool, GlobalMaxPool, Pad / PadMode
// (constant, reflect, edge), Softmax/LogSoftmax, Resize (nearest, linear,
// cubic; separable), Reduce (Sum, Mean, Max, Min, ...), ArgMax, and the
// shape operators (Reshape, Flatten, Transpose, Concat, Split, Slice,
// Squeeze, Unsqueeze, ShapeOf, Gather, Expand, Tile, Cast). The generic
// element-wise helpers (Unary, Combine, Variadic, Where, PRelu) accept any
// element type and trade speed for generality: they are not on the hot path
// of CNN classifiers. Kernels that size their output from attributes or
// small inputs refuse more than MaxElements elements.
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
//
// MaxPool on uint8 and int8 values runs separably, a maximum over the
// window's rows and then over its columns (qpool.go), with AVX-512 BW or
// AVX2 row kernels for uint8; the result is maxPoolReference's bit for bit.
// QuantizeLinear, DequantizeLinear and the quantized Add (QAdd) have
// AVX-512 and AVX2 row kernels equal bit for bit to their Go definitions
// (qelem.go); AveragePoolQDQWith pools 8-bit values with the float32
// arithmetic of DequantizeLinear → AveragePool → QuantizeLinear.
package kernels
