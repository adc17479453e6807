// Package tfgraph imports TensorFlow frozen graphs (a serialized GraphDef,
// the .pb file written by freeze_graph or quantize_graph) into eightbit's
// graph IR.
//
// Decode parses the bytes (it does no I/O) and returns a graph.Model with
// ONNX opset 13 semantics that package infer compiles and runs.
package tfgraph
