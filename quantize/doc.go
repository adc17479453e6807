// Package quantize rewrites a float ONNX model (graph.Model) into an 8-bit
// model that ONNX Runtime runs, from activation ranges calibrated on the
// prepared model. Options selects the scheme (Schemes: u8s8-channel, the
// default, u8s8-tensor, s8s8-channel, tf-eightbit) and the output format
// (Formats: qdq, the default, qoperator, weights-only); see
// docs/quantization-formats.md for all of them. The sections below describe
// the default, u8s8-channel in qdq.
//
// # Preparation
//
// Prepare returns the graph that calibration and quantization both see:
// Constant nodes become initializers, Identity nodes disappear, and a
// BatchNormalization that is the only reader of a Conv output is folded into
// that Conv, per output channel c, in float64 then rounded to float32:
//
//	k[c]  = γ[c] / √(var[c] + ε)
//	w'[c] = w[c] · k[c]
//	b'[c] = (b[c] − mean[c]) · k[c] + β[c]
//
// The folded Conv writes the BatchNormalization's output name. Prepare also
// folds BatchNormalization after a Gemm, constant Reshapes of initializers,
// per-channel constant Adds after Conv/Gemm into the bias, MatMul + Add into
// Gemm and zero Pads into the Conv/AveragePool reading them. Prepare is
// deterministic and idempotent; calibrate on Prepare(m), then pass either m
// or Prepare(m) to Quantize.
//
// # Scheme
//
// The default scheme (SchemeU8S8PerChannel) follows ONNX Runtime's QDQ
// convention. With real = scale × (q − zero_point):
//
//   - activations: uint8, asymmetric, per tensor, from the calibrated range
//     [min, max] widened to contain 0:
//     scale = (max − min) / 255, zero_point = round_half_even(−min / scale)
//   - weights: int8, symmetric, per output channel c (axis 0 of Conv weights
//     [M, C/group, kH, kW] and of Gemm weights with transB=1; axis 1 of Gemm
//     weights with transB=0 and of MatMul weights [K, N]):
//     scale[c] = max|w[c]| / 127, q = round_half_even(w / scale[c]) in
//     [−127, 127], zero_point = 0
//   - bias: int32, per output channel, zero point 0:
//     scale[c] = input_scale × weight_scale[c] (a float32 product),
//     q = round_half_even(b / scale[c])
//
// # QDQ rewrite
//
// For every Conv, Gemm and MatMul whose weight (input 1) is a float
// initializer, the activation input and the output get a
// QuantizeLinear → DequantizeLinear pair with scalar scale and zero point;
// the weight becomes an int8 initializer read by a per-axis
// DequantizeLinear, without zero-point input for Conv weights (absent
// means 0 of the input's type, int8) and with an all-zero int8 one for Gemm
// and MatMul weights (ONNX Runtime fuses a Gemm into QGemm only when the
// weight's DequantizeLinear has one; it fuses Conv into QLinearConv
// either way), the bias an int32 initializer read by a DequantizeLinear
// with axis 0 and no zero point (it must be 0, the default) (Gemm biases
// only when alpha = beta = 1 and the bias is 1-D). The bias scale is not
// stored: a Mul(input scale, weight scale) node computes it, one per pair
// of scales, giving the very float32 products the int32 bias values were
// quantized with. ONNX Runtime folds it (constant folding runs before its
// QDQ fusion), and so does infer.Compile (constant subgraphs).
//
// A Relu, or a Clip whose bounds contain the quantized range of its output
// (lower bound ≤ 0), that is the only reader of a Conv or Gemm output is
// dropped: the Conv/Gemm output is quantized with the activation's
// calibrated range, and saturation does the clipping. MaxPool, Flatten,
// Reshape and Transpose outputs whose input is quantized reuse the input's
// scale and zero point. Every quantized tensor has one Q/DQ pair shared by
// all its readers, and its Q and DQ read the same scale and zero-point
// initializers; activations with equal scales (or equal zero points) share
// one initializer. Graph inputs are quantized in place; graph outputs keep
// their names and stay float (the producer writes f<k>, see below).
//
// # Names and size
//
// Every tensor and node name of the input that still exists is kept; graph
// input and output names never change. What Quantize adds gets a short
// name, so that names do not outweigh the int8 data of small models.
// Quantized activations are numbered k = 1, 2, ... in the order they are
// decided (graph inputs, then node outputs in topological order); weights
// and biases are numbered j = 1, 2, ... (each its own count) in the order
// of their first quantized reader:
//
//	q<k>  QuantizeLinear output (uint8) of activation k
//	d<k>  DequantizeLinear output that the readers of activation k read
//	f<k>  float value written by the producer of graph output k (the
//	      output's own name is written by its DequantizeLinear)
//	s<k>  scalar scale, z<k> scalar zero point (named after the first
//	      activation with that value)
//	w<j>  int8 weight; w<j>s its per-channel scales; w<j>z its zero
//	      points (Gemm/MatMul only; shared by equal ones); w<j>d dequantized
//	b<j>  int32 bias; b<j>s its scale (the Mul output); b<j>d dequantized
//
// All of them get the shortest prefix of underscores ("", "_", "__", ...)
// such that no name in the input graph starts with that prefix followed by
// one of the letters q d f s z w b and a digit, so they cannot collide with
// existing names. Added nodes have no name (node names are optional in
// ONNX). The few names that the opset upgrade adds derive from the tensor
// (<t>_min, <t>_shape, ...; see graph.UniqueName).
//
// Initializers that no node reads any more and value_info entries of values
// that no node writes any more are dropped. Attributes holding the op's
// default (Conv and pool strides and dilations of 1, zero pads, auto_pad
// NOTSET, Conv group 1, Gemm alpha and beta 1 and transA/transB 0, Flatten
// axis 1, ...) and a Conv kernel_shape equal to the weight's spatial
// dimensions (which Conv infers when it is absent) are removed: the model
// means the same and is smaller.
//
// Models below opset 13 are raised to 13 when their ops mean the same
// there (or can be converted); otherwise Quantize names the op in its
// error. The output is deterministic: no step depends on map iteration
// order.
package quantize
