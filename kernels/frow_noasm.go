//go:build !amd64 || purego

package kernels

// f32TapSum is f32TapSumGo without assembly.
func f32TapSum(dst, src []float32, offs []int, ker []float32) { f32TapSumGo(dst, src, offs, ker) }

// f32BiasClamp is f32BiasClampGo without assembly.
func f32BiasClamp(dst, x, r []float32, bias, lo, hi float32) {
	f32BiasClampGo(dst, x, r, bias, lo, hi)
}

// f32TapMax is f32TapMaxGo without assembly.
func f32TapMax(dst, src []float32, offs []int) { f32TapMaxGo(dst, src, offs) }

// f32LRN075 is f32LRN075Go without assembly.
func f32LRN075(dst, x, sq []float32, bias, a float32) { f32LRN075Go(dst, x, sq, bias, a) }

// f32Deinterleave2 is f32Deinterleave2Go without assembly.
func f32Deinterleave2(ev, od, src []float32) { f32Deinterleave2Go(ev, od, src) }
