package infer

import (
	"fmt"
	"sort"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// The op registry
//
// Everything infer knows about an operator type is one opEntry in the
// registry, filled from the init functions of the family files:
//
//	ops_conv.go        Conv, ConvTranspose, Gemm, MatMul
//	ops_pool.go        MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Resize, Upsample
//	ops_norm.go        BatchNormalization, InstanceNormalization, LRN, Softmax, LogSoftmax, Hardmax
//	ops_activation.go  Relu, Clip, Sigmoid, Tanh, LeakyRelu, HardSwish, ... (unary activations)
//	ops_elementwise.go Add, Sub, Mul, Div, Pow, Max, Min, comparisons, logic, Cast, unary math
//	ops_reduce.go      ReduceMean, ReduceSum, ..., ArgMax, ArgMin
//	ops_shape.go       Reshape, Transpose, Concat, Slice, Gather, Pad, ..., Identity, Dropout, Constant
//	ops_quant.go       QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, ConvInteger, ...
//	ops_contrib.go     com.microsoft QLinearAdd, QLinearGlobalAveragePool
//
// Adding an operator is one register call in one family file (and, for
// shape inference, one registerShapeRule line in package graph). Compile
// consults the registry once per node, when it checks the model and builds
// the plan; Run only calls the kernels built then.

// opEntry is what the executor knows about one operator type.
type opEntry struct {
	// build prepares the node's kernel for the opset of the default
	// domain; attribute errors (and unsupported variants, wrapping
	// ErrUnsupported) are reported here, at compile time. Exactly one of
	// build and alloc is set.
	build func(n *graph.Node, opset int64) (kernelFunc, error)
	// alloc is build for the hot operators, whose kernel takes its output
	// from the Run's arena (arena.go) when the node uses only its first
	// output.
	alloc func(n *graph.Node, opset int64) (allocKernel, error)
	// macs counts the multiply-accumulates of one run of the node for
	// Stats (nil: not counted). A QOperator op's are counted only when
	// integer mode runs it as an integer step (qkind).
	macs func(in, out []*tensor.Tensor) int64
	// qkind marks the quantized operators of the QOperator format: with
	// Options.Integer their nodes are steps of this kind (kindInteger or
	// kindUint8) rather than float steps.
	qkind stepKind
	// shapeData marks the shape computations whose output Compile turns
	// into a constant when shape inference knows its contents (fold.go).
	shapeData bool
	// quantExact marks the single-input operators that commute exactly
	// with a per-tensor quantization (monotone, or moving values without
	// arithmetic): between DequantizeLinear and QuantizeLinear of the same
	// parameters they run on the 8-bit values directly (fuseUint8).
	quantExact bool
}

// opKey names an operator type: its domain ("" for the default ONNX
// domain) and type.
type opKey struct{ domain, op string }

// registry maps every operator type the executor runs to its entry.
var registry = map[opKey]*opEntry{}

// msDomain is ONNX Runtime's contrib-op domain.
const msDomain = "com.microsoft"

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// keyOf returns the registry key of an operator type of a domain.
func keyOf(domain, op string) opKey {
	if isDefaultDomain(domain) {
		domain = ""
	}
	return opKey{domain, op}
}

// register enters ops of the default domain with entry e; an op registered
// twice, or an entry without exactly one builder, is a programming error.
func register(e opEntry, ops ...string) { registerDomain("", e, ops...) }

// registerDomain is register for the operators of another domain.
func registerDomain(domain string, e opEntry, ops ...string) {
	if (e.build == nil) == (e.alloc == nil) {
		panic(fmt.Sprintf("infer: the entry of %v needs exactly one of build and alloc", ops))
	}
	for _, op := range ops {
		k := keyOf(domain, op)
		if _, dup := registry[k]; dup {
			panic("infer: two registry entries for " + opName(domain, op))
		}
		entry := e
		registry[k] = &entry
	}
}

// lookup returns the entry of a node's operator type, nil when the
// executor does not run it.
func lookup(n *graph.Node) *opEntry { return registry[keyOf(n.Domain, n.OpType)] }

// opName renders an operator type as the errors do: the bare type in the
// default domain, domain.type elsewhere.
func opName(domain, op string) string {
	if isDefaultDomain(domain) {
		return op
	}
	return domain + "." + op
}

// SupportedOps returns the operator types the executor runs, sorted: the
// bare type for the default ONNX domain, domain.type for others (e.g.
// "com.microsoft.QLinearAdd"). Variants of a listed type (attribute
// values, training modes) may still be unsupported; Compile reports those
// in its *UnsupportedError.
func SupportedOps() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, opName(k.domain, k.op))
	}
	sort.Strings(out)
	return out
}

// buildOp prepares the kernel of one node for the given opset of the
// default domain, taking its output from the heap. Attribute errors are
// reported here, at compile time.
func buildOp(n *graph.Node, opset int64) (kernelFunc, error) {
	e := lookup(n)
	if e == nil {
		return nil, unsupportedf("operator %s", opName(n.Domain, n.OpType))
	}
	if e.alloc != nil {
		k, err := e.alloc(n, opset)
		if err != nil {
			return nil, err
		}
		return k.heap(), nil
	}
	return e.build(n, opset)
}

// ErrUnsupported is wrapped by errors about operator variants (attribute
// values, input types, training modes) that the executor does not
// implement, as opposed to malformed models. Compile lists such nodes in its
// *UnsupportedError.
var ErrUnsupported = failure.Errorf(failure.Unsupported, "unsupported")

type unsupportedErr struct{ msg string }

func (e *unsupportedErr) Error() string        { return e.msg }
func (e *unsupportedErr) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns ErrUnsupported, so that the error has kind unsupported.
func (e *unsupportedErr) Unwrap() error { return ErrUnsupported }

func unsupportedf(format string, args ...any) error {
	return &unsupportedErr{fmt.Sprintf(format, args...)}
}
