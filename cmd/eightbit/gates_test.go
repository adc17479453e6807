package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/internal/demozoo"
)

// TestQuantizeZooGates: gates every model meets exit 0; with a failed model
// in the zoo the status gate fails, report.json records both outcomes and
// the CLI exits 1 naming the gate. (jobs' TestQuantizeZooDetailGatesAndBadLayer
// fails the top-1 gate of a model that was quantized.)
func TestQuantizeZooGates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the job twice")
	}
	zoo, head := demoZooHead(t)
	ok := head + "  - name: mnist-mlp\n    file: mnist/mnist-mlp.onnx\n    dataset: mnist-demo\n    preprocess: {divide: 255}\n"
	if err := os.WriteFile(filepath.Join(zoo, "zoo.yaml"), []byte(ok), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"quantize-zoo", "--zoo", zoo, "--calib-samples", "100", "--eval-samples", "200"}
	code, _, errs := runCLI(append(common, "--out", t.TempDir(), "--max-top1-drop", "1", "--min-agreement", "0")...)
	if code != exitOK {
		t.Fatalf("lenient gates: exit %d\n%s", code, errs)
	}
	// A second model whose file is garbage fails the status gate.
	os.WriteFile(filepath.Join(zoo, "mnist", "garbage.onnx"), []byte("not a model"), 0o644)
	bad := ok + "  - name: broken\n    file: mnist/garbage.onnx\n    dataset: mnist-demo\n"
	os.WriteFile(filepath.Join(zoo, "zoo.yaml"), []byte(bad), 0o644)
	out := t.TempDir()
	code, _, errs = runCLI(append(common, "--out", out, "--min-agreement", "0.5")...)
	if code != exitFailed || !strings.Contains(errs, "gate failed: broken: status") {
		t.Fatalf("exit %d, want %d with the status gate named\n%s", code, exitFailed, errs)
	}
	rep, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rep), `"passed": false`) || !strings.Contains(string(rep), `"passed": true`) {
		t.Errorf("report.json does not record both gate outcomes:\n%s", rep)
	}
	for _, f := range []string{"summary.csv", "index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Bad gate values are usage errors.
	if code, _, _ := runCLI("quantize-zoo", "--zoo", zoo, "--out", out, "--min-agreement", "1.5"); code != exitUsage {
		t.Errorf("--min-agreement 1.5: exit %d, want %d", code, exitUsage)
	}
}

// demoZooHead unpacks the demo zoo into a new folder and returns it with
// the head of its manifest (the datasets and "models:"), for tests that
// write their own model list.
func demoZooHead(t *testing.T) (zoo, head string) {
	t.Helper()
	zoo = filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(zoo); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(zoo, "zoo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ = strings.Cut(string(man), "  - name: mnist-lenet")
	return zoo, head
}
