// Package quantize rewrites a float ONNX model (graph.Model) into a QDQ model
// that ONNX Runtime runs in 8 bits, from activation ranges calibrated on the
// prepared model.
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
// The folded Conv writes the BatchNormalization's output name. Prepare is
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
// DequantizeLinear, the bias an int32 initializer read by a DequantizeLinear
// with axis 0 and no zero point (it must be 0, the default) (Gemm biases
// only when alpha = beta = 1 and the bias is 1-D).
// A Relu, or a Clip whose bounds contain the quantized range of its output
// (lower bound ≤ 0), that is the only reader of a Conv or Gemm output is
// dropped: the Conv/Gemm output is quantized with the activation's
// calibrated range, and saturation does the clipping. MaxPool, Flatten,
// Reshape and Transpose outputs whose input is quantized reuse the input's
// scale and zero point. Every quantized tensor has one Q/DQ pair shared by
// all its readers. Graph inputs are quantized in place; graph outputs keep
// their names and stay float (the producer writes <name>_float).
//
// Names derive from the tensor: <t>_QuantizeLinear, <t>_DequantizeLinear,
// <t>_quantized, <t>_dequantized, <t>_scale, <t>_zero_point (with a numeric
// suffix if taken). Models below opset 13 are raised to 13 when their ops
// mean the same there (or can be converted); otherwise Quantize names the
// op in its error. The output is deterministic: no step depends on map
// iteration order.
package quantize
