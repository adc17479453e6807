package transforms

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn2x2[context.Context, Shard, string, EvalCounts](&evaluateFn{})
	register.Combiner1[EvalCounts](&sumCountsFn{})
	register.DoFn4x0[string, func(*ModelTask) bool, func(*EvalCounts) bool, func(Row)](&finishFn{})
	register.Iter1[EvalCounts]()
}

type evaluateFn struct{}

func (f *evaluateFn) ProcessElement(ctx context.Context, sh Shard) (string, EvalCounts) {
	fail := func(err error) (string, EvalCounts) {
		return sh.Task.Name, EvalCounts{Err: fmt.Sprintf("evaluation, %s: %v", shardLabel(&sh), err), ErrShard: int64(sh.Start)}
	}
	if sh.Err != "" {
		return fail(fmt.Errorf("%s", sh.Err))
	}
	data, err := split(ctx, &sh.Task, sh.Split)
	if err != nil {
		return fail(err)
	}
	fp, err := floatProgram(ctx, &sh.Task)
	if err != nil {
		return fail(err)
	}
	ip, err := int8Program(ctx, &sh.Task)
	if err != nil {
		return fail(err)
	}
	fpred, err := predict(fp, &sh.Task, data, sh.Start, sh.End, nil)
	if err != nil {
		return fail(fmt.Errorf("float model: %w", err))
	}
	ipred, err := predict(ip, &sh.Task, data, sh.Start, sh.End, nil)
	if err != nil {
		return fail(fmt.Errorf("int8 model: %w", err))
	}
	var c EvalCounts
	for i := range fpred {
		label := data.labels[sh.Start+i]
		c.Samples++
		if fpred[i] == label {
			c.FloatCorrect++
		}
		if ipred[i] == label {
			c.Int8Correct++
		}
		if fpred[i] == ipred[i] {
			c.Agree++
		}
	}
	return sh.Task.Name, c
}

// sumCountsFn adds evaluation tallies; the error of the lowest failing shard
// wins.
type sumCountsFn struct{}

func (f *sumCountsFn) MergeAccumulators(a, b EvalCounts) EvalCounts {
	out := EvalCounts{
		Samples:      a.Samples + b.Samples,
		FloatCorrect: a.FloatCorrect + b.FloatCorrect,
		Int8Correct:  a.Int8Correct + b.Int8Correct,
		Agree:        a.Agree + b.Agree,
	}
	switch {
	case a.Err != "" && (b.Err == "" || a.ErrShard < b.ErrShard || a.ErrShard == b.ErrShard && a.Err <= b.Err):
		out.Err, out.ErrShard = a.Err, a.ErrShard
	case b.Err != "":
		out.Err, out.ErrShard = b.Err, b.ErrShard
	}
	return out
}

type finishFn struct{}

func (f *finishFn) ProcessElement(name string, taskIter func(*ModelTask) bool, countIter func(*EvalCounts) bool, emit func(Row)) {
	var t ModelTask
	if !taskIter(&t) {
		return
	}
	var c EvalCounts
	if !countIter(&c) {
		emit(failureRow(&t, "evaluate", fmt.Errorf("the evaluation split produced no samples")))
		return
	}
	if c.Err != "" {
		emit(failureRow(&t, "evaluate", fmt.Errorf("%s", c.Err)))
		return
	}
	emit(okRow(&t, &c))
}

// Evaluate runs every evaluation shard through the float and the int8
// program of its model, sums the tallies per model and turns each model into
// a report row.
func Evaluate(s beam.Scope, quantized beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.Evaluate")
	shards := PlanShards(s, quantized, SplitEvaluation)
	partial := beam.ParDo(s, &evaluateFn{}, shards)
	counts := beam.CombinePerKey(s, &sumCountsFn{}, partial)
	joined := beam.CoGroupByKey(s, beam.ParDo(s, keyByName, quantized), counts)
	return beam.ParDo(s, &finishFn{}, joined)
}
