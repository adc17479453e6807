package transforms

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/quantize"
)

func init() {
	register.Function1x2[ModelTask, string, ModelTask](keyByName)
	register.DoFn6x1[context.Context, string, func(*ModelTask) bool, func(*RangeSet) bool, func(ModelTask), func(Row), error](&quantizeFn{})
	register.Iter1[ModelTask]()
	register.Iter1[RangeSet]()
}

func keyByName(t ModelTask) (string, ModelTask) {
	return t.Name, t
}

type quantizeFn struct{}

func (f *quantizeFn) ProcessElement(ctx context.Context, name string, taskIter func(*ModelTask) bool, rangeIter func(*RangeSet) bool, ok func(ModelTask), failed func(Row)) error {
	var t ModelTask
	if !taskIter(&t) {
		return nil // ranges of a model that failed to load: already reported
	}
	var rs RangeSet
	found := rangeIter(&rs)
	if !found {
		failed(failureRow(&t, "calibrate", failure.Errorf(failure.BadData, "the calibration split produced no samples")))
		return nil
	}
	if rs.Err != "" {
		failed(failureRow(&t, "calibrate", failErr(rs.Err)))
		return nil
	}
	ranges, err := calibRanges(&t, &rs)
	if err != nil {
		failed(failureRow(&t, "calibrate", err))
		return nil
	}
	model, eq, err := quantizeInput(ctx, &t)
	if err != nil {
		failed(failureRow(&t, "quantize", err))
		return nil
	}
	if eq != nil {
		t.CLEPairs, t.CLEClips = len(eq.Pairs), eq.Clips
	}
	q, _, err := quantize.Quantize(model, ranges, t.Quantize.options())
	if err != nil {
		failed(failureRow(&t, "quantize", err))
		return nil
	}
	data, err := onnx.Encode(q)
	if err != nil {
		failed(failureRow(&t, "quantize", fmt.Errorf("encoding the quantized model: %w", err)))
		return nil
	}
	out, err := outBucket(ctx, t.OutURL)
	if err != nil {
		return err
	}
	t.Int8Key = t.Int8Name()
	if err := out.WriteAtomic(ctx, t.Int8Key, data, "application/octet-stream"); err != nil {
		return err // an output that cannot be written fails the job: retrying may help
	}
	t.Int8Bytes = int64(len(data))
	t.Int8Digest = digest(data)
	ok(t)
	return nil
}

// QuantizeModels joins each loaded model with its combined ranges,
// quantizes it and writes the quantized model under the output folder as
// models/<name>.int8.onnx. Models that fail become failed rows.
func QuantizeModels(s beam.Scope, tasks, ranges beam.PCollection) (ok, failed beam.PCollection) {
	s = s.Scope("transforms.QuantizeModels")
	keyed := beam.ParDo(s, keyByName, tasks)
	joined := beam.CoGroupByKey(s, keyed, ranges)
	return beam.ParDo2(s, &quantizeFn{}, joined)
}
