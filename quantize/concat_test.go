package quantize

import (
	"math"
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// concatModel is a model whose branches meet in Concats: two Convs (the
// first with a Relu, the second too when reluAll) → Concat → MaxPool, and
// a Concat of that with a third Conv (with a Relu when reluAll) → Conv; and
// an input batch for it.
func concatModel(reluAll bool) (*graph.Model, *tensor.Tensor) {
	b := newBuilder(13, "x")
	b.m.Graph.Inputs[0].Shape = graph.Dims(tensor.Shape{2, 3, 12, 12})
	b.randInit("w1", 8, 3, 3, 3)
	b.randInit("w2", 4, 3, 1, 1)
	b.randInit("w3", 6, 3, 3, 3)
	b.randInit("w4", 5, 18, 1, 1)
	b.randInit("b1", 8)
	pads := map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)}
	b.node("Conv", "c1", []string{"x", "w1", "b1"}, []string{"a"}, pads)
	b.node("Relu", "r1", []string{"a"}, []string{"ar"}, nil)
	c, d := "c", "d"
	b.node("Conv", "c2", []string{"x", "w2"}, []string{"c"}, nil)
	if reluAll {
		b.node("Relu", "r2", []string{"c"}, []string{"cr"}, nil)
		c = "cr"
	}
	b.node("Concat", "cat1", []string{"ar", c}, []string{"ac"}, map[string]*graph.Attr{"axis": graph.IntAttr(1)})
	b.node("MaxPool", "pool", []string{"ac"}, []string{"p"}, map[string]*graph.Attr{"kernel_shape": graph.IntsAttr(2, 2), "strides": graph.IntsAttr(2, 2)})
	b.node("Conv", "c3", []string{"x", "w3"}, []string{"d"}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1), "strides": graph.IntsAttr(2, 2)})
	if reluAll {
		b.node("Relu", "r3", []string{"d"}, []string{"dr"}, nil)
		d = "dr"
	}
	b.node("Concat", "cat2", []string{"p", d}, []string{"pd"}, map[string]*graph.Attr{"axis": graph.IntAttr(1)})
	b.node("Conv", "c4", []string{"pd", "w4"}, []string{"y"}, nil)
	m := b.output("y")
	rng := rand.New(rand.NewSource(3))
	x := tensor.New(tensor.Float32, tensor.Shape{2, 3, 12, 12})
	for i := range x.F32 {
		x.F32[i] = rng.Float32()*2 - 1
	}
	return m, x
}

// observedRanges calibrates m (min/max) on x.
func observedRanges(t *testing.T, m *graph.Model, x *tensor.Tensor) map[string]qmath.Range {
	t.Helper()
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := infer.Compile(p, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := calibrate.NewRanges()
	if _, err := fp.RunObserved(map[string]*tensor.Tensor{p.Graph.Inputs[0].Name: x}, r.Observe); err != nil {
		t.Fatal(err)
	}
	return r.Result()
}

// TestConcatSchemes quantizes the Concat models in every scheme and the
// two quantized-activation formats. With a Relu on every branch, both
// Concats share their inputs' parameters and eightbit runs them on the
// 8-bit values; where one branch is not a Relu's, the union of the ranges
// would move the zero point off the bottom of the fused Relu's range, so
// the unsigned schemes leave those Concats float (the symmetric scheme
// keeps its Relus as ops and groups them). The output stays within a few
// quantization steps of float either way.
func TestConcatSchemes(t *testing.T) {
	for _, reluAll := range []bool{true, false} {
		testConcatSchemes(t, reluAll)
	}
}

func testConcatSchemes(t *testing.T, reluAll bool) {
	m, x := concatModel(reluAll)
	ranges := observedRanges(t, m, x)
	fp, err := infer.Compile(m, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fres, err := fp.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	want := fres["y"].F32
	for _, scheme := range Schemes() {
		for _, format := range []Format{FormatQDQ, FormatQOperator} {
			grouped := reluAll || Scheme(scheme) == SchemeS8S8Channel
			q, sum, err := Quantize(m, ranges, Options{Scheme: Scheme(scheme), Format: format})
			if err != nil {
				t.Fatalf("%s/%s: %v", scheme, format, err)
			}
			if (sum.QuantizedNodes["Concat"] == 2) != grouped {
				t.Errorf("%s/%s (Relu on every branch: %v): quantized nodes %v", scheme, format, reluAll, sum.QuantizedNodes)
			}
			prog, err := infer.Compile(q, infer.Options{Integer: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := prog.Run(map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			worst, top := 0.0, 0.0
			for i, v := range res["y"].F32 {
				worst = max(worst, math.Abs(float64(v-want[i])))
				top = max(top, math.Abs(float64(want[i])))
			}
			if worst > 0.05*top {
				t.Errorf("%s/%s (Relu on every branch: %v): largest error %.4f against outputs up to %.3f", scheme, format, reluAll, worst, top)
			}
			if grouped && format == FormatQDQ && prog.Stats().Uint8Nodes < 2 {
				t.Errorf("%s/%s: stats %+v, want the Concats on 8-bit values", scheme, format, prog.Stats())
			}
		}
	}
}
