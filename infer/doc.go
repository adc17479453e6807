// Package infer executes eightbit models.
//
// Compile turns a graph.Model into a Program once: it validates a copy of
// the model (the caller's model is never modified), turns Constant nodes
// into constants, bypasses Identity and inference-mode Dropout nodes, runs
// shape inference (graph.InferShapes) with a symbolic batch dimension
// (BatchFree: even a declared fixed batch is treated as free), evaluates
// every node whose inputs are all constant, folds shape computations whose
// result is known (Shape of static dimensions, and Gather / Slice / Concat /
// Unsqueeze / Cast of such values), gives a Reshape whose target depends on
// the batch a constant target with 0 for the batch, drops nodes that no
// output depends on, and fixes the execution order and the point where each
// intermediate buffer is released (after its last reader), so memory stays
// bounded by the live values. Operators the executor lacks, and operator
// variants it does not implement (training modes, exotic attributes, which
// wrap ErrUnsupported), are reported all at once as an *UnsupportedError
// with the node names and the model's opset.
//
// In float mode, Compile then fuses every chain Conv [→ BatchNormalization]
// [→ Add | Sum residual] [→ Relu | Clip] whose intermediate values nothing
// else reads into one step (epilogue.go): a BatchNormalization with
// constant parameters is folded into the constant weights and bias (float
// rounding only), and the bias, residual and clamp are applied to each
// output row as the convolution writes it, bit for bit as the separate
// operators would. RunObserved runs an unfused compilation, made on first
// use, so that it still sees every node output.
//
// The float operators cover ONNX opsets 7 to 21 for CNN classifiers: see
// SupportedOps, and testdata/conformance.txt for the outcome of every ONNX
// 1.12 node test.
//
// # The op registry
//
// Everything the executor knows about an operator type is one entry of the
// op registry (registry.go), keyed by domain and type: how to build the
// node's kernel for an opset (from the heap, or, for the hot operators,
// taking its output from the Run's arena), how to count its
// multiply-accumulates, and the properties that compilation asks about —
// whether it is a shape computation that folds to a constant, whether it
// commutes exactly with a per-tensor quantization (and so runs on 8-bit
// values between DequantizeLinear and QuantizeLinear), and whether it is a
// QOperator-format op that integer mode runs as an integer or 8-bit step.
// The entries are registered by the init functions of one file per
// operator family: ops_conv.go, ops_pool.go, ops_norm.go,
// ops_activation.go, ops_elementwise.go, ops_reduce.go, ops_shape.go,
// ops_quant.go (QuantizeLinear, DequantizeLinear and the QLinear / Integer
// operators) and ops_contrib.go (ONNX Runtime's com.microsoft QLinearAdd
// and QLinearGlobalAveragePool); ops.go holds the helpers they share.
// Adding an operator is one register call in its family file. The registry
// is read once per node at Compile time; Run only calls the kernels built
// then.
//
// Program.Run is safe for concurrent use; the batch size is whatever the
// inputs carry (models run at any batch size the graph allows).
// RunObserved also reports every float32 value (graph inputs
// and node outputs, in plan order) to a callback, which calibration uses to
// collect ranges. Errors name the node, e.g. `Conv "conv1": ...`.
//
// # Integer execution
//
// With Options.Integer, QDQ patterns run in integer arithmetic:
//
//	DequantizeLinear(x uint8) → Conv | Gemm | MatMul [→ Relu | Clip] → QuantizeLinear(uint8)
//
// where the weight is DequantizeLinear of an int8 constant (per tensor, or
// per output channel) and the bias, if any, DequantizeLinear of an int32
// constant with scale sx·sw and zero point 0, becomes one node computing
//
//	acc = bias + Σ (x − zx)·(w − zw)                        (int32, exact)
//	y   = qmath.Requantize(acc, qmath.RequantizeScale(sx, sw[c], sy), zy, lo, hi)
//
// (ONNX Runtime's QLinearConv rule; a fused Relu/Clip narrows [lo, hi]).
// DequantizeLinear → MaxPool | Flatten | Reshape | Transpose | Relu →
// QuantizeLinear with identical scale and zero point runs on the uint8
// values directly, which is exact. Residual Add and GlobalAveragePool
// between DequantizeLinear and QuantizeLinear run on the 8-bit values with
// ONNX Runtime's QLinearAdd and QLinearGlobalAveragePool arithmetic, and
// DequantizeLinear → AveragePool → QuantizeLinear with the float32
// arithmetic of the three operators (the same bytes, without the float
// tensors). Everything else runs in float32 on dequantized values with
// ONNX QDQ semantics.
//
// The two modes differ only in rounding: float QDQ dequantizes, sums float32
// products in float32 and quantizes y/sy; integer mode sums exactly in int32
// and rounds float32(acc)·(sx·sw/sy). Both round half to even, so outputs
// agree except for occasional one-step differences where the float sum lies
// within rounding error of a half-way point (identical when all scales are
// powers of two).
package infer
