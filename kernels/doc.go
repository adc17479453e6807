// Package kernels implements eightbit's operators: float32 kernels with
// ONNX semantics and the integer kernels of the quantized path, in Go and,
// on amd64, assembly. Their readable definitions are in kernels/reference.
//
// Float kernels: Conv (unfolded + Gemm: from a zero-padded copy of each
// plane in the wide layout of paddedPlanes when that adds at most an
// eighth to the columns, else im2col; 1x1 stride-1 kernels multiply the
// input in place; depthwise by rows on a zero-padded copy of each plane,
// frow.go), ConvFusedWith (Conv with a residual Add and a Relu/Clip applied
// to each output row while it is in cache), ConvTranspose (Gemm + scatter, any spatial rank), Gemm / GemmOpWith / MatMul,
// BatchNormWith, InstanceNorm, LRN, Binary (Add/Sub/Mul/Div with numpy
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
// Gemm runs the assembly SGEMM (sgemm.go; AVX-512 8x48 tiles, the AVX2
// 6x16 ones for products or right edges of at most 16 columns) or, without
// assembly, a Go GEMM cache blocked (K blocks of 256, N blocks of 512,
// 4-row/4-column packed panels) with a 4x4 register-blocked inner kernel.
// Large products (from 4M multiply-adds on the assembly path) use several
// goroutines split on output rows or columns, never along K, so every
// output element is summed in the same order whatever the number of
// goroutines (MaxThreads): results are reproducible.
//
// Dispatch: the integer engine (kernelSet, qcore.go), the float GEMM
// (sgemm.go) and the float row kernels (frow.go) each keep the
// implementation in use in a plain package variable, bound to a family of
// internal/cpu's registry (kernels.integer, kernels.sgemm, kernels.frow).
// The _amd64.go files register their assembly implementations with the
// features they need; the registry sets the variable once, at start-up, to
// the fastest the CPU runs (EIGHTBIT_CPU_DISABLE hides the AVX-512 or AVX2
// ones), and tests run once per implementation with
// cputest.TestAllImplementations.
//
// Files: every assembly-backed engine x is x.go (its Go implementation,
// which is also the portable one), x_amd64.go (the assembly stubs, each
// documented by the Go loop it computes, their slice wrappers and their
// registration) and x_amd64.s, both under //go:build amd64 && !purego,
// and, where the build without assembly needs its own definitions (frow,
// sgemm), x_noasm.go under //go:build !amd64 || purego. The engines are
// qcore (integer tiles and requantization), qdepthwise, qelem, qpool,
// frow and sgemm. Microkernels are named operation, operand types, tile
// and instruction set: gemmS8U8Tile6x64AVX512VNNI, requantI32AVX2,
// sgemmF32Tile8x48AVX512, centreU8I16AVX2; a slice wrapper is named after
// the Go loop it replaces with the instruction set instead of Go
// (maxIntoU8Go, maxIntoU8AVX2).
//
// The With variants (ConvWith, ConcatWith, TransposeWith, LRNWith, ...)
// take their output and scratch memory from an Alloc, the executor's
// per-Run arena.
//
// Float MaxPool and AveragePool (rank 4 and below) run by rows like the
// depthwise convolution, on a copy of each plane padded with −∞ or 0,
// bit for bit as their reference loops; LRN with beta 0.75 (the default) runs
// in float32 with vectorized window sums and square roots (frow.go
// f32LRN075); other betas in float64, with square roots instead of
// math.Pow for 0.5 and 1.
//
// The float row kernels (frow.go: the depthwise and average-pool tap sum,
// the max-pool tap maximum, and the bias/residual/clamp epilogue, which
// Relu and Clip also use) have AVX-512F
// and AVX2 twins (frow_amd64.s) that compute every element with the same
// separately rounded operations in the same order, so all paths, the
// purego build included, agree bit for bit.
//
// Integer kernels follow ONNX QuantizeLinear/DequantizeLinear and ONNX
// Runtime's QLinearConv/QLinearMatMul arithmetic, with the rounding rules of
// package qmath:
//
//	acc = bias + Σ (x − zx)·(w − zw)         int32
//	y   = saturate(round_half_even(float32(acc)·M) + zy),  M = sx·sw/sy
//
// Requantization has exactly one rule, the one above (Requant,
// qmath.Requantize): M is a float32 multiplier per tensor or per output
// channel, computed in float32 as ONNX Runtime does (qmath.RequantizeScale),
// the product float32(acc)·M is one float32 multiplication, it is clamped to
// [lo − zy, hi − zy] (the type's range, narrowed by a fused Relu/Clip) and
// rounded half to even, and zy is added. There is no fixed-point
// (gemmlowp/TFLite) path: every epilogue, in Go or assembly, computes this.
//
// Package kernels/reference holds the readable definitions of these
// operators as plain loops (ConvAcc, MatMulAcc, Requantize, MaxPool,
// AveragePool, Quantize, Dequantize, QAdd): the spec. The engines here
// (QConvPlan, QGemmPlan, the pools, the element-wise row kernels, in Go and
// assembly) compute the same values faster, and their tests compare them
// with the reference bit for bit on random shapes and edge cases (integer
// addition is exact, so the blocking, packing and number of goroutines
// never change a result).
//
// MaxPool on uint8 and int8 values runs separably, a maximum over the
// window's rows and then over its columns (qpool.go), with AVX-512 BW or
// AVX2 row kernels for uint8; the result is reference.MaxPool's bit for bit.
// QuantizeLinear, DequantizeLinear and the quantized Add (QAdd) have
// AVX-512 and AVX2 row kernels equal bit for bit to their Go definitions
// (qelem.go); AveragePoolQDQWith pools 8-bit values with the float32
// arithmetic of DequantizeLinear → AveragePool → QuantizeLinear.
package kernels
