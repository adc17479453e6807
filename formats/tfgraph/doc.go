// Package tfgraph imports TensorFlow frozen graphs into eightbit's graph IR.
//
// A frozen graph is a serialized GraphDef, the .pb file that freeze_graph
// or quantize_graph writes: variables are Const nodes. Decode parses its
// bytes (it does no I/O) and returns a graph.Model with ONNX opset 13
// semantics that package infer compiles and runs. The wire messages live in
// the subpackage tfpb, generated from a subset of TensorFlow's schema with
// TensorFlow's field numbers. A SavedModel, a MetaGraphDef or an ONNX file
// is rejected as "not a TensorFlow GraphDef".
//
// # Inputs, outputs and the cut
//
// Options.Inputs and Options.Outputs name tensors as TensorFlow tools such
// as label_image take them: "node:index", or "node" for output 0 (e.g.
// "Mul:0", "softmax:0"). By default the inputs are the Placeholders the
// outputs depend on and the outputs are the nodes no data input reads
// (control inputs do not count; NoOp, Const and Placeholder nodes are
// never default outputs). Only the nodes the outputs depend on through data
// inputs, stopping at the inputs, are imported: naming an input cuts the
// graph there, and whatever only feeds the cut (typically DecodeJpeg,
// ResizeBilinear and friends before "Mul:0") is not imported and not
// checked. Control inputs ("^node") are ignored.
//
// In the imported model every TensorFlow tensor "node:0" is the IR value
// "node" and "node:k" (k > 0) the value "node:k"; ValueName maps one to the
// other. Graph inputs and outputs are named that way. IR nodes are named
// after the TensorFlow node they come from, helpers after it with a
// suffix ("conv1/to_nchw"); node order follows the file where it is
// topological, so the output is deterministic.
//
// # Layout
//
// TensorFlow's convolutional ops are mostly NHWC; the IR's are NCHW. The
// layout is converted once, not per op: a 4-D NHWC tensor is transposed to
// NCHW where an NHWC Conv2D, DepthwiseConv2dNative, pool or batch norm
// first needs it, elementwise ops (Add, Mul, Relu, ... and BiasAdd) then
// work on the NCHW tensor directly (constants they combine with are laid
// out for it at import), and Concat, Mean, Squeeze, Pad and Softmax remap
// their axes. The tensor is transposed back only where TensorFlow's layout
// matters: a graph output, a Reshape, MatMul or Shape, or an op the
// remapping does not cover. A classifier whose NHWC input ends in Mean over
// H and W and a MatMul therefore has exactly one Transpose. NCHW
// (data_format "NCHW") ops take their input as it is. Filters are
// transposed at import: Conv2D's HWIO to OIHW, DepthwiseConv2dNative's
// H×W×C×M to (C·M)×1×H×W with group C.
//
// # Ops
//
// Placeholder, Const, Identity, StopGradient, NoOp, MatMul (transpose_a and
// transpose_b), BiasAdd, Add, AddV2, Sub, Mul, RealDiv, Maximum, Minimum,
// Relu, Relu6 (Clip 0..6), Tanh, Sigmoid, Softmax, Conv2D and
// DepthwiseConv2dNative (SAME, VALID and EXPLICIT padding, strides,
// dilations), MaxPool and AvgPool (AvgPool leaves padding out of the
// count, as TensorFlow does), Mean (GlobalAveragePool over H and W,
// ReduceMean otherwise), ConcatV2 and Concat, Reshape, Squeeze, ExpandDims,
// Pad and PadV2 (constant), FusedBatchNorm{,V2,V3} and
// BatchNormWithGlobalNormalization in inference mode (BatchNormalization),
// Shape, StridedSlice and Pack. SAME padding is turned into explicit pads
// (TensorFlow puts the odd pixel at the end) when the input size is known
// and into auto_pad SAME_UPPER, which pads the same way, when it is not.
// Shape, StridedSlice, Pack, Reshape, Squeeze and ExpandDims of constants
// and static shapes are evaluated at import; of run-time values they
// become Shape, Slice, Squeeze, Unsqueeze, Concat and Reshape.
// Axes, paddings, reduction indices and Reshape targets that are not
// constant are not supported (except Reshape targets computed as above).
// Only output 0 of an op is imported.
//
// # Quantized graphs
//
// Graphs from quantize_graph --mode=eightbit load: QuantizeV2, Dequantize,
// Requantize, RequantizationRange, QuantizedConv2D, QuantizedMatMul,
// QuantizedBiasAdd, QuantizedRelu, QuantizedRelu6, QuantizedMaxPool,
// QuantizedAvgPool, QuantizedReshape, QuantizedConcat and
// QuantizedBatchNormWithGlobalNormalization are imported as their float
// equivalents. A quantized tensor (codes with a min and a max) becomes the
// float tensor it stands for and each quantized op the float op it
// computes; the min and max outputs are not computed, and the Min and Max
// nodes that measure ranges at run time are not imported. Exact: constant
// codes (weights, biases) are converted to float exactly as TensorFlow's
// kernels dequantize them (min rounded to a multiple of the step), and a
// constant QuantizeV2 or Requantize range clips as the codes saturate.
// Approximate: TensorFlow rounds activations to 8 bits at every QuantizeV2
// and Requantize and eightbit keeps them float, so the two graphs differ by
// that rounding (at most half a step of the tensor's range per rounding
// point, propagated through the layers that follow). Quantized codes
// computed at run time other than through these ops (a quint8 Placeholder,
// say) are not supported.
//
// # Errors
//
// The decoder treats its input as untrusted. It never panics, and it
// checks every constant's element count against the data present before
// allocating; TensorFlow's shorthand of repeating the last value to fill a
// constant is expanded only up to 2^24 elements. Before converting
// anything it reports, in one error wrapping ErrUnsupported, every op type
// among the imported nodes that it cannot import, with the names of their
// nodes. Other errors wrap ErrInvalid (malformed input: bad protobuf,
// duplicate or missing names, data that does not match its shape,
// attributes of the wrong kind) or ErrUnsupported (valid TensorFlow beyond
// what eightbit imports: training mode, DT_STRING, padding along the
// channel axis) and name the node, attribute or tensor they are about.
package tfgraph
