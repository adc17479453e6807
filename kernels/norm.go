package kernels

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/tensor"
)

// InstanceNorm normalizes every (n, c) plane of x [N,C,...] to zero mean and
// unit variance, then applies scale[c] and bias[c]. Statistics are formed in
// float64.
func InstanceNorm(x, scale, bias *tensor.Tensor, epsilon float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || len(x.Shape) < 2 {
		return nil, fmt.Errorf("InstanceNormalization: want float32 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	C := x.Shape[1]
	if scale.DType != tensor.Float32 || bias.DType != tensor.Float32 || scale.Len() != C || bias.Len() != C {
		return nil, fmt.Errorf("InstanceNormalization: scale %v and bias %v, want [%d] float32", scale.Shape, bias.Shape, C)
	}
	y := tensor.New(tensor.Float32, x.Shape)
	sp := x.Shape[2:].Size()
	if sp == 0 {
		return y, nil
	}
	for nc := 0; nc < x.Shape[0]*C; nc++ {
		c := nc % C
		src := x.F32[nc*sp : (nc+1)*sp]
		var mean, v float64
		for _, a := range src {
			mean += float64(a)
		}
		mean /= float64(sp)
		for _, a := range src {
			d := float64(a) - mean
			v += d * d
		}
		v /= float64(sp)
		k := float64(scale.F32[c]) / math.Sqrt(v+float64(epsilon))
		dst := y.F32[nc*sp : (nc+1)*sp]
		for i, a := range src {
			dst[i] = float32((float64(a)-mean)*k + float64(bias.F32[c]))
		}
	}
	return y, nil
}

// LRN computes ONNX local response normalization across channels of
// x [N,C,...]:
//
//	y = x / (bias + alpha/size · Σ x²)^beta
//
// summing over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉.
func LRN(x *tensor.Tensor, size int, alpha, beta, bias float32) (*tensor.Tensor, error) {
	return LRNWith(nil, x, size, alpha, beta, bias)
}

// LRNWith is LRN with the output and the scratch memory taken from a.
func LRNWith(al Alloc, x *tensor.Tensor, size int, alpha, beta, bias float32) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || len(x.Shape) < 2 {
		return nil, fmt.Errorf("LRN: want float32 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	if size < 1 {
		return nil, fmt.Errorf("LRN: size %d", size)
	}
	C := x.Shape[1]
	sp := x.Shape[2:].Size()
	y := newOut(al, tensor.Float32, x.Shape)
	lo, hi := (size-1)/2, (size-1+1)/2
	if beta == 0.75 {
		sqx := scratch(al, len(x.F32))
		defer unscratch(al, sqx)
		lrn075(x.F32, y.F32, sqx, x.Shape[0]*C, C, sp, lo, hi, alpha/float32(size), bias)
		return y, nil
	}
	a := float64(alpha) / float64(size)
	sq := make([]float64, sp)
	// pow is t^beta; the usual exponents take square roots instead of
	// math.Pow (in float64, so the float32 result moves by rounding only).
	pow := func(t float64) float64 { return math.Pow(t, float64(beta)) }
	switch beta {
	case 0.5:
		pow = math.Sqrt
	case 1:
		pow = func(t float64) float64 { return t }
	}
	for n := 0; n < x.Shape[0]; n++ {
		for c := 0; c < C; c++ {
			for i := range sq {
				sq[i] = 0
			}
			for j := max(0, c-lo); j <= min(C-1, c+hi); j++ {
				src := x.F32[(n*C+j)*sp : (n*C+j+1)*sp]
				for i, v := range src {
					sq[i] += float64(v) * float64(v)
				}
			}
			src := x.F32[(n*C+c)*sp : (n*C+c+1)*sp]
			dst := y.F32[(n*C+c)*sp : (n*C+c+1)*sp]
			for i, v := range src {
				dst[i] = float32(float64(v) / pow(float64(bias)+a*sq[i]))
			}
		}
	}
	return y, nil
}

// lrn075 is LRN for beta 0.75 in float32 (planes = N·C planes of sp
// elements, C per image, the window [c−lo, c+hi] clipped to the image):
// the squares of x (into sqx) are summed over the window with f32TapSum (weights 1,
// in channel order) and f32LRN075 divides. Channels are split across
// goroutines for large inputs.
func lrn075(x, y, sqx []float32, planes, C, sp, lo, hi int, a, bias float32) {
	for i, v := range x {
		sqx[i] = v * v
	}
	ones := make([]float32, lo+hi+1)
	for i := range ones {
		ones[i] = 1
	}
	parallelFor(planes, planes*sp*len(ones), func(p0, p1 int) {
		sb := getBuf(sp)
		defer putBuf(sb)
		sq := *sb
		offs := make([]int, len(ones))
		for p := p0; p < p1; p++ {
			c, img := p%C, p-p%C
			j0, j1 := max(0, c-lo), min(C-1, c+hi)
			offs = offs[:0]
			for j := j0; j <= j1; j++ {
				offs = append(offs, (j-j0)*sp)
			}
			f32TapSum(sq, sqx[(img+j0)*sp:], offs, ones[:len(offs)])
			f32LRN075(y[p*sp:(p+1)*sp], x[p*sp:(p+1)*sp], sq, bias, a)
		}
	})
}

// GlobalMaxPool takes the maximum of every channel of [N,C,spatial...]; the
// output keeps the rank with spatial dimensions 1.
func GlobalMaxPool(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x.DType != tensor.Float32 || len(x.Shape) < 2 {
		return nil, fmt.Errorf("GlobalMaxPool: want float32 [N,C,...], have %v %v", x.DType, x.Shape)
	}
	shape := x.Shape.Clone()
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	y := tensor.New(tensor.Float32, shape)
	sp := x.Shape[2:].Size()
	for i := range y.F32 {
		m := float32(math.Inf(-1))
		for _, v := range x.F32[i*sp : (i+1)*sp] {
			if v > m || v != v {
				m = v
			}
		}
		y.F32[i] = m
	}
	return y, nil
}
