package kernels

import (
	"fmt"
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/tensor"
)

// Benchmarks of the integer kernels on the shapes of docs/PERFORMANCE.md.
// GOPS = 2 × multiply-adds / time. Run with
//
//	go test ./kernels -run '^$' -bench 'QLinear|FloatConv|Depthwise|VNNIPeak' -cpu 1,2 -count 3

// cpuTime is the CPU time this process has used (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStart resets the timer and returns a function that reports GOPS
// (wall clock) and cpu-GOPS (2 × multiply-adds per second of CPU time used
// by the process, summed over threads). On a shared machine wall-clock
// GOPS falls with the load while cpu-GOPS measures the code: with one
// thread it is the speed the kernel would have on an idle core.
func benchStart(b *testing.B) func(macs int) {
	b.ResetTimer()
	c0 := cpuTime()
	return func(macs int) {
		b.StopTimer()
		ops := 2 * float64(macs) * float64(b.N)
		b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOPS")
		if c := cpuTime() - c0; c > 0 {
			b.ReportMetric(ops/c.Seconds()/1e9, "cpu-GOPS")
		}
	}
}

// reuseAlloc hands out the same output tensor and scratch memory again and
// again, as an inference session's arena does between runs: the benchmarks
// measure the kernels, not the Go heap.
type reuseAlloc struct {
	outs    map[string]*tensor.Tensor
	scratch map[int][]float32
}

func (a *reuseAlloc) Tensor(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if a.outs == nil {
		a.outs = map[string]*tensor.Tensor{}
	}
	key := fmt.Sprint(dt, shape)
	t := a.outs[key]
	if t == nil {
		t = tensor.New(dt, shape)
		a.outs[key] = t
	}
	return t
}

func (a *reuseAlloc) Float32s(n int) []float32 {
	if a.scratch == nil {
		a.scratch = map[int][]float32{}
	}
	if s := a.scratch[n]; s != nil {
		delete(a.scratch, n)
		return s
	}
	return make([]float32, n)
}

func (a *reuseAlloc) PutFloat32s(s []float32) { a.scratch[len(s)] = s }

func benchQConv(b *testing.B, c, m, hw, group int) { benchQConvS(b, c, m, hw, group, 1) }

func benchQConvS(b *testing.B, c, m, hw, group, stride int) {
	r := rand.New(rand.NewSource(1))
	x := rand8(r, tensor.Uint8, tensor.Shape{1, c, hw, hw}, false)
	w := rand8(r, tensor.Int8, tensor.Shape{m, c / group, 3, 3}, false)
	bias := make([]int32, m)
	p := QConvParams{ConvParams: ConvParams{Pads: []int{1, 1, 1, 1}, Strides: []int{stride, stride}, Group: group}, XZeroPoint: 128,
		Requant: Requant{Multiplier: []float32{0.001}, ZeroPoint: 128}}
	plan, err := NewQConvPlan(w, bias, p)
	if err != nil {
		b.Fatal(err)
	}
	MaxThreads = 0
	var al reuseAlloc
	done := benchStart(b)
	for i := 0; i < b.N; i++ {
		if _, err := plan.RunWith(&al, x); err != nil {
			b.Fatal(err)
		}
	}
	ohw := (hw-1)/stride + 1
	done(m * ohw * ohw * 9 * c / group)
}

func BenchmarkQLinearConv3x3_64_56(b *testing.B)    { benchQConv(b, 64, 64, 56, 1) }
func BenchmarkQLinearConvDW3x3_128_56(b *testing.B) { benchQConv(b, 128, 128, 56, 128) }

// BenchmarkDepthwise3x3S2_128_56 is the stride-2 depthwise conv (28x28
// output).
func BenchmarkDepthwise3x3S2_128_56(b *testing.B) { benchQConvS(b, 128, 128, 56, 128, 2) }

func BenchmarkQLinearMatMul512(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	const n = 512
	a := rand8(r, tensor.Uint8, tensor.Shape{n, n}, false)
	w := rand8(r, tensor.Int8, tensor.Shape{n, n}, false)
	p := QGemmParams{AZeroPoint: 128, Requant: Requant{Multiplier: []float32{0.001}, ZeroPoint: 128}}
	plan, err := NewQGemmPlan(w, false, nil, p)
	if err != nil {
		b.Fatal(err)
	}
	var al reuseAlloc
	done := benchStart(b)
	for i := 0; i < b.N; i++ {
		if _, err := plan.RunWith(&al, a); err != nil {
			b.Fatal(err)
		}
	}
	done(n * n * n)
}

func BenchmarkFloatConv3x3_64_56(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := randF32(r, tensor.Shape{1, 64, 56, 56})
	w := randF32(r, tensor.Shape{64, 64, 3, 3})
	bias := randF32(r, tensor.Shape{64})
	p := ConvParams{Pads: []int{1, 1, 1, 1}}
	var al reuseAlloc
	done := benchStart(b)
	for i := 0; i < b.N; i++ {
		if _, err := ConvWith(&al, x, w, bias, p); err != nil {
			b.Fatal(err)
		}
	}
	done(64 * 56 * 56 * 9 * 64)
}
