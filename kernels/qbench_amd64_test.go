//go:build amd64 && !purego

package kernels

import (
	"testing"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// BenchmarkVNNIPeak measures the VPDPBUSD peak of one core in the same run
// as the kernels, the denominator of their "% of peak" (GOPS = 2 × 64 ×
// 24 multiply-adds per iteration).
func BenchmarkVNNIPeak(b *testing.B) {
	if !cpu.Has(cpu.AVX512VNNI) {
		b.Skip("no AVX-512 VNNI")
	}
	const iters = 10000
	done := benchStart(b)
	for i := 0; i < b.N; i++ {
		peakLoopAVX512VNNI(iters)
	}
	done(iters * 24 * 64)
}

// BenchmarkVNNIPeakParallel runs the peak loop on GOMAXPROCS goroutines at
// once: its GOPS with -cpu 2 over BenchmarkVNNIPeak's is the most any kernel
// can scale from one core to two on this machine.
func BenchmarkVNNIPeakParallel(b *testing.B) {
	if !cpu.Has(cpu.AVX512VNNI) {
		b.Skip("no AVX-512 VNNI")
	}
	const iters = 10000
	done := benchStart(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			peakLoopAVX512VNNI(iters)
		}
	})
	done(iters * 24 * 64)
}
