package transforms

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/zoo"
)

// zooTasks writes a manifest into a temporary zoo folder and returns its
// tasks (locations outside the zoo allowed).
func zooTasks(t *testing.T, manifest string, opt ZooOptions) []ModelTask {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	opt.AllowOutside = true
	m, folder, err := ReadManifestWith(context.Background(), dir, zoo.Options{AllowOutside: true})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := Tasks(m, folder, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// TestDatasetCIFARResNet4b reads the CIFAR-10 JPEG test folder through the
// dataset layer (Tasks, split, predict) and checks that the float executor
// reproduces ONNX Runtime's top-1 count from the shared zoo's README:
// 7665 of 10000 for resnet_4b. Under -short, the first 1000 samples of the
// every tenth image (1000, all classes) is checked against the count the
// full run gives for those images.
func TestDatasetCIFARResNet4b(t *testing.T) {
	root := zootest.Path(t)
	zootest.Path(t, "data", "cifar10", "test")
	manifest := fmt.Sprintf(`
datasets:
  cifar10:
    format: image-folder
    classes: 10
    location: %s/data/cifar10/test
    split: {calibration: 1000}
models:
  - name: resnet_4b
    file: %s/models/cifar10/resnet_4b.onnx
    dataset: cifar10
    input: input.1
    preprocess: {divide: 255, mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616]}
`, root, root)
	task := zooTasks(t, manifest, ZooOptions{RunID: t.Name()})[0]
	task.EvalFrom, task.EvalTo, task.SplitRule = 0, 0, false // the whole test folder
	ctx := context.Background()
	start := time.Now()
	data, err := split(ctx, &task, SplitEvaluation)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read and checked %d images in %v (%d bad)", data.len(), time.Since(start), len(data.bad))
	if data.len() != 10000 || len(data.bad) != 0 {
		t.Fatalf("%d samples, %d bad; want 10000, 0", data.len(), len(data.bad))
	}
	if data.id(0) != "airplane/0000.jpg" || data.labels[0] != 0 || data.labels[9999] != 9 {
		t.Fatalf("first id %q label %d, last label %d", data.id(0), data.labels[0], data.labels[9999])
	}
	raw, err := os.ReadFile(filepath.Join(root, "models", "cifar10", "resnet_4b.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := infer.Compile(m, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for i := 0; i < data.len(); i++ {
		if !testing.Short() || i%10 == 0 {
			idx = append(idx, i)
		}
	}
	n := len(idx)
	start = time.Now()
	correct := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			part := idx[w*n/2 : (w+1)*n/2]
			preds, err := predictSamples(p, &task, data, part, nil)
			if err != nil {
				errs[w] = err
				return
			}
			for i, c := range preds {
				if c == data.labels[part[i]] {
					correct[w]++
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := correct[0] + correct[1]
	t.Logf("resnet_4b float top-1 %d/%d = %.2f%% in %v", got, n, 100*float64(got)/float64(n), time.Since(start))
	want := 7665
	if testing.Short() {
		want = cifarShortWant
	}
	if got != want {
		t.Fatalf("top-1 count %d of %d, want %d", got, n, want)
	}
}

// cifarShortWant is the top-1 count of resnet_4b on every tenth image of
// the sorted test folder, measured by the full run (whose total matches
// ONNX Runtime).
const cifarShortWant = 765
