package infer

import (
	"math/rand"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/tensor"
)

// BenchmarkFloatModelFile times one float Run of the model file named by
// EIGHTBIT_BENCH_MODEL (skipped when unset) at batch 1, on a fixed
// pseudo-random input in [-1, 1) of the model's declared input shape (a
// symbolic dimension counts as 1). Besides the mean ns/op it reports
// median-ns/op, the median wall time of one Run (what ONNX Runtime's
// benchmark script prints), and cpu-ns/op, the CPU time of the process per
// Run: on a shared machine the mean grows with the load, the median and
// the CPU time much less (with -cpu 1 the CPU time is the single-thread
// cost). Compare with ONNX Runtime on the same file and input shape:
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
	runs := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := range runs {
		t0 := time.Now()
		if _, err := p.Run(inputs); err != nil {
			b.Fatal(err)
		}
		runs[i] = time.Since(t0)
	}
	b.StopTimer()
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	slices.Sort(runs)
	b.ReportMetric(float64(runs[len(runs)/2].Nanoseconds()), "median-ns/op")
}

// cpuTime is the CPU time of the process, summed over threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
