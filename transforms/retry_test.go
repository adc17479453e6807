package transforms

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
)

// TestRetriedAttemptsLeaveNoTrace replays what a runner that retries
// bundles (Dataflow, Flink, Spark) does with the DoFns that write outputs:
// the first attempt of writing a model's range file and of writing its
// quantized model fails (here: its context is cancelled, so the storage
// write fails), the runner drops what that attempt emitted and runs the
// element again. The retried run must emit exactly what a clean run emits,
// once, and leave the same files, byte for byte, with no temporary or
// partial file.
func TestRetriedAttemptsLeaveNoTrace(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	run := func(out string, failFirst bool) ([]ModelTask, []RangeSet) {
		task := demoTasks(t, ZooOptions{OutURL: out, RunID: "retry-" + filepath.Base(out), CalibSamples: 50})[0]
		part := calibPartOf(t, &task)
		// attempt runs fn as a runner would: a failed attempt's outputs are
		// dropped and the element is processed again.
		attempt := func(fn func(ctx context.Context) error) {
			if failFirst {
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				if err := fn(cancelled); err == nil {
					t.Fatal("the first attempt did not fail")
				}
			}
			if err := fn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var sets []RangeSet
		attempt(func(ctx context.Context) error {
			sets = nil
			return (&writeCalibFn{}).ProcessElement(ctx, task.Name, iterOf(task), iterOf(part), func(_ string, rs RangeSet) { sets = append(sets, rs) })
		})
		if len(sets) != 1 || sets[0].Err != "" {
			t.Fatalf("range sets %+v", sets)
		}
		var oks []ModelTask
		attempt(func(ctx context.Context) error {
			oks = nil
			return (&quantizeFn{}).ProcessElement(ctx, task.Name, iterOf(task), iterOf(sets[0]), func(m ModelTask) { oks = append(oks, m) },
				func(r Row) { t.Fatalf("failure row %s", r.JSON) })
		})
		return oks, sets
	}
	cleanOK, cleanSets := run(filepath.Join(root, "clean"), false)
	retryOK, retrySets := run(filepath.Join(root, "retried"), true)
	if len(retryOK) != 1 || retryOK[0].Int8Digest != cleanOK[0].Int8Digest || !bytes.Equal(retrySets[0].Ranges, cleanSets[0].Ranges) {
		t.Fatalf("retried outputs differ: %d quantized", len(retryOK))
	}
	clean, retried := readDir(t, filepath.Join(root, "clean")), readDir(t, filepath.Join(root, "retried"))
	if len(clean) == 0 || len(clean) != len(retried) {
		t.Fatalf("files: clean %d, retried %d", len(clean), len(retried))
	}
	for name, b := range clean {
		if !bytes.Equal(retried[name], b) {
			t.Errorf("%s differs after the retry", name)
		}
	}
	for name := range retried {
		if _, ok := clean[name]; !ok {
			t.Errorf("the retry left %s", name)
		}
	}
}

// iterOf is a Beam iterator over one value.
func iterOf[T any](v T) func(*T) bool {
	done := false
	return func(p *T) bool {
		if done {
			return false
		}
		*p, done = v, true
		return true
	}
}

// calibPartOf calibrates a task with min/max on its first 50 calibration
// samples, without Beam, as the combine would assemble it.
func calibPartOf(t *testing.T, task *ModelTask) CalibPart {
	t.Helper()
	ctx := context.Background()
	p, err := floatProgram(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	data, err := split(ctx, task, SplitCalibration)
	if err != nil {
		t.Fatal(err)
	}
	r := calibrate.NewRanges()
	if _, err := predict(p, task, data, 0, 50, r.Observe); err != nil {
		t.Fatal(err)
	}
	names := r.Names()
	sort.Strings(names)
	var res []calibrate.TensorResult
	for _, n := range names {
		res = append(res, calibrate.FromMinMax(n, r.Get(n)))
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return CalibPart{Tensors: b, Samples: 50, PerClass: classCounts(data.labels[:50])}
}
