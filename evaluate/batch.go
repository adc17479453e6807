package evaluate

import (
	"fmt"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// DefaultBatch is the batch size for models whose batch dimension is free
// when Config.BatchSize is 0.
const DefaultBatch = 50

// Config is what evaluation needs to know of a model besides its programs.
type Config struct {
	// Input and Output name the image input and the class-score output;
	// empty means the model's only input and its first output.
	Input, Output string
	// Preprocess turns dataset images into the model's input.
	Preprocess dataset.Preprocess
	// BatchSize is the number of samples per inference call for models
	// whose batch dimension is free (0: DefaultBatch); a model declaring a
	// fixed batch always runs with it.
	BatchSize int
	// Classes is the number of dataset classes (per-class tallies, top-5
	// from five classes up); LabelOffset is added to a dataset label to get
	// the model's class index.
	Classes, LabelOffset int
	// MeasureSpeed times a plain float run and the int8 run of every batch
	// (Counts.FloatNanos, Int8Nanos, TimedSamples).
	MeasureSpeed bool
}

// Samples is a split of a dataset: its usable samples, each with a stable
// id, decoded on demand.
type Samples interface {
	Len() int
	ID(i int) string
	Image(i int) (*dataset.Image, error)
}

// Batcher feeds the samples of a split to one program in batches.
type Batcher struct {
	cfg Config
	in  graph.ValueInfo
	out string
	bs  int
}

// NewBatcher checks the program's input and output against cfg.
func NewBatcher(p *infer.Program, cfg Config) (*Batcher, error) {
	in, err := inputOf(p, cfg.Input)
	if err != nil {
		return nil, err
	}
	out, err := outputOf(p, cfg.Output)
	if err != nil {
		return nil, err
	}
	return &Batcher{cfg: cfg, in: in, out: out, bs: batchSize(in, cfg.BatchSize)}, nil
}

// BatchSize is the number of samples per call.
func (b *Batcher) BatchSize() int { return b.bs }

// inputOf returns the graph input that receives images.
func inputOf(p *infer.Program, name string) (graph.ValueInfo, error) {
	infos := p.InputInfo()
	if name != "" {
		for _, in := range infos {
			if in.Name == name {
				return in, nil
			}
		}
		return graph.ValueInfo{}, fmt.Errorf("model has no input %q (inputs: %v)", name, p.InputNames())
	}
	if len(infos) != 1 {
		return graph.ValueInfo{}, fmt.Errorf("model has %d inputs %v; name the image input in the manifest", len(infos), p.InputNames())
	}
	return infos[0], nil
}

// outputOf returns the graph output holding class scores.
func outputOf(p *infer.Program, name string) (string, error) {
	outs := p.OutputNames()
	if name == "" {
		if len(outs) == 0 {
			return "", fmt.Errorf("model has no outputs")
		}
		return outs[0], nil
	}
	for _, o := range outs {
		if o == name {
			return o, nil
		}
	}
	return "", fmt.Errorf("model has no output %q (outputs: %v)", name, outs)
}

// batchSize is the fixed batch of the input, else want, else DefaultBatch.
func batchSize(in graph.ValueInfo, want int) int {
	if len(in.Shape) > 0 && in.Shape[0].Param == "" && in.Shape[0].Value > 0 {
		return int(in.Shape[0].Value) // a fixed batch is the only one the model takes
	}
	if want > 0 {
		return want
	}
	return DefaultBatch
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

// Each calls fn with the feeds of every batch of the samples idx; errors
// are labeled with the batch's sample ids.
func (b *Batcher) Each(data Samples, idx []int, fn func(batch []int, feeds map[string]*tensor.Tensor) error) error {
	in, bs := b.in, b.bs
	for s := 0; s < len(idx); s += bs {
		batch := idx[s:min(s+bs, len(idx))]
		n := len(batch)
		label := fmt.Sprintf("samples %s..%s", data.ID(batch[0]), data.ID(batch[n-1]))
		x, err := BatchTensor(b.cfg.Preprocess, data, batch)
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

// Scores splits the class scores of a batch of n samples into one row per
// sample (rows alias the output tensor).
func (b *Batcher) Scores(res map[string]*tensor.Tensor, n int) ([][]float32, error) {
	return b.scoresInto(nil, res, n)
}

// scoresInto is Scores reusing rows' backing array.
func (b *Batcher) scoresInto(rows [][]float32, res map[string]*tensor.Tensor, n int) ([][]float32, error) {
	out := b.out
	y := res[out]
	if y == nil || y.DType != tensor.Float32 {
		return nil, fmt.Errorf("output %q is missing or not float32", out)
	}
	if len(y.F32)%n != 0 || len(y.F32) == 0 {
		return nil, fmt.Errorf("output %q has shape %v for a batch of %d", out, y.Shape, n)
	}
	k := len(y.F32) / n
	if k < b.cfg.Classes+b.cfg.LabelOffset {
		return nil, fmt.Errorf("output %q has %d scores per sample for %d classes (label offset %d)", out, k, b.cfg.Classes, b.cfg.LabelOffset)
	}
	rows = rows[:0]
	for i := 0; i < n; i++ {
		rows = append(rows, y.F32[i*k:(i+1)*k])
	}
	return rows, nil
}

// BatchTensor decodes and preprocesses the samples idx into one input
// tensor. Encoded images are decoded here, one batch at a time, so a
// worker never holds more decoded pixels than a batch needs.
func BatchTensor(pre dataset.Preprocess, data Samples, idx []int) (*tensor.Tensor, error) {
	imgs := make([]*dataset.Image, len(idx))
	for i, j := range idx {
		if j < 0 || j >= data.Len() {
			return nil, fmt.Errorf("sample %d out of range [0,%d)", j, data.Len())
		}
		im, err := data.Image(j)
		if err != nil {
			return nil, err
		}
		imgs[i] = im
	}
	return pre.Batch(imgs)
}

// Predict runs the samples idx of a split through a program, in batches,
// and returns the top-1 class of each in the dataset's label space (the
// model's class index minus cfg.LabelOffset). obs, when not nil, sees every
// float value (infer.Program.RunObserved).
func Predict(p *infer.Program, cfg Config, data Samples, idx []int, obs func(string, *tensor.Tensor)) ([]int, error) {
	bt, err := NewBatcher(p, cfg)
	if err != nil {
		return nil, err
	}
	preds := make([]int, 0, len(idx))
	var rows [][]float32
	err = bt.Each(data, idx, func(batch []int, feeds map[string]*tensor.Tensor) error {
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
		if rows, err = bt.scoresInto(rows, res, len(batch)); err != nil {
			return err
		}
		for _, r := range rows {
			preds = append(preds, tensor.ArgMax(r)-cfg.LabelOffset)
		}
		return nil
	})
	return preds, err
}

// Range returns the indexes [start, end).
func Range(start, end int) []int {
	idx := make([]int, max(end-start, 0))
	for i := range idx {
		idx[i] = start + i
	}
	return idx
}
