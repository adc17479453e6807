// Package ortinterop holds the interoperability tests that run eightbit's
// outputs in ONNX Runtime. They need cgo and the ONNX Runtime shared library,
// so they sit behind the build tag `ort`:
//
//	EIGHTBIT_ORT_LIB=/path/to/libonnxruntime.so.1 go test -tags ort ./internal/ortinterop
//
// .ci/run installs the library (npm package onnxruntime-node@1.30.0) and
// runs them. Without the tag this package is empty.
package ortinterop
