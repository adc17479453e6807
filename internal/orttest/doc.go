// Package orttest starts ONNX Runtime for the interop tests (build tag
// ort): it finds the shared library, initializes the environment, and runs
// a model on one float32 input. The library is $EIGHTBIT_ORT_LIB or, when
// that is unset, where .ci/run installs it; a test without it skips,
// naming what is missing, and fails under CI=true.
package orttest
