package transforms

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x0[context.Context, ModelTask, func(Shard)](&planShardsFn{})
	register.Emitter1[Shard]()
}

type planShardsFn struct {
	Split string
}

func (f *planShardsFn) ProcessElement(ctx context.Context, t ModelTask, emit func(Shard)) {
	data, err := split(ctx, &t, f.Split)
	if err != nil {
		emit(Shard{Task: t, Split: f.Split, Err: err.Error()})
		return
	}
	n := data.images.N
	limit := t.CalibSamples
	if f.Split == SplitEvaluation {
		limit = t.EvalSamples
	}
	if limit > 0 && limit < n {
		n = limit
	}
	size := t.ShardSize
	if size <= 0 {
		size = 250
	}
	for start := 0; start < n; start += size {
		emit(Shard{Task: t, Split: f.Split, Start: start, End: min(start+size, n)})
	}
}

// PlanShards splits each model's dataset split into work items of
// ModelTask.ShardSize samples and spreads them over workers.
func PlanShards(s beam.Scope, tasks beam.PCollection, split string) beam.PCollection {
	s = s.Scope("transforms.PlanShards")
	return beam.Reshuffle(s, beam.ParDo(s, &planShardsFn{Split: split}, tasks))
}
