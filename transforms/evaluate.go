package transforms

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/tensor"
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

// evaluateFn runs one evaluation shard through the float program, the
// integer int8 program (accuracy, agreement, MACs) and, for the per-layer
// statistics, the int8 model compiled with float QDQ semantics: the integer
// program fuses Q/DQ pairs into integer steps and never materializes the
// dequantized activations, while the QDQ program computes every
// DequantizeLinear output explicitly. The per-layer numbers therefore
// compare the float model with the QDQ simulation of the int8 model (the
// one ONNX Runtime's reference semantics define); the accuracy figures come
// from the integer program.
type evaluateFn struct{}

func (f *evaluateFn) ProcessElement(ctx context.Context, sh Shard, emit func(string, EvalCounts), emitLayer func(string, LayerPart)) {
	c, layers, err := evaluateShard(ctx, &sh)
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

// shardLayer is one tensor's statistics over a shard (against the int8
// model and against the tensor's own quantization, see LayerPart); Err is
// the first error adding to them.
type shardLayer struct {
	Stats, Local *report.LayerStats
	RangeOf      string
	Err          error
}

func evaluateShard(ctx context.Context, sh *Shard) (EvalCounts, []*shardLayer, error) {
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
	fp, err := floatProgram(ctx, t)
	if err != nil {
		return c, nil, err
	}
	ip, err := int8Program(ctx, t)
	if err != nil {
		return c, nil, err
	}
	qp, err := qdqProgram(ctx, t)
	if err != nil {
		return c, nil, err
	}
	acts, err := int8Activations(ctx, t)
	if err != nil {
		return c, nil, err
	}
	bt, err := newBatcher(fp, t)
	if err != nil {
		return c, nil, fmt.Errorf("float model: %w", err)
	}
	ibt, err := newBatcher(ip, t)
	if err != nil {
		return c, nil, fmt.Errorf("int8 model: %w", err)
	}
	if sh.Start == 0 && len(data.bad) > 0 {
		metricBadSamples.Inc(ctx, int64(len(data.bad)))
		if c.Bad, err = json.Marshal(data.bad); err != nil {
			return c, nil, err
		}
	}
	if t.Classes > 0 {
		c.ClassSamples = make([]int64, t.Classes)
		c.ClassFloat = make([]int64, t.Classes)
		c.ClassInt8 = make([]int64, t.Classes)
	}
	byFloat := map[string]int{}
	byDQ := map[string]int{}
	for i, a := range acts {
		byFloat[a.Float] = i
		byDQ[a.Dequantized] = i
	}
	layers := make([]*shardLayer, len(acts))
	idx := make([]int, sh.End-sh.Start)
	for i := range idx {
		idx[i] = sh.Start + i
	}
	err = bt.each(data, idx, func(batch []int, feeds map[string]*tensor.Tensor) error {
		n := len(batch)
		floats := make([][]float32, len(acts))
		fres, err := fp.RunObserved(feeds, func(name string, v *tensor.Tensor) {
			if i, ok := byFloat[name]; ok && floats[i] == nil {
				floats[i] = slices.Clone(v.F32) // the program reuses its buffers
			}
		})
		if err != nil {
			return fmt.Errorf("float model: %w", err)
		}
		fs, err := bt.scores(fres, n)
		if err != nil {
			return fmt.Errorf("float model: %w", err)
		}
		if t.MeasureSpeed {
			// A plain float run (the observed one above copies activations).
			t0 := time.Now()
			if _, err := fp.Run(feeds); err != nil {
				return fmt.Errorf("float model: %w", err)
			}
			c.FloatNanos += int64(time.Since(t0))
		}
		t0 := time.Now()
		ires, err := ip.Run(feeds)
		if err != nil {
			return fmt.Errorf("int8 model: %w", err)
		}
		metricInt8BatchUS.Update(ctx, time.Since(t0).Microseconds())
		if t.MeasureSpeed {
			c.Int8Nanos += int64(time.Since(t0))
			c.TimedSamples += int64(n)
		}
		st := ip.Stats()
		c.MACs, c.IntegerMACs = max(c.MACs, st.IntegerMACs+st.FloatMACs), max(c.IntegerMACs, st.IntegerMACs)
		is, err := ibt.scores(ires, n)
		if err != nil {
			return fmt.Errorf("int8 model: %w", err)
		}
		for i, j := range batch {
			c.add(t, data.labels[j], fs[i], is[i])
		}
		if len(acts) == 0 {
			return nil
		}
		seen := make([]bool, len(acts))
		_, err = qp.RunObserved(feeds, func(name string, v *tensor.Tensor) {
			i, ok := byDQ[name]
			if !ok || seen[i] || floats[i] == nil {
				return
			}
			seen[i] = true
			addLayer(layers, i, acts[i], floats[i], v.F32, n)
		})
		if err != nil {
			return fmt.Errorf("int8 model (QDQ semantics): %w", err)
		}
		return nil
	})
	return c, layers, err
}

// addLayer adds one batch of tensor i, sample by sample so that the sums do
// not depend on how samples were batched.
func addLayer(layers []*shardLayer, i int, a quantize.Activation, x, y []float32, n int) {
	l := layers[i]
	if l == nil {
		l = &shardLayer{Stats: report.NewLayerStats(a.Float, a.Op), Local: report.NewLayerStats(a.Float, a.Op), RangeOf: a.RangeOf}
		layers[i] = l
	}
	if l.Err != nil {
		return
	}
	if len(x) != len(y) {
		l.Err = fmt.Errorf("layer %s: %d float values, %d int8 values", a.Float, len(x), len(y))
		return
	}
	per := len(x)
	if n > 0 && len(x)%n == 0 {
		per = len(x) / n
	}
	fq := make([]float32, per)
	for s := 0; s+per <= len(x) && per > 0; s += per {
		xs := x[s : s+per]
		if err := l.Stats.Add(xs, y[s:s+per], a.Scale, a.ZeroPoint, a.QMin, a.QMax); err != nil {
			l.Err = err
			return
		}
		for j, v := range xs {
			fq[j] = fakeQuant(v, a)
		}
		if err := l.Local.Add(xs, fq, a.Scale, a.ZeroPoint, a.QMin, a.QMax); err != nil {
			l.Err = err
			return
		}
	}
}

// fakeQuant is DequantizeLinear(QuantizeLinear(x)) with the activation's
// parameters: round half to even, saturate, scale back (float32 as ONNX).
func fakeQuant(x float32, a quantize.Activation) float32 {
	if a.Scale == 0 || math.IsNaN(float64(x)) {
		return x
	}
	q := math.RoundToEven(float64(x/a.Scale)) + float64(a.ZeroPoint)
	q = min(max(q, float64(a.QMin)), float64(a.QMax))
	return float32(int32(q)-a.ZeroPoint) * a.Scale
}

// add tallies one sample: label in the dataset's label space, fs and is
// the float and int8 scores.
func (c *EvalCounts) add(t *ModelTask, label int, fs, is []float32) {
	fpred := tensor.ArgMax(fs) - t.LabelOffset
	ipred := tensor.ArgMax(is) - t.LabelOffset
	fok, iok := fpred == label, ipred == label
	c.Samples++
	if fok {
		c.FloatCorrect++
	}
	if iok {
		c.Int8Correct++
	}
	if fpred == ipred {
		c.Agree++
	}
	if fok && !iok {
		c.FloatOnly++
	}
	if iok && !fok {
		c.Int8Only++
	}
	if t.Classes >= 5 {
		c.Top5Samples++
		if inTop5(fs, label+t.LabelOffset) {
			c.FloatTop5++
		}
		if inTop5(is, label+t.LabelOffset) {
			c.Int8Top5++
		}
	}
	if label >= 0 && label < len(c.ClassSamples) {
		c.ClassSamples[label]++
		if fok {
			c.ClassFloat[label]++
		}
		if iok {
			c.ClassInt8[label]++
		}
	}
}

// inTop5 reports whether class k is among the five highest scores, ties
// going to the lower index (as tensor.ArgMax breaks them).
func inTop5(s []float32, k int) bool {
	if k < 0 || k >= len(s) {
		return false
	}
	above := 0
	for j, v := range s {
		if v > s[k] || v == s[k] && j < k {
			above++
			if above >= 5 {
				return false
			}
		}
	}
	return true
}

// sumCountsFn adds evaluation tallies; the error of the lowest failing shard
// wins.
type sumCountsFn struct{}

func addSlices(a, b []int64) []int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make([]int64, max(len(a), len(b)))
	for i, v := range a {
		out[i] += v
	}
	for i, v := range b {
		out[i] += v
	}
	return out
}

func (f *sumCountsFn) MergeAccumulators(a, b EvalCounts) EvalCounts {
	out := EvalCounts{
		Samples:      a.Samples + b.Samples,
		FloatCorrect: a.FloatCorrect + b.FloatCorrect,
		Int8Correct:  a.Int8Correct + b.Int8Correct,
		Agree:        a.Agree + b.Agree,
		FloatOnly:    a.FloatOnly + b.FloatOnly,
		Int8Only:     a.Int8Only + b.Int8Only,
		Top5Samples:  a.Top5Samples + b.Top5Samples,
		FloatTop5:    a.FloatTop5 + b.FloatTop5,
		Int8Top5:     a.Int8Top5 + b.Int8Top5,
		ClassSamples: addSlices(a.ClassSamples, b.ClassSamples),
		ClassFloat:   addSlices(a.ClassFloat, b.ClassFloat),
		ClassInt8:    addSlices(a.ClassInt8, b.ClassInt8),
		MACs:         max(a.MACs, b.MACs),
		IntegerMACs:  max(a.IntegerMACs, b.IntegerMACs),
		Bad:          a.Bad,
		FloatNanos:   a.FloatNanos + b.FloatNanos,
		Int8Nanos:    a.Int8Nanos + b.Int8Nanos,
		TimedSamples: a.TimedSamples + b.TimedSamples,
	}
	if len(b.Bad) > 0 && (len(out.Bad) == 0 || string(b.Bad) < string(out.Bad)) {
		out.Bad = b.Bad // only one shard sends them; the choice is order-free anyway
	}
	switch {
	case a.Err != "" && (b.Err == "" || a.ErrShard < b.ErrShard || a.ErrShard == b.ErrShard && a.Err <= b.Err):
		out.Err, out.ErrShard = a.Err, a.ErrShard
	case b.Err != "":
		out.Err, out.ErrShard = b.Err, b.ErrShard
	}
	return out
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
		cs = culprits(layers, rangeOf)
	}
	emit(okRow(&t, &c, layers, cs))
}

// layerResults turns the merged per-tensor statistics into report layers in
// graph order, with each layer's local SQNR (the error of its own
// quantization); tensors whose statistics failed are left out.
func layerResults(parts []LayerPart) ([]report.Layer, map[string]string) {
	slices.SortFunc(parts, func(a, b LayerPart) int { return cmp.Compare(a.Index, b.Index) })
	var out []report.Layer
	rangeOf := map[string]string{}
	for _, p := range parts {
		if p.Err != "" {
			continue
		}
		var s, loc report.LayerStats
		if err := json.Unmarshal(p.Stats, &s); err != nil {
			continue
		}
		l := s.Result()
		if json.Unmarshal(p.Local, &loc) == nil {
			lr := loc.Result()
			l.LocalSQNRDB, l.LocalExact = lr.SQNRDB, lr.Exact
		}
		rangeOf[l.Tensor] = cmp.Or(p.RangeOf, l.Tensor)
		out = append(out, l)
	}
	return out, rangeOf
}

// culprits ranks the calibrated ranges by local SQNR (report.RankCulprits
// over the local figures): the error a tensor's own range adds, not the
// error it inherits from the layers above, which grows downstream of a bad
// layer and would blame its readers. A pass-through tensor (MaxPool,
// Flatten, ...) reuses its input's range, so its local error counts
// against the tensor that range belongs to (the lowest local SQNR of the
// group stands for it).
func culprits(layers []report.Layer, rangeOf map[string]string) []string {
	groups := map[string]*report.Layer{}
	var order []string
	for _, l := range layers {
		root := cmp.Or(rangeOf[l.Tensor], l.Tensor)
		g := groups[root]
		if g == nil {
			g = &report.Layer{Tensor: root, Exact: true}
			groups[root] = g
			order = append(order, root)
		}
		g.Values += l.Values
		switch {
		case l.LocalSQNRDB != nil:
			if g.SQNRDB == nil || *l.LocalSQNRDB < *g.SQNRDB {
				g.SQNRDB = l.LocalSQNRDB
			}
			g.Exact = false
		case !l.LocalExact:
			g.Exact = false
		}
	}
	local := make([]report.Layer, 0, len(order))
	for _, r := range order {
		local = append(local, *groups[r])
	}
	return report.RankCulprits(local)
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
