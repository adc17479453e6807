package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/graph"
)

// quantOps are the quantized operator types of the default domain (the
// QOperator format: QLinearConv, QLinearMatMul, ConvInteger, ...) that the
// executor runs. They are built by buildQuantOp.
var quantOps = map[string]bool{}

// buildQuantOp prepares the kernel of a quantized-operator node.
func buildQuantOp(n *graph.Node, opset int64) (kernelFunc, error) {
	return nil, fmt.Errorf("unsupported op")
}
