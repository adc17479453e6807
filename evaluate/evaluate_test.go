package evaluate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/tensor"
)

func TestInTop5(t *testing.T) {
	s := []float32{0.1, 0.9, 0.3, 0.3, 0.5, 0.2, 0.3, 0}
	// Order: 1 (0.9), 4 (0.5), 2, 3, 6 (0.3, by index), 5, 0, 7.
	for _, c := range []struct {
		k    int
		want bool
	}{{0, false}, {1, true}, {2, true}, {3, true}, {4, true}, {5, false}, {6, true}, {7, false}, {-1, false}, {8, false}} {
		if got := InTop5(s, c.k); got != c.want {
			t.Errorf("class %d: %v, want %v", c.k, got, c.want)
		}
	}
}

func TestCountsAdd(t *testing.T) {
	cfg := Config{Classes: 6, LabelOffset: 1}
	for _, c := range []struct {
		name   string
		label  int
		fs, is []float32
		want   Counts
	}{
		{"both right", 2, []float32{0, 0, 0, 9, 0, 0, 0}, []float32{0, 0, 0, 8, 0, 0, 0},
			Counts{Samples: 1, FloatCorrect: 1, Int8Correct: 1, Agree: 1, Top5Samples: 1, FloatTop5: 1, Int8Top5: 1}},
		{"float only", 0, []float32{0, 9, 0, 0, 0, 0, 0}, []float32{0, 0, 9, 0, 0, 0, 0},
			Counts{Samples: 1, FloatCorrect: 1, FloatOnly: 1, Top5Samples: 1, FloatTop5: 1, Int8Top5: 1}},
		{"int8 only, label out of top-5", 5, []float32{0, 1, 2, 3, 4, 5, 0.5}, []float32{0, 0, 0, 0, 0, 0, 9},
			Counts{Samples: 1, Int8Correct: 1, Int8Only: 1, Top5Samples: 1, Int8Top5: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := NewCounts(cfg)
			got.Add(cfg, c.label, c.fs, c.is)
			want := c.want
			want.ClassSamples, want.ClassFloat, want.ClassInt8 = make([]int64, 6), make([]int64, 6), make([]int64, 6)
			want.ClassSamples[c.label] = 1
			want.ClassFloat[c.label] = want.FloatCorrect
			want.ClassInt8[c.label] = want.Int8Correct
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b Counts
		want Counts
	}{
		{"sums",
			Counts{Samples: 3, FloatOnly: 1, Top5Samples: 3, FloatTop5: 2, ClassSamples: []int64{1, 2}, MACs: 10, IntegerMACs: 9},
			Counts{Samples: 2, Int8Only: 1, Top5Samples: 2, Int8Top5: 2, ClassSamples: []int64{0, 1, 1}, MACs: 10, IntegerMACs: 9, Bad: []byte(`[]`)},
			Counts{Samples: 5, FloatOnly: 1, Int8Only: 1, Top5Samples: 5, FloatTop5: 2, Int8Top5: 2, ClassSamples: []int64{1, 3, 1}, MACs: 10, IntegerMACs: 9, Bad: []byte(`[]`)}},
		{"lowest failing shard wins",
			Counts{Samples: 1, Err: "b", ErrShard: 250},
			Counts{Err: "a", ErrShard: 500},
			Counts{Samples: 1, Err: "b", ErrShard: 250}},
		{"same shard: smaller error",
			Counts{Err: "y", ErrShard: 0},
			Counts{Err: "x", ErrShard: 0},
			Counts{Err: "x", ErrShard: 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ab, ba := Merge(c.a, c.b), Merge(c.b, c.a)
			if !reflect.DeepEqual(ab, ba) {
				t.Fatalf("merge not commutative: %+v %+v", ab, ba)
			}
			if !reflect.DeepEqual(ab, c.want) {
				t.Errorf("merged %+v, want %+v", ab, c.want)
			}
		})
	}
}

func TestFakeQuant(t *testing.T) {
	a := quantize.Activation{Scale: 0.5, ZeroPoint: 10, QMin: 0, QMax: 255}
	for _, c := range []struct{ x, want float32 }{
		{0, 0}, {0.25, 0}, {0.75, 1}, {1.3, 1.5}, {-5, -5}, {-6, -5}, {200, 122.5},
	} {
		if got := FakeQuant(c.x, a); got != c.want {
			t.Errorf("FakeQuant(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := FakeQuant(3, quantize.Activation{}); got != 3 {
		t.Errorf("zero scale: %v, want 3", got)
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
	got := Culprits(layers, rangeOf)
	if want := []string{"conv1", "conv2", "in"}; !reflect.DeepEqual(got, want) {
		t.Errorf("culprits %v, want %v", got, want)
	}
}

// synthetic is a split of n deterministic images, 28x28 grey unless h, w
// and c say otherwise.
type synthetic struct{ n, h, w, c int }

func (s synthetic) Len() int        { return s.n }
func (s synthetic) ID(i int) string { return fmt.Sprint("s", i) }
func (s synthetic) Image(i int) (*dataset.Image, error) {
	h, w, c := s.h, s.w, s.c
	if h == 0 {
		h, w, c = 28, 28, 1
	}
	im := &dataset.Image{H: h, W: w, C: c, Pix: make([]uint8, h*w*c)}
	for j := range im.Pix {
		im.Pix[j] = uint8((j*7 + i*31 + j*j*i) % 256)
	}
	return im, nil
}

// lenet returns the float program of the shared zoo's mnist-lenet and two
// quantized versions of it (per-channel and per-tensor weights), calibrated
// on the synthetic images.
func lenet(t testing.TB, data synthetic, pre dataset.Preprocess) (*infer.Program, []Quantized) {
	return zooModel(t, data, pre, "models", "trained", "mnist", "mnist-lenet.onnx")
}

// zooModel is lenet for the shared zoo's model file rel.
func zooModel(t testing.TB, data synthetic, pre dataset.Preprocess, rel ...string) (*infer.Program, []Quantized) {
	t.Helper()
	m, err := onnx.Decode(zootest.ReadFile(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := quantize.Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := infer.Compile(p, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := BatchTensor(pre, data, Range(0, data.n))
	if err != nil {
		t.Fatal(err)
	}
	r := calibrate.NewRanges()
	if _, err := fp.RunObserved(map[string]*tensor.Tensor{p.Graph.Inputs[0].Name: x}, r.Observe); err != nil {
		t.Fatal(err)
	}
	var qs []Quantized
	for _, sch := range []quantize.Scheme{quantize.SchemeU8S8Channel, quantize.SchemeU8S8Tensor} {
		q, _, err := quantize.Quantize(p, r.Result(), quantize.Options{Scheme: sch})
		if err != nil {
			t.Fatal(err)
		}
		acts, err := quantize.Activations(q)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := infer.Compile(q, infer.Options{Integer: true})
		if err != nil {
			t.Fatal(err)
		}
		qp, err := infer.Compile(q, infer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, Quantized{Int8: ip, QDQ: qp, Acts: acts})
	}
	return fp, qs
}

// encode renders a Result comparably: counts and per-layer statistics.
func encode(t *testing.T, r Result) string {
	t.Helper()
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	b, err := json.Marshal(struct {
		C Counts
		L []*Layer
	}{r.Counts, r.Layers})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEvaluatorInvariance checks that an Evaluator's results do not depend
// on the batch size, on how the samples are split into runs (merging the
// tallies and layer statistics of the parts), or on whether the quantized
// versions share one float run.
func TestEvaluatorInvariance(t *testing.T) {
	data := synthetic{n: 30}
	labels := make([]int, data.n)
	for i := range labels {
		labels[i] = i % 10
	}
	pre := dataset.Preprocess{Divide: 255}
	fp, qs := lenet(t, data, pre)
	run := func(bs int, q []Quantized, parts ...[]int) []Result {
		e, err := New(Config{Preprocess: pre, BatchSize: bs, Classes: 10}, fp, q...)
		if err != nil {
			t.Fatal(err)
		}
		var total []Result
		for _, idx := range parts {
			res, err := e.Run(data, labels, idx)
			if err != nil {
				t.Fatal(err)
			}
			if total == nil {
				total = res
				continue
			}
			for k := range res {
				total[k].Counts = Merge(total[k].Counts, res[k].Counts)
				for i, l := range res[k].Layers {
					if total[k].Layers[i] == nil {
						total[k].Layers[i] = l
						continue
					}
					if err := total[k].Layers[i].Stats.Merge(l.Stats); err != nil {
						t.Fatal(err)
					}
					if err := total[k].Layers[i].Local.Merge(l.Local); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return total
	}
	want := run(50, qs, Range(0, data.n))
	if want[0].Counts.Samples != int64(data.n) || len(want[0].Layers) == 0 || want[0].Layers[0] == nil {
		t.Fatalf("reference run: %+v", want[0].Counts)
	}
	for _, c := range []struct {
		name  string
		bs    int
		parts [][]int
	}{
		{"batch 1", 1, [][]int{Range(0, data.n)}},
		{"batch 7", 7, [][]int{Range(0, data.n)}},
		{"two runs", 50, [][]int{Range(0, 13), Range(13, data.n)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run(c.bs, qs, c.parts...)
			for k := range want {
				if g, w := encode(t, got[k]), encode(t, want[k]); g != w {
					t.Errorf("version %d:\n got %s\nwant %s", k, g, w)
				}
			}
		})
	}
	t.Run("one version at a time", func(t *testing.T) {
		for k := range qs {
			got := run(50, qs[k:k+1], Range(0, data.n))
			if g, w := encode(t, got[0]), encode(t, want[k]); g != w {
				t.Errorf("version %d alone:\n got %s\nwant %s", k, g, w)
			}
		}
	})
}
