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
// fold them into constants and inspect uses to count MACs.
package graph
