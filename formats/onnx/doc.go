// Package onnx converts between ONNX model files and eightbit's graph IR.
//
// Decode reads the bytes of an .onnx file (a serialized ModelProto) into a
// graph.Model and Encode writes one back; DecodeTensor and EncodeTensor do
// the same for a single serialized TensorProto, the format of the ONNX test
// data sets. The codec does no I/O: callers read and write the bytes.
//
// What is read:
//
//   - Tensors of element type FLOAT, UINT8, INT8, INT32, INT64 and BOOL, from
//     raw_data (little-endian) or from the typed repeated fields. DOUBLE and
//     FLOAT16 tensors are converted to float32. Other element types,
//     segmented and sparse tensors are rejected with ErrUnsupported, and so
//     is external data, except through DecodeWithExternal, which reads it
//     with a caller-supplied function from files inside the model's folder.
//   - Node attributes of kinds FLOAT, INT, STRING, TENSOR, FLOATS, INTS and
//     STRINGS. Graph-valued attributes (the bodies of If, Loop and Scan) and
//     the other kinds are rejected with ErrUnsupported.
//   - Graph inputs, outputs and value infos with their element type and shape:
//     each dimension is a size, a symbol (Dim.Param, with Value -1) or unknown
//     (Value -1). Values that are not tensors keep a zero DType and nil Shape.
//   - Opset imports and metadata properties.
//
// Initializers that the file also lists as graph inputs are constants, as
// ONNX files of IR version 3 and older must list them: they are kept in
// Graph.Initializers only and left out of Graph.Inputs.
//
// The decoder treats its input as untrusted. It never panics, and it checks
// every tensor's element count against the data actually present before
// allocating, so a forged shape cannot make it allocate more than the input
// implies. Errors wrap ErrInvalid (malformed input) or ErrUnsupported (valid
// ONNX beyond what eightbit represents) and name the initializer, node,
// attribute or value they are about.
//
// Encode is deterministic: opset imports are sorted by domain, initializers
// by name and attributes by name, all tensors are written as raw_data, and
// the protobuf encoding is deterministic, so a model always gives the same
// bytes. Decode(Encode(m)) is structurally equal to m for every model Decode
// returns.
//
// The wire messages live in the subpackage onnxpb, generated from a subset
// of the ONNX schema with ONNX's field numbers.
package onnx
