package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/evaluate"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

func init() {
	register.DoFn3x0[context.Context, Shard, func(string, TensorStats)](&minMaxPassFn{})
	register.DoFn3x0[context.Context, Shard, func(string, TensorStats)](&histogramPassFn{})
	register.Emitter2[string, TensorStats]()
	register.Combiner1[TensorStats](&mergeStatsFn{})
	register.Function2x2[string, TensorStats, string, TensorStats](statsByModel)
	register.DoFn6x0[context.Context, string, func(*ModelTask) bool, func(*TensorStats) bool, func(Shard), func(string, CalibPart)](&secondPassFn{})
	register.Iter1[TensorStats]()
	register.Emitter2[string, CalibPart]()
	register.DoFn2x2[string, TensorStats, string, CalibPart](&chooseFn{})
	register.Combiner1[CalibPart](&mergePartsFn{})
	register.Function1x2[ModelTask, string, ModelTask](calibRepresentative)
	register.Combiner1[ModelTask](&sameTaskFn{})
	register.Function1x2[ModelTask, string, ModelTask](keyByCalibName)
	register.DoFn4x0[string, func(*ModelTask) bool, func(*RangeSet) bool, func(string, RangeSet)](&shareRangesFn{})
}

// calibRepresentative keys by calibration name the task that calibrates
// for t: t under that name, without what only its variant has (quantizer
// settings, result key), so that all variants of a model map to the same
// task.
func calibRepresentative(t ModelTask) (string, ModelTask) {
	if t.CalibName != "" {
		t.Name, t.CalibName = t.CalibName, ""
		t.Quantize, t.ResultKey, t.ResultInputs = QuantizeOptions{CLE: t.Quantize.CLE}, "", nil
	}
	return t.Name, t
}

// sameTaskFn keeps one of equal tasks.
type sameTaskFn struct{}

func (*sameTaskFn) MergeAccumulators(a, _ ModelTask) ModelTask { return a }

func keyByCalibName(t ModelTask) (string, ModelTask) {
	if t.CalibName != "" {
		return t.CalibName, t
	}
	return t.Name, t
}

// shareRangesFn gives the ranges calibrated under a name to every task
// that calibrates under it.
type shareRangesFn struct{}

func (*shareRangesFn) ProcessElement(_ string, taskIter func(*ModelTask) bool, rangeIter func(*RangeSet) bool, emit func(string, RangeSet)) {
	var rs RangeSet
	if !rangeIter(&rs) {
		return // no calibration samples: QuantizeModels reports it
	}
	var t ModelTask
	for taskIter(&t) {
		emit(t.Name, rs)
	}
}

// statsKey keys observer states by model and tensor.
func statsKey(model, tensor string) string { return model + "\x00" + tensor }

// observeShard runs a calibration shard through its model's float program,
// showing obs every float tensor, and returns the number of samples run.
//
// nonFinite reports whether the observers met a NaN or infinite value; when
// one did and allowNonFinite is off, the shard fails with the first such
// sample and tensor (firstNonFinite).
func observeShard(ctx context.Context, sh *Shard, obs func(string, *tensor.Tensor), nonFinite func() bool, allowNonFinite bool) (int64, []int64, error) {
	if sh.Err != "" {
		return 0, nil, failErr(sh.Err)
	}
	p, err := calibProgram(ctx, &sh.Task)
	if err != nil {
		return 0, nil, err
	}
	data, start, end, err := calibrationSamples(ctx, sh)
	if err != nil {
		return 0, nil, err
	}
	metricCalibImages.Inc(ctx, int64(end-start))
	defer progressOf(sh.Task.RunID).done(SplitCalibration, int64(sh.End-sh.Start))
	if _, err := predict(p, &sh.Task, data, start, end, obs); err != nil {
		return 0, nil, err
	}
	if !allowNonFinite && nonFinite() {
		return 0, nil, firstNonFinite(p, &sh.Task, data, start, end)
	}
	return int64(end - start), classCounts(data.labels[start:end]), nil
}

// classCounts counts labels: element k is how many are k.
func classCounts(labels []int) []int64 {
	var out []int64
	for _, l := range labels {
		if l < 0 {
			continue
		}
		for len(out) <= l {
			out = append(out, 0)
		}
		out[l]++
	}
	return out
}

// countNonFinite is calibrate.CountNonFinite.
var countNonFinite = calibrate.CountNonFinite

// firstNonFinite runs the samples [start, end) one at a time and returns
// the calibrate.NonFiniteError of the first sample whose run gives a tensor
// NaN or infinite values, naming the first such tensor in execution (graph)
// order.
func firstNonFinite(p *infer.Program, t *ModelTask, data *labeledImages, start, end int) error {
	for i := start; i < end; i++ {
		var first calibrate.NonFiniteCount
		if _, err := predict(p, t, data, i, i+1, func(name string, x *tensor.Tensor) {
			if first.Tensor == "" {
				if n := countNonFinite(x); n > 0 {
					first = calibrate.NonFiniteCount{Tensor: name, NonFinite: n, Finite: int64(x.Len()) - n}
				}
			}
		}); err != nil {
			return err
		}
		if first.Tensor != "" {
			return fmt.Errorf("%w (--allow-nonfinite calibrates on the finite values)", &calibrate.NonFiniteError{NonFiniteCount: first, Sample: data.id(i)})
		}
	}
	return failure.Errorf(failure.NonFinite, "NaN or infinite activations that no single sample reproduces (--allow-nonfinite calibrates on the finite values)")
}

func shardFailure(ctx context.Context, sh *Shard, err error) TensorStats {
	metricFailedItems.Inc(ctx, 1)
	progressOf(sh.Task.RunID).failed.Add(1)
	return TensorStats{Model: sh.Task.Name, Err: failText(shardError("calibration", sh, err)), ErrShard: int64(sh.Start)}
}

// minMaxPassFn is the first pass: min/max of every float tensor of a shard,
// one state per (model, tensor), plus the shard's sample count.
type minMaxPassFn struct {
	AllowNonFinite bool
}

func (f *minMaxPassFn) ProcessElement(ctx context.Context, sh Shard, emit func(string, TensorStats)) {
	r := calibrate.NewRanges()
	n, perClass, err := observeShard(ctx, &sh, r.Observe, func() bool { return len(r.NonFinite()) > 0 }, f.AllowNonFinite)
	if err != nil {
		emit(statsKey(sh.Task.Name, ""), shardFailure(ctx, &sh, err))
		return
	}
	for _, name := range r.Names() {
		b, err := json.Marshal(r.Get(name))
		if err != nil {
			emit(statsKey(sh.Task.Name, ""), shardFailure(ctx, &sh, err))
			return
		}
		emit(statsKey(sh.Task.Name, name), TensorStats{Model: sh.Task.Name, Tensor: name, State: b})
	}
	emit(statsKey(sh.Task.Name, ""), TensorStats{Model: sh.Task.Name, Samples: n, PerClass: perClass})
}

// histogramPassFn is the second pass: a histogram of every float tensor of
// a shard laid over the first pass's range of that tensor.
type histogramPassFn struct {
	Opt calibrate.Options
}

func (f *histogramPassFn) ProcessElement(ctx context.Context, sh Shard, emit func(string, TensorStats)) {
	fail := func(err error) { emit(statsKey(sh.Task.Name, ""), shardFailure(ctx, &sh, err)) }
	p1, err := decodeRanges(sh.Pass1)
	if err != nil {
		fail(err)
		return
	}
	hs, err := calibrate.NewHistograms(p1, f.Opt)
	if err != nil {
		fail(err)
		return
	}
	n, perClass, err := observeShard(ctx, &sh, hs.Observe, func() bool { return len(hs.NonFinite()) > 0 }, f.Opt.AllowNonFinite)
	if err != nil {
		fail(err)
		return
	}
	for _, name := range hs.Names() {
		b, err := json.Marshal(hs.Get(name))
		if err != nil {
			fail(err)
			return
		}
		emit(statsKey(sh.Task.Name, name), TensorStats{Model: sh.Task.Name, Tensor: name, State: b})
	}
	emit(statsKey(sh.Task.Name, ""), TensorStats{Model: sh.Task.Name, Samples: n, PerClass: perClass})
}

// mergeStatsFn combines the observer states of one (model, tensor): exact
// min/max or histogram merges, sample counts add, and the error of the
// lowest failing shard wins.
type mergeStatsFn struct {
	Histogram bool
}

func (f *mergeStatsFn) MergeAccumulators(a, b TensorStats) (TensorStats, error) {
	out := TensorStats{Model: a.Model, Tensor: a.Tensor, Samples: a.Samples + b.Samples, PerClass: evaluate.AddSlices(a.PerClass, b.PerClass)}
	out.Err, out.ErrShard = firstError(a.Err, a.ErrShard, b.Err, b.ErrShard)
	switch {
	case len(a.State) == 0:
		out.State = b.State
	case len(b.State) == 0:
		out.State = a.State
	case f.Histogram:
		var ha, hb calibrate.Histogram
		if err := json.Unmarshal(a.State, &ha); err != nil {
			return out, err
		}
		if err := json.Unmarshal(b.State, &hb); err != nil {
			return out, err
		}
		if err := ha.Merge(&hb); err != nil {
			return out, fmt.Errorf("model %s, tensor %q: %w", a.Model, a.Tensor, err)
		}
		s, err := json.Marshal(&ha)
		if err != nil {
			return out, err
		}
		out.State = s
	default:
		var ma, mb calibrate.MinMax
		if err := json.Unmarshal(a.State, &ma); err != nil {
			return out, err
		}
		if err := json.Unmarshal(b.State, &mb); err != nil {
			return out, err
		}
		ma.Merge(&mb)
		s, err := json.Marshal(&ma)
		if err != nil {
			return out, err
		}
		out.State = s
	}
	return out, nil
}

// firstError picks the error of the lowest failing shard (ties: the
// smallest message), so that the choice does not depend on merge order.
func firstError(ea string, sa int64, eb string, sb int64) (string, int64) {
	switch {
	case ea != "" && (eb == "" || sa < sb || sa == sb && ea <= eb):
		return ea, sa
	case eb != "":
		return eb, sb
	}
	return "", 0
}

func statsByModel(_ string, v TensorStats) (string, TensorStats) { return v.Model, v }

// secondPassFn joins a model with its first-pass states and plans the
// second pass's shards, each carrying the first-pass ranges; a failed first
// pass becomes the model's calibration failure.
type secondPassFn struct{}

func (f *secondPassFn) ProcessElement(ctx context.Context, name string, taskIter func(*ModelTask) bool, statsIter func(*TensorStats) bool, emit func(Shard), failed func(string, CalibPart)) {
	var t ModelTask
	if !taskIter(&t) {
		return
	}
	ranges := calibrate.NewRanges()
	var errMsg string
	var errShard int64
	seen := false
	var st TensorStats
	for statsIter(&st) {
		seen = true
		if st.Tensor == "" {
			errMsg, errShard = firstError(errMsg, errShard, st.Err, st.ErrShard)
			continue
		}
		var m calibrate.MinMax
		if err := json.Unmarshal(st.State, &m); err != nil {
			errMsg, errShard = firstError(errMsg, errShard, failText(fmt.Errorf("calibration: %w", err)), -1)
			continue
		}
		ranges.MergeTensor(st.Tensor, &m)
	}
	if !seen {
		return // no calibration samples: QuantizeModels reports it
	}
	if errMsg != "" {
		failed(name, CalibPart{Err: errMsg, ErrShard: errShard})
		return
	}
	js, err := ranges.MarshalJSON()
	if err != nil {
		failed(name, CalibPart{Err: failText(fmt.Errorf("calibration: %w", err))})
		return
	}
	planShards(ctx, &t, SplitCalibration, js, emit)
}

// chooseFn turns a tensor's combined state into its chosen range.
type chooseFn struct {
	Opt       calibrate.Options
	Histogram bool
}

func (f *chooseFn) ProcessElement(_ string, st TensorStats) (string, CalibPart) {
	if st.Tensor == "" {
		return st.Model, CalibPart{Samples: st.Samples, PerClass: st.PerClass, Err: st.Err, ErrShard: st.ErrShard}
	}
	fail := func(err error) (string, CalibPart) {
		return st.Model, CalibPart{Err: failText(fmt.Errorf("calibration, tensor %q: %w", st.Tensor, err)), ErrShard: -1}
	}
	var r calibrate.TensorResult
	if f.Histogram {
		var h calibrate.Histogram
		if err := json.Unmarshal(st.State, &h); err != nil {
			return fail(err)
		}
		r = calibrate.FromHistogram(st.Tensor, &h, f.Opt)
	} else {
		var m calibrate.MinMax
		if err := json.Unmarshal(st.State, &m); err != nil {
			return fail(err)
		}
		r = calibrate.FromMinMax(st.Tensor, &m)
	}
	b, err := json.Marshal([]calibrate.TensorResult{r})
	if err != nil {
		return fail(err)
	}
	return st.Model, CalibPart{Tensors: b}
}

// mergePartsFn assembles a model's table from its tensors' results.
type mergePartsFn struct{}

func (f *mergePartsFn) MergeAccumulators(a, b CalibPart) (CalibPart, error) {
	out := CalibPart{Samples: a.Samples + b.Samples, PerClass: evaluate.AddSlices(a.PerClass, b.PerClass)}
	out.Err, out.ErrShard = firstError(a.Err, a.ErrShard, b.Err, b.ErrShard)
	var ta, tb []calibrate.TensorResult
	if len(a.Tensors) > 0 {
		if err := json.Unmarshal(a.Tensors, &ta); err != nil {
			return out, err
		}
	}
	if len(b.Tensors) > 0 {
		if err := json.Unmarshal(b.Tensors, &tb); err != nil {
			return out, err
		}
	}
	all := append(ta, tb...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	if len(all) > 0 {
		js, err := json.Marshal(all)
		if err != nil {
			return out, err
		}
		out.Tensors = js
	}
	return out, nil
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

// CalibOptions configures Calibrate.
type CalibOptions struct {
	// Calibrate chooses the ranges; the zero value is min/max.
	Calibrate calibrate.Options
	// Recalibrate ignores range files of earlier runs.
	Recalibrate bool
}

// Calibrate measures the activation ranges of every model with min/max
// (see CalibrateWith).
func Calibrate(s beam.Scope, tasks beam.PCollection) beam.PCollection {
	return CalibrateWith(s, tasks, CalibOptions{})
}

// CalibrateWith measures the activation ranges of every model on its
// calibration split and writes them to calibration/<model>.json under the
// output folder. The result, keyed by model name, is a RangeSet holding the
// range file.
//
// A model whose range file from an earlier run matches its cache key (model
// digest, calibration split digest, preprocessing and settings) reuses it
// without running a sample. The others run in work items of (model, shard):
// the first pass combines the min/max of every (model, tensor); for the
// histogram methods a second pass, whose shards carry the first pass's
// ranges, combines histograms laid over them; each (model, tensor) then
// chooses its range and the model's table is assembled and written. Every
// combine is exact, so any sharding and any runner give the same bytes.
//
// The sweep variants of a model (ModelTask.CalibName) are calibrated once,
// under the model's name, and all get that range file.
func CalibrateWith(s beam.Scope, tasks beam.PCollection, opt CalibOptions) beam.PCollection {
	s = s.Scope("transforms.Calibrate")
	co, err := opt.Calibrate.Normalize()
	if err != nil {
		panic(fmt.Sprintf("transforms.Calibrate: %v", err)) // jobs validate options first
	}
	opt.Calibrate = co
	reps := beam.DropKey(s, beam.CombinePerKey(s, &sameTaskFn{}, beam.ParDo(s, calibRepresentative, tasks)))
	ranges := calibrateEach(s, reps, opt)
	return beam.ParDo(s, &shareRangesFn{}, beam.CoGroupByKey(s, beam.ParDo(s, keyByCalibName, tasks), ranges))
}

// calibrateEach is CalibrateWith for tasks with distinct names.
func calibrateEach(s beam.Scope, tasks beam.PCollection, opt CalibOptions) beam.PCollection {
	co := opt.Calibrate
	hits, misses := beam.ParDo2(s, &calibCacheFn{Opt: opt}, tasks)

	shards := PlanShards(s, misses, SplitCalibration)
	pass1 := beam.CombinePerKey(s, &mergeStatsFn{}, parDoSpread(s, &minMaxPassFn{AllowNonFinite: co.AllowNonFinite}, shards))
	var parts beam.PCollection
	if !co.NeedsHistogram() {
		parts = beam.ParDo(s, &chooseFn{Opt: co}, pass1)
	} else {
		keyed := beam.ParDo(s, keyByName, misses)
		joined := beam.CoGroupByKey(s, keyed, beam.ParDo(s, statsByModel, pass1))
		shards2, failed := beam.ParDo2(s, &secondPassFn{}, joined)
		pass2 := beam.CombinePerKey(s, &mergeStatsFn{Histogram: true}, parDoSpread(s, &histogramPassFn{Opt: co}, shards2))
		parts = beam.Flatten(s, beam.ParDo(s, &chooseFn{Opt: co, Histogram: true}, pass2), failed)
	}
	tables := beam.CombinePerKey(s, &mergePartsFn{}, parts)
	written := beam.ParDo(s, &writeCalibFn{Opt: opt}, beam.CoGroupByKey(s, beam.ParDo(s, keyByName, misses), tables))
	return beam.Flatten(s, hits, written)
}
