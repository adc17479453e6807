package evaluate

import (
	"testing"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/tensor"
)

// BenchmarkPrograms times, per batch of 50 synthetic images, the three
// programs an evaluation batch runs (the float program observed with the
// activation copies the statistics need, the integer int8 program, the QDQ
// program observed) and a whole Evaluator batch, for a MNIST and a
// CIFAR-10 model of the shared zoo:
//
//	go test ./evaluate -run '^$' -bench Programs -benchtime 5x
func BenchmarkPrograms(b *testing.B) {
	for _, c := range []struct {
		name string
		data synthetic
		pre  dataset.Preprocess
		file []string
	}{
		{"mnist-lenet", synthetic{n: 50}, dataset.Preprocess{Divide: 255},
			[]string{"models", "trained", "mnist", "mnist-lenet.onnx"}},
		{"cifar-resnet8", synthetic{n: 50, h: 32, w: 32, c: 3}, dataset.Preprocess{Divide: 255},
			[]string{"models", "trained", "cifar10", "cifar-resnet8.onnx"}},
	} {
		fp, qs := zooModel(b, c.data, c.pre, c.file...)
		q := qs[0]
		x, err := BatchTensor(c.pre, c.data, Range(0, c.data.n))
		if err != nil {
			b.Fatal(err)
		}
		feeds := map[string]*tensor.Tensor{fp.InputNames()[0]: x}
		e, err := New(Config{Preprocess: c.pre, Classes: 10}, fp, q)
		if err != nil {
			b.Fatal(err)
		}
		labels := make([]int, c.data.n)
		run := func(name string, f func() error) {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("float-observed", func() error {
			clear(e.have)
			_, err := fp.RunObserved(feeds, e.observeFloat)
			return err
		})
		run("int8", func() error { _, err := q.Int8.Run(feeds); return err })
		run("qdq-observed", func() error {
			_, err := q.QDQ.RunObserved(feeds, func(string, *tensor.Tensor) {})
			return err
		})
		run("evaluator", func() error { _, err := e.Run(c.data, labels, Range(0, c.data.n)); return err })
	}
}
