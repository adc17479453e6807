package transforms

import (
	"fmt"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// maxBatch is the default batch size for models whose batch dimension is
// free (ModelTask.BatchSize overrides it).
const maxBatch = 50

// inputOf returns the graph input that receives images.
func inputOf(p *infer.Program, t *ModelTask) (graph.ValueInfo, error) {
	infos := p.InputInfo()
	if t.Input != "" {
		for _, in := range infos {
			if in.Name == t.Input {
				return in, nil
			}
		}
		return graph.ValueInfo{}, fmt.Errorf("model has no input %q (inputs: %v)", t.Input, p.InputNames())
	}
	if len(infos) != 1 {
		return graph.ValueInfo{}, fmt.Errorf("model has %d inputs %v; name the image input in the manifest", len(infos), p.InputNames())
	}
	return infos[0], nil
}

// outputOf returns the graph output holding class scores.
func outputOf(p *infer.Program, t *ModelTask) (string, error) {
	outs := p.OutputNames()
	if t.Output == "" {
		if len(outs) == 0 {
			return "", fmt.Errorf("model has no outputs")
		}
		return outs[0], nil
	}
	for _, o := range outs {
		if o == t.Output {
			return o, nil
		}
	}
	return "", fmt.Errorf("model has no output %q (outputs: %v)", t.Output, outs)
}

// batchSize is 1 for inputs whose first dimension is fixed, maxBatch otherwise.
func batchSize(in graph.ValueInfo, want int) int {
	if len(in.Shape) > 0 && in.Shape[0].Param == "" && in.Shape[0].Value > 0 {
		return int(in.Shape[0].Value) // a fixed batch is the only one the model takes
	}
	if want > 0 {
		return want
	}
	return maxBatch
}

// checkShape compares a preprocessed batch with the declared input shape,
// ignoring the batch and symbolic dimensions.
func checkShape(in graph.ValueInfo, x *tensor.Tensor) error {
	if in.Shape == nil {
		return nil
	}
	if len(in.Shape) != len(x.Shape) {
		return fmt.Errorf("input %q is declared %s but the preprocessed images are %v", in.Name, in.ShapeString(), x.Shape)
	}
	for i := 1; i < len(in.Shape); i++ {
		if d := in.Shape[i]; d.Param == "" && d.Value >= 0 && int(d.Value) != x.Shape[i] {
			return fmt.Errorf("input %q is declared %s but the preprocessed images are %v", in.Name, in.ShapeString(), x.Shape)
		}
	}
	return nil
}

// predict runs samples [start, end) of a split through a program and returns
// the top-1 class of each. obs, when not nil, sees every float value.
func predict(p *infer.Program, t *ModelTask, data *labeledImages, start, end int, obs func(string, *tensor.Tensor)) ([]int, error) {
	if start < 0 || end > data.len() || start > end {
		return nil, fmt.Errorf("samples [%d,%d) out of range [0,%d)", start, end, data.len())
	}
	idx := make([]int, end-start)
	for i := range idx {
		idx[i] = start + i
	}
	return predictSamples(p, t, data, idx, obs)
}

// predictSamples runs the samples idx of a split through a program, in
// batches, and returns the top-1 class of each in the dataset's label space
// (the model's class index minus the task's label offset).
func predictSamples(p *infer.Program, t *ModelTask, data *labeledImages, idx []int, obs func(string, *tensor.Tensor)) ([]int, error) {
	bt, err := newBatcher(p, t)
	if err != nil {
		return nil, err
	}
	preds := make([]int, 0, len(idx))
	err = bt.each(data, idx, func(batch []int, feeds map[string]*tensor.Tensor) error {
		var res map[string]*tensor.Tensor
		var err error
		if obs != nil {
			res, err = p.RunObserved(feeds, obs)
		} else {
			res, err = p.Run(feeds)
		}
		if err != nil {
			return err
		}
		rows, err := bt.scores(res, len(batch))
		if err != nil {
			return err
		}
		for _, r := range rows {
			preds = append(preds, tensor.ArgMax(r)-t.LabelOffset)
		}
		return nil
	})
	return preds, err
}

// batcher feeds the samples of a split to a program in batches.
type batcher struct {
	t   *ModelTask
	pre dataset.Preprocess
	in  graph.ValueInfo
	out string
	bs  int
}

func newBatcher(p *infer.Program, t *ModelTask) (*batcher, error) {
	pre, err := preprocess(t)
	if err != nil {
		return nil, fmt.Errorf("preprocess settings: %w", err)
	}
	in, err := inputOf(p, t)
	if err != nil {
		return nil, err
	}
	out, err := outputOf(p, t)
	if err != nil {
		return nil, err
	}
	return &batcher{t: t, pre: pre, in: in, out: out, bs: batchSize(in, t.BatchSize)}, nil
}

// each calls fn with the feeds of every batch of the samples idx; errors
// are labeled with the batch's sample ids.
func (b *batcher) each(data *labeledImages, idx []int, fn func(batch []int, feeds map[string]*tensor.Tensor) error) error {
	in, bs := b.in, b.bs
	for s := 0; s < len(idx); s += bs {
		batch := idx[s:min(s+bs, len(idx))]
		n := len(batch)
		label := fmt.Sprintf("samples %s..%s", data.id(batch[0]), data.id(batch[n-1]))
		x, err := batchTensor(b.pre, data, batch)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		if n < bs && bs > 1 && in.Shape != nil && in.Shape[0].Param == "" && in.Shape[0].Value > 0 {
			return fmt.Errorf("input %q has a fixed batch of %d", in.Name, bs)
		}
		if err := checkShape(in, x); err != nil {
			return err
		}
		if err := fn(batch, map[string]*tensor.Tensor{in.Name: x}); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
	}
	return nil
}

// scores splits the class scores of a batch of n samples into one row per
// sample (rows alias the output tensor).
func (b *batcher) scores(res map[string]*tensor.Tensor, n int) ([][]float32, error) {
	t, out := b.t, b.out
	y := res[out]
	if y == nil || y.DType != tensor.Float32 {
		return nil, fmt.Errorf("output %q is missing or not float32", out)
	}
	if len(y.F32)%n != 0 || len(y.F32) == 0 {
		return nil, fmt.Errorf("output %q has shape %v for a batch of %d", out, y.Shape, n)
	}
	k := len(y.F32) / n
	if k < t.Classes+t.LabelOffset {
		return nil, fmt.Errorf("output %q has %d scores per sample for %d classes (label offset %d)", out, k, t.Classes, t.LabelOffset)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = y.F32[i*k : (i+1)*k]
	}
	return rows, nil
}

// batchTensor decodes and preprocesses the samples idx into one input
// tensor. Encoded images are decoded here, one batch at a time, so a
// worker never holds more decoded pixels than a batch needs.
func batchTensor(pre dataset.Preprocess, data *labeledImages, idx []int) (*tensor.Tensor, error) {
	imgs := make([]*dataset.Image, len(idx))
	for i, j := range idx {
		if j < 0 || j >= data.len() {
			return nil, fmt.Errorf("sample %d out of range [0,%d)", j, data.len())
		}
		im, err := data.image(j)
		if err != nil {
			return nil, err
		}
		imgs[i] = im
	}
	return pre.Batch(imgs)
}
