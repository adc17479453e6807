package infer

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/tensor"
)

// BenchmarkModelFile times whole-model Runs of the ONNX file named by the
// environment variable EIGHTBIT_BENCH_MODEL (skipped when unset), compiled
// with Options.Integer (which runs a quantized file's QDQ patterns and
// QOperator nodes in integer arithmetic and changes nothing for a float
// file). The input is one float32 tensor of the declared shape with batch 1
// (symbolic dimensions become 1), filled with the same pseudo-random values
// in [−2, 2) as ONNX Runtime's whole-model timing script uses, so the two
// engines see the same data. Besides the mean ns/op it reports
// median-ns/op, the median wall time of one Run, and cpu-ns/op, the process
// CPU time per Run where the system reports it: on a shared machine the
// mean grows with the load, the median and the CPU time much less (with
// -cpu 1 the CPU time is the single-thread cost).
//
//	EIGHTBIT_BENCH_MODEL=model.onnx go test ./infer -run '^$' -bench ModelFile -benchmem -cpu 1
func BenchmarkModelFile(b *testing.B) {
	path := os.Getenv("EIGHTBIT_BENCH_MODEL")
	if path == "" {
		b.Skip("EIGHTBIT_BENCH_MODEL not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := onnx.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m, Options{Integer: true})
	if err != nil {
		b.Fatal(err)
	}
	info := p.InputInfo()[0]
	shape := make(tensor.Shape, len(info.Shape))
	for i, d := range info.Shape {
		shape[i] = max(int(d.Value), 1)
	}
	x := tensor.New(tensor.Float32, shape)
	seed := uint32(1)
	for i := range x.F32 {
		seed = (seed*1103515245 + 12345) & 0x7fffffff
		x.F32[i] = float32(float64(seed)/0x7fffffff*4 - 2)
	}
	in := map[string]*tensor.Tensor{info.Name: x}
	if _, err := p.Run(in); err != nil { // warm the arena
		b.Fatal(err)
	}
	runs := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok := processCPU()
	for i := range runs {
		t0 := time.Now()
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
		runs[i] = time.Since(t0)
	}
	b.StopTimer()
	if cpu1, _ := processCPU(); ok {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	slices.Sort(runs)
	b.ReportMetric(float64(runs[len(runs)/2].Nanoseconds()), "median-ns/op")
}
