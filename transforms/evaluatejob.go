package transforms

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
)

func init() {
	register.DoFn4x0[context.Context, ModelTask, func(ModelTask), func(Row)](&loadEvalModelFn{})
	register.DoFn2x2[context.Context, Shard, string, EvalCounts](&evaluateAsGivenFn{})
	register.DoFn4x0[string, func(*ModelTask) bool, func(*EvalCounts) bool, func(Row)](&evaluatedRowFn{})
}

// evalModel is a model evaluated as it is stored: a float model, or an 8-bit
// model quantized by eightbit or by another tool (QDQ or QOperator ONNX).
type evalModel struct {
	bytes  int64
	digest string
	ops    map[string]int
	opset  int64
	params int64
	prog   *infer.Program
}

// evalModels memoizes, per process and run, the compiled program of each
// model evaluated as given.
var evalModels flight[*evalModel]

// quantizedFormat names the 8-bit format of a model from its op histogram:
// "qoperator" when it holds quantized operators, "qdq" when it holds only
// QuantizeLinear/DequantizeLinear pairs around float ops, "" for a float
// model.
func quantizedFormat(ops map[string]int) string {
	qdq := false
	for op, n := range ops {
		if n == 0 {
			continue
		}
		switch {
		case strings.HasPrefix(op, "QLinear"), op == "ConvInteger", op == "MatMulInteger", op == "DynamicQuantizeLinear":
			return string(quantize.FormatQOperator)
		case op == "QuantizeLinear", op == "DequantizeLinear":
			qdq = true
		}
	}
	if qdq {
		return string(quantize.FormatQDQ)
	}
	return ""
}

// opsFormat is quantizedFormat of a task's op histogram ("Op=count").
func opsFormat(ops []string) string {
	m := map[string]int{}
	for _, kv := range ops {
		k, _, _ := strings.Cut(kv, "=")
		m[k]++
	}
	return quantizedFormat(m)
}

// loadEvalModel reads a task's model and compiles it once per process and
// run: float models after Prepare (as quantize-zoo runs them), 8-bit models
// as stored, with integer kernels.
func loadEvalModel(ctx context.Context, t *ModelTask) (*evalModel, error) {
	return evalModels.get(t.RunID+"\x00as-given\x00"+t.ZooURL+"\x00"+t.File, func() (*evalModel, error) {
		data, err := readKey(ctx, t.ZooURL, t.File)
		if err != nil {
			return nil, err
		}
		m, d, err := decodeModelDigest(ctx, t, data)
		if err != nil {
			return nil, fmt.Errorf("model file %s: %w", t.File, err)
		}
		if t.Digest != "" && d != t.Digest {
			return nil, fmt.Errorf("model file %s changed during the job", t.File)
		}
		em := &evalModel{bytes: int64(len(data)), digest: d, ops: m.Graph.OpCounts(), opset: m.Opset(), params: int64(m.Graph.ParamCount())}
		if quantizedFormat(em.ops) != "" {
			em.prog, err = infer.Compile(m, infer.Options{Integer: true})
		} else {
			p, perr := quantize.Prepare(m)
			if perr != nil {
				return nil, fmt.Errorf("model file %s: %w", t.File, perr)
			}
			em.prog, err = infer.Compile(p, infer.Options{})
		}
		if err != nil {
			return nil, fmt.Errorf("model file %s: %w", t.File, err)
		}
		return em, nil
	})
}

// loadEvalModelFn loads and compiles each model, filling in its digest, size
// and ops; a model that cannot be read, parsed or compiled becomes a failed
// row.
type loadEvalModelFn struct{}

func (f *loadEvalModelFn) ProcessElement(ctx context.Context, t ModelTask, ok func(ModelTask), failed func(Row)) {
	em, err := loadEvalModel(ctx, &t)
	if err != nil {
		failed(failureRow(&t, "load", err))
		return
	}
	t.Digest, t.FloatBytes, t.Opset, t.Params = em.digest, em.bytes, em.opset, em.params
	t.Ops = histogram(em.ops)
	ok(t)
}

// evaluateAsGivenFn runs one evaluation shard through its model as stored
// and counts correct top-1 predictions (in EvalCounts.FloatCorrect).
type evaluateAsGivenFn struct{}

func (f *evaluateAsGivenFn) ProcessElement(ctx context.Context, sh Shard) (string, EvalCounts) {
	fail := func(err error) (string, EvalCounts) {
		return sh.Task.Name, EvalCounts{Err: failText(shardError("evaluation", &sh, err)), ErrShard: int64(sh.Start)}
	}
	if sh.Err != "" {
		return fail(failErr(sh.Err))
	}
	data, err := split(ctx, &sh.Task, sh.Split)
	if err != nil {
		return fail(err)
	}
	em, err := loadEvalModel(ctx, &sh.Task)
	if err != nil {
		return fail(err)
	}
	pred, err := predict(em.prog, &sh.Task, data, sh.Start, sh.End, nil)
	if err != nil {
		return fail(err)
	}
	progressOf(sh.Task.RunID).done(SplitEvaluation, int64(sh.End-sh.Start))
	var c EvalCounts
	for i, p := range pred {
		c.Samples++
		if p == data.labels[sh.Start+i] {
			c.FloatCorrect++
		}
	}
	return sh.Task.Name, c
}

// evaluatedRowFn turns a model's summed tallies into its report row: the
// top-1 of a float model under "float", of an 8-bit model under "int8"
// (with its format).
type evaluatedRowFn struct{}

func (f *evaluatedRowFn) ProcessElement(name string, taskIter func(*ModelTask) bool, countIter func(*EvalCounts) bool, emit func(Row)) {
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
	m := baseModel(&t)
	m.Status = report.StatusOK
	top1 := fraction(c.FloatCorrect, c.Samples)
	if format := opsFormat(t.Ops); format != "" {
		m.Format = format
		m.Float = nil
		m.Int8 = &report.Int8{Bytes: t.FloatBytes, Top1: top1, Samples: int(c.Samples)}
	} else {
		m.Float = &report.Float{Bytes: t.FloatBytes, Top1: top1, Samples: int(c.Samples)}
	}
	emit(encodeRow(m))
}

// EvaluateAsGiven evaluates every model of a zoo as it is stored, float or
// 8-bit (QDQ or QOperator ONNX, from eightbit or another tool such as ONNX
// Runtime's quantizer), on its evaluation split: work items of (model,
// shard), each model compiled once per worker process, tallies summed per
// model. The result holds one report row per model, failures included.
func EvaluateAsGiven(s beam.Scope, tasks beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.EvaluateAsGiven")
	loaded, failed := beam.ParDo2(s, &loadEvalModelFn{}, beam.Reshuffle(s, tasks))
	shards := PlanShards(s, loaded, SplitEvaluation)
	counts := beam.CombinePerKey(s, &sumCountsFn{}, parDoSpread(s, &evaluateAsGivenFn{}, shards))
	joined := beam.CoGroupByKey(s, beam.ParDo(s, keyByName, loaded), counts)
	return beam.Flatten(s, beam.ParDo(s, &evaluatedRowFn{}, joined), failed)
}
