package transforms

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/evaluate"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/report"
)

func init() {
	register.DoFn4x0[context.Context, Shard, func(string, EvalCounts), func(string, LayerPart)](&evaluateFn{})
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
	c, layers, err := evaluateShard(ctx, f.evaluators, &sh)
	if err != nil {
		metricFailedItems.Inc(ctx, 1)
		progressOf(sh.Task.RunID).failed.Add(1)
		emit(sh.Task.Name, EvalCounts{Err: fmt.Sprintf("evaluation, %s: %v", shardLabel(&sh), err), ErrShard: int64(sh.Start)})
		return
	}
	metricEvalImages.Inc(ctx, c.Samples)
	progressOf(sh.Task.RunID).done(SplitEvaluation, int64(sh.End-sh.Start))
	emit(sh.Task.Name, c)
	for i, l := range layers {
		if l == nil {
			continue
		}
		p := LayerPart{Model: sh.Task.Name, Index: i, RangeOf: l.RangeOf}
		if l.Err != nil {
			p.Err = l.Err.Error()
		} else if p.Stats, err = json.Marshal(l.Stats); err != nil {
			p.Err = err.Error()
		} else if p.Local, err = json.Marshal(l.Local); err != nil {
			p.Err = err.Error()
		}
		emitLayer(sh.Task.Name+"\x00"+l.Stats.Tensor, p)
	}
}

// maxEvaluators bounds the Evaluators one evaluateFn instance keeps.
const maxEvaluators = 4

// evaluatorCache keeps the most recently used Evaluators of one DoFn
// instance, by model and quantized file; the oldest is dropped beyond max.
type evaluatorCache struct {
	max   int
	keys  []string
	evals map[string]*evaluate.Evaluator
}

func newEvaluatorCache(max int) *evaluatorCache {
	return &evaluatorCache{max: max, evals: map[string]*evaluate.Evaluator{}}
}

func (c *evaluatorCache) get(key string, open func() (*evaluate.Evaluator, error)) (*evaluate.Evaluator, error) {
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

// openEvaluator compiles (once per process) and wires up a task's float,
// int8 and QDQ programs.
func openEvaluator(ctx context.Context, t *ModelTask) (*evaluate.Evaluator, error) {
	fp, err := floatProgram(ctx, t)
	if err != nil {
		return nil, err
	}
	ip, err := int8Program(ctx, t)
	if err != nil {
		return nil, err
	}
	qp, err := qdqProgram(ctx, t)
	if err != nil {
		return nil, err
	}
	acts, err := int8Activations(ctx, t)
	if err != nil {
		return nil, err
	}
	cfg, err := evalConfig(t)
	if err != nil {
		return nil, fmt.Errorf("float model: %w", err)
	}
	e, err := evaluate.New(cfg, fp, evaluate.Quantized{Int8: ip, QDQ: qp, Acts: acts})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func evaluateShard(ctx context.Context, cache *evaluatorCache, sh *Shard) (EvalCounts, []*evaluate.Layer, error) {
	var c EvalCounts
	if sh.Err != "" {
		return c, nil, fmt.Errorf("%s", sh.Err)
	}
	t := &sh.Task
	data, err := split(ctx, t, sh.Split)
	if err != nil {
		return c, nil, err
	}
	if sh.Start < 0 || sh.End > data.len() || sh.Start > sh.End {
		return c, nil, fmt.Errorf("samples [%d,%d) out of range [0,%d)", sh.Start, sh.End, data.len())
	}
	key := t.RunID + "\x00" + modelKey(t) + "\x00" + t.OutURL + "\x00" + t.Int8Key
	ev, err := cache.get(key, func() (*evaluate.Evaluator, error) { return openEvaluator(ctx, t) })
	if err != nil {
		return c, nil, err
	}
	var bad []byte
	if sh.Start == 0 && len(data.bad) > 0 {
		metricBadSamples.Inc(ctx, int64(len(data.bad)))
		if bad, err = json.Marshal(data.bad); err != nil {
			return c, nil, err
		}
	}
	ev.OnInt8Batch = func(d time.Duration) { metricInt8BatchUS.Update(ctx, d.Microseconds()) }
	res, err := ev.Run(data, data.labels, evaluate.Range(sh.Start, sh.End))
	if err != nil {
		return c, nil, err
	}
	r := res[0]
	if r.Err != nil {
		return c, nil, r.Err
	}
	c = r.Counts
	c.Bad = bad
	return c, r.Layers, nil
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
		out.Err = err.Error()
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
		emit(failureRow(&t, "evaluate", fmt.Errorf("the evaluation split produced no samples")))
		return
	}
	if c.Err != "" {
		emit(failureRow(&t, "evaluate", fmt.Errorf("%s", c.Err)))
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
// program of its model, sums the tallies and merges the per-layer error
// statistics per model (a combine per model and tensor), and turns each
// model into a report row.
func Evaluate(s beam.Scope, quantized beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.Evaluate")
	shards := PlanShards(s, quantized, SplitEvaluation)
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
