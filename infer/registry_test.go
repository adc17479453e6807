package infer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
)

// TestSupportedOps checks that the registry holds every operator type the
// executor ran before the registry existed (adding one needs no change
// here).
func TestSupportedOps(t *testing.T) {
	want := []string{
		"Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
		"AveragePool", "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat",
		"Constant", "ConstantOfShape", "Conv", "ConvInteger", "ConvTranspose", "Cos", "Cosh",
		"DequantizeLinear", "Div", "Dropout", "DynamicQuantizeLinear", "Elu", "Equal", "Erf", "Exp",
		"Expand", "Flatten", "Floor", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater",
		"GreaterOrEqual", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization",
		"IsInf", "IsNaN", "LRN", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "MatMul",
		"MatMulInteger", "Max", "MaxPool", "Mean", "Min", "Mod", "Mul", "Neg", "Not", "Or", "PRelu",
		"Pad", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "Range", "Reciprocal",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
		"ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "Round",
		"Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax",
		"Softplus", "Softsign", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh",
		"ThresholdedRelu", "Tile", "Transpose", "Unsqueeze", "Upsample", "Where", "Xor",
		"com.microsoft.QLinearAdd", "com.microsoft.QLinearGlobalAveragePool",
	}
	got := SupportedOps()
	for _, op := range want {
		if !slices.Contains(got, op) {
			t.Errorf("%s is not registered", op)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("SupportedOps is not sorted: %v", got)
	}
}

// TestRegistryEntries checks that every registered op has exactly one
// builder, a valid step kind, and that building a node without attributes
// at the opsets the executor covers gives a kernel or an error, never a
// panic.
func TestRegistryEntries(t *testing.T) {
	for k, e := range registry {
		name := opName(k.domain, k.op)
		if (e.build == nil) == (e.alloc == nil) {
			t.Errorf("%s: want exactly one of build and alloc", name)
		}
		switch e.qkind {
		case kindFloat, kindInteger, kindUint8:
		default:
			t.Errorf("%s: step kind %d", name, e.qkind)
		}
		if e.qkind != kindFloat && e.shapeData {
			t.Errorf("%s: a QOperator op marked as shape computation", name)
		}
		for _, opset := range []int64{1, 7, 11, 13, 21} {
			n := &graph.Node{Name: "n", OpType: k.op, Domain: k.domain, Inputs: []string{"x"}, Outputs: []string{"y"}}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s at opset %d: build panics: %v", name, opset, r)
					}
				}()
				run, err := buildOp(n, opset)
				if err == nil && run == nil {
					t.Errorf("%s at opset %d: no kernel and no error", name, opset)
				}
			}()
		}
	}
}

// TestRegistryProperties pins the op properties that compilation reads
// from the registry (fold.go, fuse.go, fuse_ops.go, program.go).
func TestRegistryProperties(t *testing.T) {
	for _, tc := range []struct {
		prop string
		has  func(*opEntry) bool
		want []string
	}{
		{"shapeData", func(e *opEntry) bool { return e.shapeData },
			[]string{"Add", "Cast", "Concat", "Div", "Gather", "Identity", "Mul", "Shape", "Size", "Slice", "Squeeze", "Sub", "Unsqueeze"}},
		{"quantExact", func(e *opEntry) bool { return e.quantExact },
			[]string{"Flatten", "MaxPool", "Relu", "Reshape", "Transpose"}},
		{"qkind integer", func(e *opEntry) bool { return e.qkind == kindInteger },
			[]string{"QLinearConv", "QLinearMatMul"}},
		{"qkind uint8", func(e *opEntry) bool { return e.qkind == kindUint8 },
			[]string{"com.microsoft.QLinearAdd", "com.microsoft.QLinearGlobalAveragePool"}},
		{"macs", func(e *opEntry) bool { return e.macs != nil },
			[]string{"Conv", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul"}},
		{"alloc", func(e *opEntry) bool { return e.alloc != nil },
			[]string{"Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "DequantizeLinear", "Div",
				"Gemm", "GlobalAveragePool", "LRN", "MatMul", "MaxPool", "Mul", "QLinearConv", "QLinearMatMul",
				"QuantizeLinear", "Relu", "Sub", "Transpose"}},
	} {
		t.Run(tc.prop, func(t *testing.T) {
			var got []string
			for k, e := range registry {
				if tc.has(e) {
					got = append(got, opName(k.domain, k.op))
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ops with %s: %v, want %v", tc.prop, got, tc.want)
			}
		})
	}
}

// TestRegistryCoversConformance checks that every operator of every ONNX
// node test that testdata/conformance.txt lists as passing is registered.
func TestRegistryCoversConformance(t *testing.T) {
	root := zootest.Path(t, "onnx-node-tests", "v1.12.0")
	exp := readExpectations(t)
	if exp == nil {
		t.Fatalf("%s is missing", conformanceFile)
	}
	checked := 0
	for name, status := range exp {
		if status != "pass" {
			continue
		}
		checked++
		b, err := os.ReadFile(filepath.Join(root, name, "model.onnx"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		m, err := onnx.Decode(b)
		if err != nil {
			if !errors.Is(err, onnx.ErrUnsupported) {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		for _, n := range m.Graph.Nodes {
			if lookup(n) == nil {
				t.Errorf("%s passes but %s is not registered", name, opName(n.Domain, n.OpType))
			}
		}
	}
	if checked == 0 {
		t.Fatalf("%s lists no passing test", conformanceFile)
	}
	t.Logf("%d passing node tests use registered ops only", checked)
}
