package transforms

import (
	"fmt"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/evaluate"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// evalConfig is what package evaluate needs to know of a task.
func evalConfig(t *ModelTask) (evaluate.Config, error) {
	pre, err := preprocess(t)
	if err != nil {
		return evaluate.Config{}, fmt.Errorf("preprocess settings: %w", err)
	}
	return evaluate.Config{Input: t.Input, Output: t.Output, Preprocess: pre, BatchSize: t.BatchSize,
		Classes: t.Classes, LabelOffset: t.LabelOffset, MeasureSpeed: t.MeasureSpeed}, nil
}

// predict runs samples [start, end) of a split through a program and returns
// the top-1 class of each. obs, when not nil, sees every float value.
func predict(p *infer.Program, t *ModelTask, data *labeledImages, start, end int, obs func(string, *tensor.Tensor)) ([]int, error) {
	if start < 0 || end > data.len() || start > end {
		return nil, fmt.Errorf("samples [%d,%d) out of range [0,%d)", start, end, data.len())
	}
	return predictSamples(p, t, data, evaluate.Range(start, end), obs)
}

// predictSamples runs the samples idx of a split through a program
// (evaluate.Predict) and returns the top-1 class of each in the dataset's
// label space.
func predictSamples(p *infer.Program, t *ModelTask, data *labeledImages, idx []int, obs func(string, *tensor.Tensor)) ([]int, error) {
	cfg, err := evalConfig(t)
	if err != nil {
		return nil, err
	}
	return evaluate.Predict(p, cfg, data, idx, obs)
}

// batchTensor decodes and preprocesses the samples idx into one input
// tensor (evaluate.BatchTensor).
func batchTensor(pre dataset.Preprocess, data *labeledImages, idx []int) (*tensor.Tensor, error) {
	return evaluate.BatchTensor(pre, data, idx)
}
