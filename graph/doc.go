// Package graph is eightbit's model IR: a Model holds opset imports and one
// Graph of Nodes that read and write named values. Constant tensors
// (initializers) are kept by name. Quantization parameters live in the graph
// as ordinary scale and zero-point initializers of QuantizeLinear and
// DequantizeLinear nodes, exactly as in an ONNX QDQ model, so what eightbit
// runs is what it writes.
//
// The IR follows ONNX operator semantics (op types, attribute names, input
// order); codecs in formats/ translate files to and from it.
//
// InferShapes propagates element types and shapes, with symbolic dimensions
// such as a free batch size, through the graph, and tracks the contents of
// small integer tensors (shape computations), which the executor uses to
// fold them into constants and inspect uses to count MACs. Its rules form
// one registry, op type → rule, filled by three family files:
// shapes_elementwise.go (unary and broadcasting ops, Q/DQ, Cast),
// shapes_nn.go (convolution and pooling windows, matrix products,
// reductions, the integer ops) and shapes_layout.go (constants, reshapes,
// concatenation, slicing, padding); an op type without a rule gets unknown
// outputs. Adding an op's shape rule is one registerShapeRule line and one
// method in its family file.
package graph
