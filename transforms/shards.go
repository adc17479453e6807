package transforms

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/failure"
)

func init() {
	register.DoFn3x0[context.Context, ModelTask, func(Shard)](&planShardsFn{})
	register.Emitter1[Shard]()
	register.Function1x1(shardBranch)
}

type planShardsFn struct {
	Split string
}

func (f *planShardsFn) ProcessElement(ctx context.Context, t ModelTask, emit func(Shard)) {
	planShards(ctx, &t, f.Split, nil, emit)
}

// planShards emits the work items of one split of a task's dataset: shards
// of ModelTask.ShardSize samples, each carrying pass1 (nil in the first
// calibration pass and in evaluation).
func planShards(ctx context.Context, t *ModelTask, which string, pass1 []byte, emit func(Shard)) {
	data, err := split(ctx, t, which)
	if err != nil {
		emit(Shard{Task: *t, Split: which, Err: failText(err)})
		return
	}
	n := data.len()
	if n == 0 && len(data.bad) > 0 {
		// Every sample is bad: say so, with the first reasons, instead of
		// an empty split.
		b := data.bad[0]
		emit(Shard{Task: *t, Split: which, Err: failText(failure.Errorf(failure.BadData,
			"the %s split has no usable samples: all %d are bad (first: %s: %s)", which, len(data.bad), b.ID, b.Err))})
		return
	}
	limit := t.CalibSamples
	if which == SplitEvaluation {
		limit = t.EvalSamples
	}
	if limit > 0 && limit < n {
		n = limit
	}
	size := t.ShardSize
	if size <= 0 {
		size = 250
	}
	progressOf(t.RunID).planned(which, int64(n))
	for start := 0; start < n; start += size {
		emit(Shard{Task: *t, Split: which, Start: start, End: min(start+size, n), Pass1: pass1})
	}
}

// FanOut spreads work items over ways parallel branches: a deterministic
// Partition by (model, shard start), each branch reshuffled. prism runs one
// bundle at a time per stage, so a single Reshuffle leaves a second core
// idle; parallel branches are separate stages that it runs at once. The
// caller applies its DoFn to every branch and flattens the results; every
// combine downstream is exact, so the branching does not change any
// output. ways ≤ 1 gives one reshuffled branch.
func FanOut(s beam.Scope, shards beam.PCollection, ways int) []beam.PCollection {
	s = s.Scope("transforms.FanOut")
	if ways <= 1 {
		return []beam.PCollection{beam.Reshuffle(s, shards)}
	}
	ways = min(ways, maxFanOut)
	parts := beam.Partition(s, maxFanOut, shardBranch, shards)
	branches := make([]beam.PCollection, ways)
	for b := range branches {
		var in []beam.PCollection
		for i := b; i < maxFanOut; i += ways {
			in = append(in, parts[i])
		}
		branches[b] = beam.Reshuffle(s, beam.Flatten(s, in...))
	}
	return branches
}

// maxFanOut is the most branches FanOut makes.
const maxFanOut = 8

// fanOutWays is how many branches the jobs' shard stages use: the cores of
// the machine that builds the pipeline (at most 8). On a distributed runner
// the branches only add parallel stages.
func fanOutWays() int { return min(max(runtime.GOMAXPROCS(0), 1), maxFanOut) }

// shardBranch numbers a work item's partition (of maxFanOut) from its model
// and position, so that consecutive shards of one model go to different
// branches.
func shardBranch(sh Shard) int {
	size := max(sh.End-sh.Start, 1)
	h := fnv.New32a()
	h.Write([]byte(sh.Task.Name))
	return int((uint64(h.Sum32()) + uint64(sh.Start/size)) % maxFanOut)
}

// PlanShards splits each model's dataset split into work items of
// ModelTask.ShardSize samples; FanOut (or parDoSpread) then spreads them
// over workers.
func PlanShards(s beam.Scope, tasks beam.PCollection, split string) beam.PCollection {
	s = s.Scope("transforms.PlanShards")
	return beam.ParDo(s, &planShardsFn{Split: split}, tasks)
}

// parDoSpread applies dofn (one output) to work items spread over
// fanOutWays() branches by FanOut and flattens what the branches emit.
func parDoSpread(s beam.Scope, dofn any, shards beam.PCollection) beam.PCollection {
	var outs []beam.PCollection
	for _, branch := range FanOut(s, shards, fanOutWays()) {
		outs = append(outs, beam.ParDo(s, dofn, branch))
	}
	return beam.Flatten(s, outs...)
}

// selections memoizes, per process, the samples a capped calibration split
// uses.
var selections flight[[]int]

// selectSamples returns the indices of the limit samples of a split that
// dataset.Stratify chooses: each class its share, within a class the ids
// with the smallest SHA-256, in increasing index order. The choice depends
// only on the ids, labels and limit: it is the same on every run, worker
// and sharding.
func selectSamples(t *ModelTask, which string, data *labeledImages, limit int) []int {
	key := fmt.Sprintf("%s\x00%d", splitKey(t, which), limit)
	sel, _ := selections.get(key, func() ([]int, error) {
		ids := make([]string, data.len())
		for i := range ids {
			ids[i] = data.id(i)
		}
		return dataset.Stratify(ids, data.labels, limit), nil
	})
	return sel
}

// calibrationSamples returns the samples of a calibration shard as a split
// and a range of it: the split itself when it is not capped, otherwise the
// chosen samples of the shard gathered into a small split of their own.
func calibrationSamples(ctx context.Context, sh *Shard) (*labeledImages, int, int, error) {
	data, err := split(ctx, &sh.Task, sh.Split)
	if err != nil {
		return nil, 0, 0, err
	}
	limit := sh.Task.CalibSamples
	if limit <= 0 || limit >= data.len() {
		return data, sh.Start, sh.End, nil
	}
	sel := selectSamples(&sh.Task, sh.Split, data, limit)
	if sh.Start < 0 || sh.End > len(sel) || sh.Start > sh.End {
		return nil, 0, 0, fmt.Errorf("shard [%d,%d) outside the %d chosen samples", sh.Start, sh.End, len(sel))
	}
	g := data.subset(sel[sh.Start:sh.End])
	return g, 0, g.len(), nil
}
