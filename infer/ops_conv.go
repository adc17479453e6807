package infer

import (
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Convolutions and matrix products, the compute-heavy float operators.

func init() {
	register(opEntry{alloc: buildConv, macs: convMACs}, "Conv")
	register(opEntry{build: buildConvTranspose}, "ConvTranspose")
	register(opEntry{alloc: buildGemm, macs: gemmMACs}, "Gemm")
	register(opEntry{alloc: buildMatMul, macs: matMulMACs}, "MatMul")
}

func buildConv(n *graph.Node, _ int64) (allocKernel, error) {
	p := convParams(n)
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		x, w, err := need2(in, "X", "W")
		if err != nil {
			return nil, err
		}
		return one(kernels.ConvWith(al, x, w, opt(in, 2), p))
	}, nil
}

func buildConvTranspose(n *graph.Node, _ int64) (kernelFunc, error) {
	p := kernels.ConvTransposeParams{
		KernelShape:   toInts(n.AttrInts("kernel_shape", nil)),
		Strides:       toInts(n.AttrInts("strides", nil)),
		Dilations:     toInts(n.AttrInts("dilations", nil)),
		Pads:          toInts(n.AttrInts("pads", nil)),
		OutputPadding: toInts(n.AttrInts("output_padding", nil)),
		OutputShape:   toInts(n.AttrInts("output_shape", nil)),
		AutoPad:       n.AttrString("auto_pad", "NOTSET"),
		Group:         int(n.AttrInt("group", 1)),
	}
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w, err := need2(in, "X", "W")
		if err != nil {
			return nil, err
		}
		return one(kernels.ConvTranspose(x, w, opt(in, 2), p))
	}, nil
}

func buildGemm(n *graph.Node, _ int64) (allocKernel, error) {
	ta, tb := n.AttrInt("transA", 0) != 0, n.AttrInt("transB", 0) != 0
	alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		a, b, err := need2(in, "A", "B")
		if err != nil {
			return nil, err
		}
		return one(kernels.GemmOpWith(al, a, b, opt(in, 2), ta, tb, alpha, beta))
	}, nil
}

func buildMatMul(*graph.Node, int64) (allocKernel, error) {
	return func(in []*tensor.Tensor, al kernels.Alloc) ([]*tensor.Tensor, error) {
		a, b, err := need2(in, "A", "B")
		if err != nil {
			return nil, err
		}
		return one(kernels.MatMulWith(al, a, b))
	}, nil
}

// hasProduct reports whether a run of a two-operand product produced an
// output to count multiply-accumulates of.
func hasProduct(in, out []*tensor.Tensor) bool {
	return len(out) > 0 && out[0] != nil && len(in) >= 2 && in[1] != nil
}

// convMACs counts a Conv's multiply-accumulates: one per output element
// and weight of its group.
func convMACs(in, out []*tensor.Tensor) int64 {
	if !hasProduct(in, out) {
		return 0
	}
	w := in[1]
	if len(w.Shape) < 2 {
		return 0
	}
	return int64(out[0].Shape.Size()) * int64(w.Shape[1:].Size())
}

// gemmMACs counts a Gemm's multiply-accumulates: one per output element
// and inner index.
func gemmMACs(in, out []*tensor.Tensor) int64 {
	if !hasProduct(in, out) || len(out[0].Shape) != 2 || out[0].Shape[1] == 0 {
		return 0
	}
	return int64(out[0].Shape.Size()) * int64(in[1].Len()/out[0].Shape[1])
}

// matMulMACs counts a MatMul's multiply-accumulates: one per output element
// and inner index.
func matMulMACs(in, out []*tensor.Tensor) int64 {
	if !hasProduct(in, out) {
		return 0
	}
	a := in[0]
	if a == nil || len(a.Shape) == 0 {
		return 0
	}
	return int64(out[0].Shape.Size()) * int64(a.Shape[len(a.Shape)-1])
}
