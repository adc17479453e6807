package transforms

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/tensor"
)

func init() {
	register.DoFn2x2[context.Context, Shard, string, RangeSet](&collectRangesFn{})
	register.Combiner1[RangeSet](&mergeRangesFn{})
}

type collectRangesFn struct{}

func (f *collectRangesFn) ProcessElement(ctx context.Context, sh Shard) (string, RangeSet) {
	fail := func(err error) (string, RangeSet) {
		return sh.Task.Name, RangeSet{Err: fmt.Sprintf("calibration, %s: %v", shardLabel(&sh), err), ErrShard: int64(sh.Start)}
	}
	if sh.Err != "" {
		return fail(fmt.Errorf("%s", sh.Err))
	}
	p, err := floatProgram(ctx, &sh.Task)
	if err != nil {
		return fail(err)
	}
	data, err := split(ctx, &sh.Task, sh.Split)
	if err != nil {
		return fail(err)
	}
	r := calibrate.NewRanges()
	if _, err := predict(p, &sh.Task, data, sh.Start, sh.End, func(name string, t *tensor.Tensor) {
		r.Observe(name, t)
	}); err != nil {
		return fail(err)
	}
	js, err := r.MarshalJSON()
	if err != nil {
		return fail(err)
	}
	return sh.Task.Name, RangeSet{Ranges: js, Samples: int64(sh.End - sh.Start)}
}

// mergeRangesFn combines RangeSets: ranges merge exactly, sample counts add,
// and the error of the lowest failing shard wins.
type mergeRangesFn struct{}

func (f *mergeRangesFn) MergeAccumulators(a, b RangeSet) (RangeSet, error) {
	out := RangeSet{Samples: a.Samples + b.Samples}
	switch {
	case a.Err != "" && (b.Err == "" || a.ErrShard < b.ErrShard || a.ErrShard == b.ErrShard && a.Err <= b.Err):
		out.Err, out.ErrShard = a.Err, a.ErrShard
	case b.Err != "":
		out.Err, out.ErrShard = b.Err, b.ErrShard
	}
	ra, err := decodeRanges(a.Ranges)
	if err != nil {
		return out, err
	}
	rb, err := decodeRanges(b.Ranges)
	if err != nil {
		return out, err
	}
	ra.Merge(rb)
	out.Ranges, err = ra.MarshalJSON()
	return out, err
}

func decodeRanges(b []byte) (*calibrate.Ranges, error) {
	r := calibrate.NewRanges()
	if len(b) == 0 {
		return r, nil
	}
	if err := r.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return r, nil
}

// Calibrate runs every calibration shard through its model's float program,
// observing the range of every float tensor, and combines the ranges per
// model. The result is keyed by model name.
func Calibrate(s beam.Scope, tasks beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.Calibrate")
	shards := PlanShards(s, tasks, SplitCalibration)
	partial := beam.ParDo(s, &collectRangesFn{}, shards)
	return beam.CombinePerKey(s, &mergeRangesFn{}, partial)
}
