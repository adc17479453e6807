package kernels

import (
	"fmt"

	"github.com/eightbitml/eightbit/tensor"
)

// GemmOpWith computes ONNX Gemm: Y = alpha·op(A)·op(B) + beta·C for 2-D
// float32 A and B; C (optional, nil) broadcasts to [M, N]. The output and
// scratch memory come from al (nil: the heap).
func GemmOpWith(al Alloc, a, b, c *tensor.Tensor, transA, transB bool, alpha, beta float32) (*tensor.Tensor, error) {
	if a.DType != tensor.Float32 || b.DType != tensor.Float32 || (c != nil && c.DType != tensor.Float32) {
		return nil, fmt.Errorf("Gemm wants float32 inputs")
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("Gemm wants 2-D A and B, have %v and %v", a.Shape, b.Shape)
	}
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return nil, fmt.Errorf("Gemm: inner dimensions of %v and %v differ (transA=%v, transB=%v)", a.Shape, b.Shape, transA, transB)
	}
	if err := CheckSize(tensor.Shape{m, n}); err != nil {
		return nil, fmt.Errorf("Gemm: %w", err)
	}
	useC := c != nil && beta != 0
	if useC {
		bs, err := BroadcastShape(tensor.Shape{m, n}, c.Shape)
		if err != nil || !bs.Equal(tensor.Shape{m, n}) {
			return nil, fmt.Errorf("Gemm: C of shape %v does not broadcast to [%d,%d]", c.Shape, m, n)
		}
	}
	y := newOut(al, tensor.Float32, tensor.Shape{m, n})
	if alpha == 1 && useC {
		// Y = beta·C, then Y += A·B.
		fillBroadcast(y.F32, c, m, n, beta)
		Gemm(transA, transB, m, n, k, a.F32, a.Shape[1], b.F32, b.Shape[1], y.F32, n, true)
		return y, nil
	}
	Gemm(transA, transB, m, n, k, a.F32, a.Shape[1], b.F32, b.Shape[1], y.F32, n, false)
	if alpha != 1 {
		for i := range y.F32 {
			y.F32[i] *= alpha
		}
	}
	if useC {
		tmp := scratch(al, m*n)
		fillBroadcast(tmp, c, m, n, beta)
		for i := range y.F32 {
			y.F32[i] += tmp[i]
		}
		unscratch(al, tmp)
	}
	return y, nil
}

// fillBroadcast writes beta·C broadcast to [m, n] into dst.
func fillBroadcast(dst []float32, c *tensor.Tensor, m, n int, beta float32) {
	st := broadcastStrides(c.Shape, tensor.Shape{m, n})
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			dst[i*n+j] = beta * c.F32[i*st[0]+j*st[1]]
		}
	}
}

// MatMul computes numpy matmul of float32 tensors: 1-D operands are
// promoted (and the added dimension removed afterwards), leading batch
// dimensions broadcast.
func MatMul(a, b *tensor.Tensor) (*tensor.Tensor, error) { return MatMulWith(nil, a, b) }

// MatMulWith is MatMul with the output taken from al.
func MatMulWith(al Alloc, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if a.DType != tensor.Float32 || b.DType != tensor.Float32 {
		return nil, fmt.Errorf("MatMul wants float32 inputs, have %v and %v", a.DType, b.DType)
	}
	if len(a.Shape) == 0 || len(b.Shape) == 0 {
		return nil, fmt.Errorf("MatMul: scalar operand")
	}
	as, bs := a.Shape, b.Shape
	dropA, dropB := false, false
	if len(as) == 1 {
		as = tensor.Shape{1, as[0]}
		dropA = true
	}
	if len(bs) == 1 {
		bs = tensor.Shape{bs[0], 1}
		dropB = true
	}
	m, k := as[len(as)-2], as[len(as)-1]
	kb, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != kb {
		return nil, fmt.Errorf("MatMul: inner dimensions of %v and %v differ", a.Shape, b.Shape)
	}
	batch, err := BroadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, fmt.Errorf("MatMul: %w", err)
	}
	out := append(batch.Clone(), m, n)
	if err := CheckSize(out); err != nil {
		return nil, fmt.Errorf("MatMul: %w", err)
	}
	y := newOut(al, tensor.Float32, out)
	nb := batch.Size()
	if len(bs) == 2 {
		// Every batch of A multiplies the same B: one tall GEMM.
		Gemm(false, false, nb*m, n, k, a.F32, k, b.F32, n, y.F32, n, false)
	} else {
		sa := broadcastStrides(as[:len(as)-2], batch)
		sb := broadcastStrides(bs[:len(bs)-2], batch)
		idx := make([]int, len(batch))
		for i := 0; i < nb; i++ {
			oa, ob := 0, 0
			for d := range idx {
				oa += idx[d] * sa[d]
				ob += idx[d] * sb[d]
			}
			Gemm(false, false, m, n, k, a.F32[oa*m*k:], k, b.F32[ob*k*n:], n, y.F32[i*m*n:], n, false)
			for d := len(idx) - 1; d >= 0; d-- {
				idx[d]++
				if idx[d] < batch[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
	if dropA || dropB {
		final := batch.Clone()
		if !dropA {
			final = append(final, m)
		}
		if !dropB {
			final = append(final, n)
		}
		y.Shape = final
	}
	return y, nil
}
