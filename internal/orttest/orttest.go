//go:build ort

package orttest

import (
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/eightbitml/eightbit/tensor"
)

// Lib returns the path of ONNX Runtime's shared library.
func Lib(t testing.TB) string {
	t.Helper()
	p := os.Getenv("EIGHTBIT_ORT_LIB")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "eightbit", "ort", "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX Runtime library not found at %s (set EIGHTBIT_ORT_LIB)", p)
		}
		t.Skipf("skipping: ONNX Runtime library not found at %s (set EIGHTBIT_ORT_LIB)", p)
	}
	return p
}

// Start initializes ONNX Runtime's environment; call the returned function
// when done.
func Start(t testing.TB) (stop func()) {
	t.Helper()
	ort.SetSharedLibraryPath(Lib(t))
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatal(err)
	}
	return func() { ort.DestroyEnvironment() }
}

// Run runs model in ONNX Runtime (one intra-op thread) on x as its input
// and returns a copy of the named output.
func Run(t testing.TB, model []byte, input, output string, x *tensor.Tensor) []float32 {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(1)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{input}, []string{output}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	defer sess.Destroy()
	shape := make(ort.Shape, len(x.Shape))
	for i, d := range x.Shape {
		shape[i] = int64(d)
	}
	in, err := ort.NewTensor(shape, x.F32)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("ONNX Runtime run: %v", err)
	}
	defer outs[0].Destroy()
	return append([]float32(nil), outs[0].(*ort.Tensor[float32]).GetData()...)
}
