// Package onnxpb holds the protobuf messages of the ONNX file format that
// eightbit uses, generated from onnx.proto in this directory. The schema is a
// subset of ONNX's with ONNX's field numbers and enum values, registered under
// the proto package eightbit.onnx and the file path
// formats/onnx/onnxpb/onnx.proto, so that it cannot clash with another
// registration of the ONNX schema (proto package onnx, file onnx.proto) in the
// same binary.
//
// Use package formats/onnx to convert to and from eightbit's graph IR; this
// package is only its wire layer. Regenerate with go generate (needs protoc
// and protoc-gen-go on PATH).
package onnxpb

//go:generate protoc --proto_path=../../.. --go_out=../../.. --go_opt=paths=source_relative formats/onnx/onnxpb/onnx.proto
