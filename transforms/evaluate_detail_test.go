package transforms

import (
	"reflect"
	"testing"

	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
)

func TestInTop5(t *testing.T) {
	s := []float32{0.1, 0.9, 0.3, 0.3, 0.5, 0.2, 0.3, 0}
	// Order: 1 (0.9), 4 (0.5), 2, 3, 6 (0.3, by index), 5, 0, 7.
	for k, want := range []bool{false, true, true, true, true, false, true, false} {
		if got := inTop5(s, k); got != want {
			t.Errorf("class %d: %v, want %v", k, got, want)
		}
	}
	if inTop5(s, -1) || inTop5(s, 8) {
		t.Error("out-of-range class in top-5")
	}
}

func TestSumCountsMerge(t *testing.T) {
	a := EvalCounts{Samples: 3, FloatOnly: 1, Top5Samples: 3, FloatTop5: 2, ClassSamples: []int64{1, 2}, MACs: 10, IntegerMACs: 9}
	b := EvalCounts{Samples: 2, Int8Only: 1, Top5Samples: 2, Int8Top5: 2, ClassSamples: []int64{0, 1, 1}, MACs: 10, IntegerMACs: 9, Bad: []byte(`[]`)}
	f := &sumCountsFn{}
	ab, ba := f.MergeAccumulators(a, b), f.MergeAccumulators(b, a)
	if !reflect.DeepEqual(ab, ba) {
		t.Fatalf("merge not commutative: %+v %+v", ab, ba)
	}
	want := EvalCounts{Samples: 5, FloatOnly: 1, Int8Only: 1, Top5Samples: 5, FloatTop5: 2, Int8Top5: 2, ClassSamples: []int64{1, 3, 1}, MACs: 10, IntegerMACs: 9, Bad: []byte(`[]`)}
	if !reflect.DeepEqual(ab, want) {
		t.Errorf("merged %+v, want %+v", ab, want)
	}
}

func TestFakeQuant(t *testing.T) {
	a := quantize.Activation{Scale: 0.5, ZeroPoint: 10, QMin: 0, QMax: 255}
	for x, want := range map[float32]float32{0: 0, 0.25: 0, 0.75: 1, 1.3: 1.5, -5: -5, -6: -5, 200: 122.5} {
		if got := fakeQuant(x, a); got != want {
			t.Errorf("fakeQuant(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestCulpritsGroupPassThrough(t *testing.T) {
	db := func(v float64) *float64 { return &v }
	layers := []report.Layer{
		{Tensor: "in", Values: 1, LocalExact: true},
		{Tensor: "conv1", Values: 1, LocalSQNRDB: db(20)},
		{Tensor: "pool1", Values: 1, LocalSQNRDB: db(5)},
		{Tensor: "conv2", Values: 1, LocalSQNRDB: db(10)},
	}
	rangeOf := map[string]string{"in": "in", "conv1": "conv1", "pool1": "conv1", "conv2": "conv2"}
	got := culprits(layers, rangeOf)
	if want := []string{"conv1", "conv2", "in"}; !reflect.DeepEqual(got, want) {
		t.Errorf("culprits %v, want %v", got, want)
	}
}
