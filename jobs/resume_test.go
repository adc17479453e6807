package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestKilledRunResumes stops a quantize-zoo run partway through evaluation
// (its context is cancelled, as SIGINT does) and reruns it with the same
// --out: the rerun's outputs (reports, range files, quantized models, the
// dead-letter file) are byte-identical to those of a run that was never
// stopped, and nothing partial is left behind.
func TestKilledRunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo job three times")
	}
	zooDir := unpackDemoZoo(t)
	root := t.TempDir()
	clean, resumed := filepath.Join(root, "clean"), filepath.Join(root, "resumed")
	if _, err := (&QuantizeZoo{Zoo: zooDir, Out: clean}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	stopped := false
	j := &QuantizeZoo{Zoo: zooDir, Out: resumed, Progress: func(p Progress) {
		if p.EvalDone > 0 && p.EvalDone < p.EvalPlanned {
			once.Do(func() { stopped = true; cancel() })
		}
	}}
	if _, err := j.Run(ctx); err == nil || !stopped {
		t.Fatalf("the run was not stopped during evaluation (error %v)", err)
	}
	partial := outputs(t, resumed)
	if len(partial) == 0 {
		t.Fatal("the stopped run wrote nothing")
	}
	for name := range partial {
		if strings.Contains(name, ".tmp") || strings.HasSuffix(name, "~") {
			t.Errorf("the stopped run left %s", name)
		}
	}
	if _, err := (&QuantizeZoo{Zoo: zooDir, Out: resumed}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, got := outputs(t, clean), outputs(t, resumed)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("clean run %d files, resumed %d: %v", len(want), len(got), keys(got))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs after resuming", name)
		}
	}
}

// outputs reads a run's output folder without what names the run (runs/,
// LATEST) and Beam's log.
func outputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "runs" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "LATEST" || rel == "beam.log" {
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
