package evaluate

import (
	"errors"
	"fmt"
	"time"

	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

// Quantized is one quantized version of a float model: its integer
// program (accuracy, agreement, MACs), the same model compiled with float
// QDQ semantics (per-layer statistics), and its quantized activations
// (quantize.Activations of the model, or what quantize.Quantize returned).
//
// The per-layer statistics compare the float model with the QDQ
// simulation of the int8 model, the one ONNX Runtime's reference semantics
// define: the integer program fuses Q/DQ pairs into integer steps and never
// materializes the dequantized activations, and where it does compute them
// it rounds differently from QDQ semantics (see package infer), so its
// values would not give the same numbers. QDQ may be nil when Acts is
// empty.
type Quantized struct {
	Int8, QDQ *infer.Program
	Acts      []quantize.Activation
}

// Result is one quantized version's tallies over the samples of a Run, and
// its per-layer statistics indexed like its Acts (nil: never seen). Err is
// set when the version failed; Counts and Layers are then partial.
type Result struct {
	Counts Counts
	Layers []*Layer
	Err    error
}

// errAllFailed stops a Run whose versions have all failed.
var errAllFailed = errors.New("every quantized version failed")

// Evaluator runs a float model and one or more quantized versions of it
// over evaluation samples: each batch is decoded once and runs through the
// float program once, whatever the number of versions. It reuses its
// buffers from batch to batch and from Run to Run, so it is not safe for
// concurrent use; keep one per worker goroutine.
type Evaluator struct {
	cfg   Config
	float *infer.Program
	fb    *Batcher
	qs    []quantizedRun
	// OnInt8Batch, when set, is called with the duration of every int8
	// batch run.
	OnInt8Batch func(time.Duration)

	// The float activations the versions need, by name, and per batch
	// their values (copied: the program reuses its buffers).
	floatIdx map[string]int
	floats   [][]float32
	have     []bool
	fRows    [][]float32
	iRows    [][]float32
}

type quantizedRun struct {
	Quantized
	ib      *Batcher
	byDQ    map[string]int
	floatOf []int // index in Evaluator.floats of each activation's float tensor
	seen    []bool
	err     error // set by New: the version cannot run
}

// New checks the programs' inputs and outputs against cfg and returns an
// Evaluator. An error of the float program fails New; an error of a
// quantized version is returned by every Run in that version's Result.
func New(cfg Config, float *infer.Program, qs ...Quantized) (*Evaluator, error) {
	fb, err := NewBatcher(float, cfg)
	if err != nil {
		return nil, fmt.Errorf("float model: %w", err)
	}
	e := &Evaluator{cfg: cfg, float: float, fb: fb, floatIdx: map[string]int{}}
	for _, q := range qs {
		r := quantizedRun{Quantized: q, byDQ: map[string]int{}, floatOf: make([]int, len(q.Acts)), seen: make([]bool, len(q.Acts))}
		if r.ib, err = NewBatcher(q.Int8, cfg); err != nil {
			r.err = fmt.Errorf("int8 model: %w", err)
		}
		for i, a := range q.Acts {
			j, ok := e.floatIdx[a.Float]
			if !ok {
				j = len(e.floats)
				e.floatIdx[a.Float] = j
				e.floats = append(e.floats, nil)
			}
			r.floatOf[i] = j
			r.byDQ[a.Dequantized] = i
		}
		e.qs = append(e.qs, r)
	}
	e.have = make([]bool, len(e.floats))
	return e, nil
}

// Run evaluates the samples idx of data (labels indexed like data) and
// returns one Result per quantized version, in the order given to New. The
// error is a failure of the float model or of the data, which fails every
// version.
func (e *Evaluator) Run(data Samples, labels []int, idx []int) ([]Result, error) {
	res := make([]Result, len(e.qs))
	for k := range res {
		res[k] = Result{Counts: NewCounts(e.cfg), Layers: make([]*Layer, len(e.qs[k].Acts)), Err: e.qs[k].err}
	}
	failed := 0
	for k := range res {
		if res[k].Err != nil {
			failed++
		}
	}
	if failed == len(res) && len(res) > 0 {
		return res, nil
	}
	cfg := e.cfg
	err := e.fb.Each(data, idx, func(batch []int, feeds map[string]*tensor.Tensor) error {
		n := len(batch)
		clear(e.have)
		fres, err := e.float.RunObserved(feeds, e.observeFloat)
		if err != nil {
			return fmt.Errorf("float model: %w", err)
		}
		if e.fRows, err = e.fb.scoresInto(e.fRows, fres, n); err != nil {
			return fmt.Errorf("float model: %w", err)
		}
		var floatNanos int64
		if cfg.MeasureSpeed {
			// A plain float run (the observed one above copies activations).
			t0 := time.Now()
			if _, err := e.float.Run(feeds); err != nil {
				return fmt.Errorf("float model: %w", err)
			}
			floatNanos = int64(time.Since(t0))
		}
		for k := range e.qs {
			if res[k].Err != nil {
				continue
			}
			res[k].Counts.FloatNanos += floatNanos
			if err := e.runQuantized(&e.qs[k], &res[k], batch, labels, feeds); err != nil {
				res[k].Err = fmt.Errorf("samples %s..%s: %w", data.ID(batch[0]), data.ID(batch[n-1]), err)
				failed++
			}
		}
		if failed == len(res) && len(res) > 0 {
			return errAllFailed
		}
		return nil
	})
	switch {
	case err == nil:
	case errors.Is(err, errAllFailed):
		// Each version's error is in its Result, labeled by batch below.
	default:
		return res, err
	}
	return res, nil
}

// observeFloat copies the float activations some version needs (the first
// value of each name per run).
func (e *Evaluator) observeFloat(name string, v *tensor.Tensor) {
	if j, ok := e.floatIdx[name]; ok && !e.have[j] {
		e.floats[j] = append(e.floats[j][:0], v.F32...)
		e.have[j] = true
	}
}

// runQuantized runs one batch through version q: the int8 program for the
// tallies, the QDQ program for the per-layer statistics.
func (e *Evaluator) runQuantized(q *quantizedRun, r *Result, batch []int, labels []int, feeds map[string]*tensor.Tensor) error {
	n := len(batch)
	c := &r.Counts
	t0 := time.Now()
	ires, err := q.Int8.Run(feeds)
	if err != nil {
		return fmt.Errorf("int8 model: %w", err)
	}
	d := time.Since(t0)
	if e.OnInt8Batch != nil {
		e.OnInt8Batch(d)
	}
	if e.cfg.MeasureSpeed {
		c.Int8Nanos += int64(d)
		c.TimedSamples += int64(n)
	}
	st := q.Int8.Stats()
	c.MACs, c.IntegerMACs = max(c.MACs, st.IntegerMACs+st.FloatMACs), max(c.IntegerMACs, st.IntegerMACs)
	if e.iRows, err = q.ib.scoresInto(e.iRows, ires, n); err != nil {
		return fmt.Errorf("int8 model: %w", err)
	}
	for i, j := range batch {
		c.Add(e.cfg, labels[j], e.fRows[i], e.iRows[i])
	}
	if len(q.Acts) == 0 {
		return nil
	}
	clear(q.seen)
	_, err = q.QDQ.RunObserved(feeds, func(name string, v *tensor.Tensor) {
		i, ok := q.byDQ[name]
		if !ok || q.seen[i] {
			return
		}
		f := q.floatOf[i]
		if !e.have[f] {
			return
		}
		q.seen[i] = true
		l := r.Layers[i]
		if l == nil {
			l = NewLayer(q.Acts[i])
			r.Layers[i] = l
		}
		l.Add(q.Acts[i], e.floats[f], v.F32, n)
	})
	if err != nil {
		return fmt.Errorf("int8 model (QDQ semantics): %w", err)
	}
	return nil
}
