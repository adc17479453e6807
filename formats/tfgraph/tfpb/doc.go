// Package tfpb holds the protobuf messages of TensorFlow's frozen GraphDef
// format that eightbit reads, generated from tensorflow.proto in this
// directory. The schema is a subset of TensorFlow's with TensorFlow's field
// numbers and enum values, registered under the proto package
// eightbit.tensorflow and the file path formats/tfgraph/tfpb/tensorflow.proto,
// so that it cannot clash with another registration of the TensorFlow schema
// in the same binary.
//
// Use package formats/tfgraph to import a graph into eightbit's graph IR;
// this package is only its wire layer. Regenerate with go generate (needs
// protoc and protoc-gen-go on PATH).
package tfpb

//go:generate protoc --proto_path=../../.. --go_out=../../.. --go_opt=paths=source_relative formats/tfgraph/tfpb/tensorflow.proto
