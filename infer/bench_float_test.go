package infer

import (
	"math/rand"
	"os"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/tensor"
)

// BenchmarkFloatModelFile times one float Run of the model file named by
// EIGHTBIT_BENCH_MODEL (skipped when unset) at batch 1, on a fixed
// pseudo-random input in [-1, 1) of the model's declared input shape (a
// symbolic dimension counts as 1). Compare with ONNX Runtime on the same
// file and input shape:
//
//	EIGHTBIT_BENCH_MODEL=model.onnx go test ./infer -run '^$' -bench FloatModelFile -benchmem
func BenchmarkFloatModelFile(b *testing.B) {
	path := os.Getenv("EIGHTBIT_BENCH_MODEL")
	if path == "" {
		b.Skip("EIGHTBIT_BENCH_MODEL is not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := onnx.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]*tensor.Tensor{}
	rng := rand.New(rand.NewSource(1))
	for _, info := range p.InputInfo() {
		shape := make(tensor.Shape, len(info.Shape))
		for i, d := range info.Shape {
			shape[i] = 1
			if d.Value > 0 && i > 0 {
				shape[i] = int(d.Value)
			}
		}
		x := tensor.New(tensor.Float32, shape)
		for i := range x.F32 {
			x.F32[i] = rng.Float32()*2 - 1
		}
		inputs[info.Name] = x
	}
	if _, err := p.Run(inputs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Run(inputs); err != nil {
			b.Fatal(err)
		}
	}
}
