// Package tensor holds eightbit's dense tensors: an element type, a shape and
// one typed backing slice. It has no knowledge of models or files.
//
// Element type codes equal ONNX's TensorProto.DataType values, so codecs can
// convert them without a table, but nothing here depends on ONNX.
package tensor
