package transforms

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/evaluate"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/report"
)

func init() {
	register.DoFn4x0[context.Context, Shard, func(string, EvalCounts), func(string, LayerPart)](&evaluateFn{})
	register.DoFn4x0[context.Context, string, func(*ModelTask) bool, func(Shard)](&planVariantShardsFn{})
	register.Emitter2[string, EvalCounts]()
	register.Emitter2[string, LayerPart]()
	register.Combiner1[EvalCounts](&sumCountsFn{})
	register.Combiner1[LayerPart](&mergeLayersFn{})
	register.Function2x2[string, LayerPart, string, LayerPart](layerByModel)
	register.DoFn5x0[string, func(*ModelTask) bool, func(*EvalCounts) bool, func(*LayerPart) bool, func(Row)](&finishFn{})
	register.Iter1[EvalCounts]()
	register.Iter1[LayerPart]()
}

// evaluateFn runs one evaluation shard through evaluate.Evaluator: the
// float program, the integer int8 program (accuracy, agreement, MACs) and,
// for the per-layer statistics, the int8 model compiled with float QDQ
// semantics (see evaluate.Quantized). Its Evaluators, which hold reusable
// batch buffers, are kept per DoFn instance (one bundle at a time) in a
// small cache opened in Setup; the programs they run are shared by the
// process.
type evaluateFn struct {
	evaluators *evaluatorCache
}

func (f *evaluateFn) Setup() {
	f.evaluators = newEvaluatorCache(maxEvaluators)
}

func (f *evaluateFn) ProcessElement(ctx context.Context, sh Shard, emit func(string, EvalCounts), emitLayer func(string, LayerPart)) {
	if f.evaluators == nil {
		f.Setup()
	}
	tasks := append([]ModelTask{sh.Task}, sh.Variants...)
	for k, r := range evaluateShard(ctx, f.evaluators, &sh) {
		t := &tasks[k]
		if r.err != nil {
			metricFailedItems.Inc(ctx, 1)
			progressOf(t.RunID).failed.Add(1)
			emit(t.Name, EvalCounts{Err: failText(shardError("evaluation", &sh, r.err)), ErrShard: int64(sh.Start)})
			continue
		}
		metricEvalImages.Inc(ctx, r.counts.Samples)
		progressOf(t.RunID).done(SplitEvaluation, int64(sh.End-sh.Start))
		emit(t.Name, r.counts)
		for i, l := range r.layers {
			if l == nil {
				continue
			}
			p := LayerPart{Model: t.Name, Index: i, RangeOf: l.RangeOf}
			var err error
			if l.Err != nil {
				p.Err = failText(l.Err)
			} else if p.Stats, err = json.Marshal(l.Stats); err != nil {
				p.Err = failText(err)
			} else if p.Local, err = json.Marshal(l.Local); err != nil {
				p.Err = failText(err)
			}
			emitLayer(t.Name+"\x00"+l.Stats.Tensor, p)
		}
	}
}

// maxEvaluators bounds the Evaluators one evaluateFn instance keeps.
const maxEvaluators = 4

// evaluatorCache keeps the most recently used Evaluators of one DoFn
// instance, by model and quantized file; the oldest is dropped beyond max.
type evaluatorCache struct {
	max   int
	keys  []string
	evals map[string]*variantEvaluator
}

func newEvaluatorCache(max int) *evaluatorCache {
	return &evaluatorCache{max: max, evals: map[string]*variantEvaluator{}}
}

func (c *evaluatorCache) get(key string, open func() (*variantEvaluator, error)) (*variantEvaluator, error) {
	if e, ok := c.evals[key]; ok {
		return e, nil
	}
	e, err := open()
	if err != nil {
		return nil, err
	}
	if len(c.keys) >= c.max {
		delete(c.evals, c.keys[0])
		c.keys = c.keys[1:]
	}
	c.keys = append(c.keys, key)
	c.evals[key] = e
	return e, nil
}

// shardResult is one task's outcome of an evaluation work item.
type shardResult struct {
	counts EvalCounts
	layers []*evaluate.Layer
	err    error
}

// variantEvaluator is an Evaluator over the variants of a work item that
// could be opened, and the error of each variant that could not.
type variantEvaluator struct {
	ev      *evaluate.Evaluator
	version []int   // the Evaluator's version of each task, -1 for none
	errs    []error // why a task has no version
}

// openEvaluator compiles (once per process) and wires up the float
// program of the first task and the int8 and QDQ programs of every task.
// A task's error is the first of: its float model, its quantized
// programs, its settings, its program inputs and outputs (in the order a
// single task checked them).
//
// The float program is the one the variants were calibrated on
// (calibProgram): for --cle variants (grouped apart from the others by
// their calibration name) the equalized model, whose tensors between
// equalized layers are scaled per channel as the int8 model's are, so that
// the per-layer statistics compare like with like; its outputs equal the
// original model's up to float32 rounding.
func openEvaluator(ctx context.Context, tasks []ModelTask) (*variantEvaluator, error) {
	fp, err := calibProgram(ctx, &tasks[0])
	if err != nil {
		return nil, err
	}
	cfg, cfgErr := evalConfig(&tasks[0])
	if cfgErr != nil {
		cfgErr = fmt.Errorf("float model: %w", cfgErr)
	}
	ve := &variantEvaluator{version: make([]int, len(tasks)), errs: make([]error, len(tasks))}
	var qs []evaluate.Quantized
	for k := range tasks {
		t := &tasks[k]
		ve.version[k] = -1
		q, err := quantizedVersion(ctx, t)
		if err == nil {
			err = cfgErr
		}
		if err != nil {
			ve.errs[k] = err
			continue
		}
		ve.version[k] = len(qs)
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return ve, nil
	}
	if ve.ev, err = evaluate.New(cfg, fp, qs...); err != nil {
		for k, v := range ve.version {
			if v >= 0 {
				ve.version[k], ve.errs[k] = -1, err
			}
		}
	}
	return ve, nil
}

// quantizedVersion is a task's quantized model as evaluate runs it.
func quantizedVersion(ctx context.Context, t *ModelTask) (evaluate.Quantized, error) {
	ip, err := int8Program(ctx, t)
	if err != nil {
		return evaluate.Quantized{}, err
	}
	qp, err := qdqProgram(ctx, t)
	if err != nil {
		return evaluate.Quantized{}, err
	}
	acts, err := int8Activations(ctx, t)
	if err != nil {
		return evaluate.Quantized{}, err
	}
	return evaluate.Quantized{Int8: ip, QDQ: qp, Acts: acts}, nil
}

// evaluateShard evaluates a work item for its task and each of its
// variants (results in that order).
func evaluateShard(ctx context.Context, cache *evaluatorCache, sh *Shard) []shardResult {
	tasks := append([]ModelTask{sh.Task}, sh.Variants...)
	out := make([]shardResult, len(tasks))
	fail := func(err error) []shardResult {
		for k := range out {
			out[k].err = err
		}
		return out
	}
	if sh.Err != "" {
		return fail(failErr(sh.Err))
	}
	t := &tasks[0]
	data, err := split(ctx, t, sh.Split)
	if err != nil {
		return fail(err)
	}
	if sh.Start < 0 || sh.End > data.len() || sh.Start > sh.End {
		return fail(fmt.Errorf("samples [%d,%d) out of range [0,%d)", sh.Start, sh.End, data.len()))
	}
	key := t.RunID + "\x00" + modelKey(t)
	for k := range tasks {
		key += "\x00" + tasks[k].OutURL + "\x00" + tasks[k].Int8Key
	}
	ve, err := cache.get(key, func() (*variantEvaluator, error) { return openEvaluator(ctx, tasks) })
	if err != nil {
		return fail(err)
	}
	var bad []byte
	if sh.Start == 0 && len(data.bad) > 0 {
		if bad, err = json.Marshal(data.bad); err != nil {
			return fail(err)
		}
	}
	var res []evaluate.Result
	if ve.ev != nil {
		ve.ev.OnInt8Batch = func(d time.Duration) { metricInt8BatchUS.Update(ctx, d.Microseconds()) }
		if res, err = ve.ev.Run(data, data.labels, evaluate.Range(sh.Start, sh.End)); err != nil {
			return fail(err)
		}
	}
	for k := range tasks {
		v := ve.version[k]
		switch {
		case v < 0:
			out[k].err = ve.errs[k]
			continue
		case res[v].Err != nil:
			out[k].err = res[v].Err
			continue
		}
		if bad != nil {
			metricBadSamples.Inc(ctx, int64(len(data.bad)))
		}
		out[k].counts, out[k].layers = res[v].Counts, res[v].Layers
		out[k].counts.Bad = bad
	}
	return out
}

// planVariantShardsFn plans the evaluation work items of the sweep
// variants of one model (keyed by ModelTask.CalibName): variants that
// share the float model, the evaluation samples and the evaluation
// settings share work items (Shard.Variants), so that the float program
// runs once per batch for all of them; the first by name carries the
// work item.
type planVariantShardsFn struct{}

func (f *planVariantShardsFn) ProcessElement(ctx context.Context, _ string, iter func(*ModelTask) bool, emit func(Shard)) {
	var tasks []ModelTask
	var t ModelTask
	for iter(&t) {
		tasks = append(tasks, t)
	}
	slices.SortFunc(tasks, func(a, b ModelTask) int { return cmp.Compare(a.Name, b.Name) })
	var groups [][]ModelTask
	keys := map[string]int{}
	for _, t := range tasks {
		k := sharedEvalKey(&t)
		g, ok := keys[k]
		if !ok {
			g = len(groups)
			keys[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], t)
	}
	for _, g := range groups {
		head, rest := g[0], g[1:]
		planShards(ctx, &head, SplitEvaluation, nil, func(sh Shard) {
			if sh.Err == "" && sh.Start == 0 {
				// planShards counted the head's samples; count the variants'.
				if n, err := evalSampleCount(ctx, &head); err == nil {
					progressOf(head.RunID).planned(SplitEvaluation, int64(n*len(rest)))
				}
			}
			sh.Variants = rest
			emit(sh)
		})
	}
}

// evalSampleCount is the number of evaluation samples planShards plans.
func evalSampleCount(ctx context.Context, t *ModelTask) (int, error) {
	data, err := split(ctx, t, SplitEvaluation)
	if err != nil {
		return 0, err
	}
	n := data.len()
	if t.EvalSamples > 0 && t.EvalSamples < n {
		n = t.EvalSamples
	}
	return n, nil
}

// sharedEvalKey is what tasks must have in common to share evaluation work
// items: the float model, the evaluation samples and every setting the
// float run and the batching depend on.
func sharedEvalKey(t *ModelTask) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%t",
		modelKey(t), splitKey(t, SplitEvaluation), t.EvalSamples, t.ShardSize, t.Input, t.Output, t.Preprocess,
		t.BatchSize, t.Classes, t.LabelOffset, t.MeasureSpeed)
}

// sumCountsFn adds evaluation tallies; the error of the lowest failing shard
// wins.
type sumCountsFn struct{}

func (f *sumCountsFn) MergeAccumulators(a, b EvalCounts) EvalCounts {
	return evaluate.Merge(a, b)
}

// mergeLayersFn merges one tensor's statistics exactly (LayerStats.Merge);
// the first error in a fixed order wins.
type mergeLayersFn struct{}

func (f *mergeLayersFn) MergeAccumulators(a, b LayerPart) LayerPart {
	out := LayerPart{Model: cmp.Or(a.Model, b.Model), Index: min(a.Index, b.Index), RangeOf: cmp.Or(a.RangeOf, b.RangeOf)}
	if a.Err != "" || b.Err != "" {
		out.Err = a.Err
		if out.Err == "" || b.Err != "" && b.Err < out.Err {
			out.Err = b.Err
		}
		return out
	}
	var err error
	if out.Stats, err = mergeStatsJSON(a.Stats, b.Stats); err == nil {
		out.Local, err = mergeStatsJSON(a.Local, b.Local)
	}
	if err != nil {
		out.Err = failText(err)
	}
	return out
}

// mergeStatsJSON merges two JSON-encoded report.LayerStats.
func mergeStatsJSON(a, b []byte) ([]byte, error) {
	var x, y report.LayerStats
	if err := json.Unmarshal(a, &x); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return nil, err
	}
	if err := x.Merge(&y); err != nil {
		return nil, err
	}
	return json.Marshal(&x)
}

func layerByModel(_ string, p LayerPart) (string, LayerPart) { return p.Model, p }

type finishFn struct{}

func (f *finishFn) ProcessElement(name string, taskIter func(*ModelTask) bool, countIter func(*EvalCounts) bool, layerIter func(*LayerPart) bool, emit func(Row)) {
	var t ModelTask
	if !taskIter(&t) {
		return
	}
	var c EvalCounts
	if !countIter(&c) {
		emit(failureRow(&t, "evaluate", failure.Errorf(failure.BadData, "the evaluation split produced no samples")))
		return
	}
	if c.Err != "" {
		emit(failureRow(&t, "evaluate", failErr(c.Err)))
		return
	}
	var parts []LayerPart
	var p LayerPart
	for layerIter(&p) {
		parts = append(parts, p)
	}
	layers, rangeOf := layerResults(parts)
	var cs []string
	if len(layers) > 0 {
		cs = evaluate.Culprits(layers, rangeOf)
	}
	emit(okRow(&t, &c, layers, cs))
}

// layerResults decodes the merged per-tensor statistics and turns them
// into report layers in graph order (evaluate.Results); tensors whose
// statistics failed are left out.
func layerResults(parts []LayerPart) ([]report.Layer, map[string]string) {
	var merged []evaluate.Merged
	for _, p := range parts {
		if p.Err != "" {
			continue
		}
		m := evaluate.Merged{Index: p.Index, RangeOf: p.RangeOf, Stats: &report.LayerStats{}, Local: &report.LayerStats{}}
		if err := json.Unmarshal(p.Stats, m.Stats); err != nil {
			continue
		}
		if json.Unmarshal(p.Local, m.Local) != nil {
			m.Local = nil
		}
		merged = append(merged, m)
	}
	return evaluate.Results(merged)
}

// Evaluate runs every evaluation shard through the float and the int8
// program of its model (the sweep variants of a model share their shards
// and the float run, see planVariantShardsFn), sums the tallies and merges
// the per-layer error statistics per model (a combine per model and
// tensor), and turns each model into a report row.
func Evaluate(s beam.Scope, quantized beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.Evaluate")
	shards := beam.ParDo(s, &planVariantShardsFn{}, beam.GroupByKey(s, beam.ParDo(s, keyByCalibName, quantized)))
	var partials, layerPartials []beam.PCollection
	for _, branch := range FanOut(s, shards, fanOutWays()) {
		p, l := beam.ParDo2(s, &evaluateFn{}, branch)
		partials, layerPartials = append(partials, p), append(layerPartials, l)
	}
	partial, layerParts := beam.Flatten(s, partials...), beam.Flatten(s, layerPartials...)
	counts := beam.CombinePerKey(s, &sumCountsFn{}, partial)
	layers := beam.ParDo(s, layerByModel, beam.CombinePerKey(s, &mergeLayersFn{}, layerParts))
	joined := beam.CoGroupByKey(s, beam.ParDo(s, keyByName, quantized), counts, layers)
	return beam.ParDo(s, &finishFn{}, joined)
}

// int8MACShare is the report's integer MAC share, nil without MACs.
func int8MACShare(c *EvalCounts) *float64 {
	if c.MACs <= 0 {
		return nil
	}
	return new(infer.Stats{IntegerMACs: c.IntegerMACs, FloatMACs: c.MACs - c.IntegerMACs}.MACShare())
}
