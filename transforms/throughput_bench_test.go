package transforms

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/zoo"
)

// BenchmarkEvaluateThroughput measures evaluation images/s of the int8
// cifar-resnet8 (quantized in the setup) over 9,900 CIFAR-10 test JPEGs,
// through the evaluate job's pipeline (ReadZoo, EvaluateAsGiven,
// WriteReport) on prism, and through a plain Go loop over the same
// executor (decode the split, compile the model, predict in the same
// batches, count). Both do all of it in every iteration (a fresh run id
// empties the per-run caches) and alternate, so machine drift cancels in
// the ratio job/loop. Run with -cpu 1,2 for the scaling:
//
//	go test ./transforms -run '^$' -bench EvaluateThroughput -benchtime 3x -cpu 1,2
func BenchmarkEvaluateThroughput(b *testing.B) {
	root := zootest.Path(b)
	dir := b.TempDir()
	zooDir := cifarZoo(b, filepath.Join(dir, "zoo"), root, "resnet8", root+"/models/trained/cifar10/cifar-resnet8-folded.onnx")
	ctx := context.Background()
	quantOut := filepath.Join(dir, "quantized")

	// Setup: quantize the model (64 calibration samples).
	{
		p, s := beam.NewPipelineWithRoot()
		tasks := ReadZoo(s, zooDir, ZooOptions{OutURL: quantOut, RunID: "setup", CalibSamples: 64, AllowOutside: true})
		loaded, _ := LoadModels(s, tasks)
		ranges := CalibrateWith(s, loaded, CalibOptions{Calibrate: calibrate.Options{}})
		QuantizeModels(s, loaded, ranges)
		if _, err := pipeline.Run(ctx, "prism", p); err != nil {
			b.Fatal(err)
		}
	}
	int8File := filepath.Join(quantOut, "models", "resnet8.int8.onnx")
	evalZoo := cifarZoo(b, filepath.Join(dir, "evalzoo"), root, "resnet8-int8", int8File)
	m, folder, err := ReadManifestWith(ctx, evalZoo, zoo.Options{AllowOutside: true})
	if err != nil {
		b.Fatal(err)
	}

	var tJob, tLoop, cJob, cLoop time.Duration
	var images int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		// The job.
		t0, c0 := time.Now(), processCPU()
		p, s := beam.NewPipelineWithRoot()
		tasks := ReadZoo(s, evalZoo, ZooOptions{OutURL: out, RunID: fmt.Sprint("job", i), AllowOutside: true})
		WriteReport(s, EvaluateAsGiven(s, tasks), out, ReportInfo{Job: "evaluate"})
		if _, err := pipeline.Run(ctx, "prism", p); err != nil {
			b.Fatal(err)
		}
		tJob += time.Since(t0)
		cJob += processCPU() - c0
		rep, err := ReadReport(ctx, out)
		if err != nil || len(rep.Models) != 1 || rep.Models[0].Int8 == nil {
			b.Fatalf("job report: %v", err)
		}
		images = rep.Models[0].Int8.Samples

		// The loop.
		t1, c1 := time.Now(), processCPU()
		ts, err := Tasks(m, folder, ZooOptions{OutURL: out, RunID: fmt.Sprint("loop", i), AllowOutside: true})
		if err != nil {
			b.Fatal(err)
		}
		t := &ts[0]
		data, err := split(ctx, t, SplitEvaluation)
		if err != nil {
			b.Fatal(err)
		}
		em, err := loadEvalModel(ctx, t)
		if err != nil {
			b.Fatal(err)
		}
		pred, err := predict(em.prog, t, data, 0, data.len(), nil)
		if err != nil {
			b.Fatal(err)
		}
		correct := 0
		for k, p := range pred {
			if p == data.labels[k] {
				correct++
			}
		}
		tLoop += time.Since(t1)
		cLoop += processCPU() - c1
		if len(pred) != images || float64(correct)/float64(len(pred)) != *rep.Models[0].Int8.Top1 {
			b.Fatalf("loop: %d images, %d correct; job: %d images, top-1 %v", len(pred), correct, images, *rep.Models[0].Int8.Top1)
		}
	}
	b.StopTimer()
	n := float64(images * b.N)
	b.ReportMetric(n/tJob.Seconds(), "job-img/s")
	b.ReportMetric(n/tLoop.Seconds(), "loop-img/s")
	b.ReportMetric(tLoop.Seconds()/tJob.Seconds(), "job/loop")
	// Cores busy on average (CPU time / wall time, whole process).
	b.ReportMetric(cJob.Seconds()/tJob.Seconds(), "job-cores")
	b.ReportMetric(cLoop.Seconds()/tLoop.Seconds(), "loop-cores")
}

// processCPU is the CPU time the process has used, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cifarZoo writes, in dir, a manifest of one CIFAR-10 model (file) on the
// shared zoo's CIFAR-10 JPEG folder under root, and returns dir.
func cifarZoo(b *testing.B, dir, root, name, file string) string {
	b.Helper()
	manifest := fmt.Sprintf(`datasets:
  cifar10:
    format: image-folder
    classes: 10
    location: %s/data/cifar10/test
    split: {calibration: 100}
models:
  - name: %s
    file: %s
    dataset: cifar10
    preprocess: {divide: 255, mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616]}
`, root, name, file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
