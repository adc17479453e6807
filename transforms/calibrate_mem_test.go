package transforms

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/pipeline"
)

// TestCalibrationMemory runs the calibration (entropy: both passes) of
// mnist-mlp over the 60,000-image MNIST train split, capped at 6,000 and
// uncapped, each in a fresh process on prism, and compares the peak
// resident set (VmHWM of /proc/self/status, which covers prism, since it
// runs in the same process, and the decoded 47 MB split, which both runs
// hold). It only runs with
// EIGHTBIT_CALIB_MEM=1 (it takes minutes):
//
//	EIGHTBIT_CALIB_MEM=1 go test -run TestCalibrationMemory -v ./transforms
func TestCalibrationMemory(t *testing.T) {
	if os.Getenv("EIGHTBIT_CALIB_MEM") != "1" {
		t.Skip("set EIGHTBIT_CALIB_MEM=1 to measure calibration memory")
	}
	train := zootest.Path(t, "data", "mnist")
	// Each size runs three times, alternating, and keeps its smallest peaks:
	// the collector's timing adds tens of MB of garbage (or of a transient
	// buffer caught live) to some runs, and the smallest peak is the
	// closest to what the run needs.
	peak, live := map[int]int64{}, map[int]int64{}
	keepMin := func(m map[int]int64, n int, v int64) {
		if old, ok := m[n]; !ok || v < old {
			m[n] = v
		}
	}
	for _, n := range []int{6000, 60000, 6000, 60000, 6000, 60000} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCalibrationMemoryChild$", "-test.v")
		// GOGC=25 keeps the garbage slack small so that the peak tracks
		// live memory; with the default 100 it varies by ±30% between
		// identical runs.
		cmd.Env = append(os.Environ(), "GOGC=25", "EIGHTBIT_CALIB_MEM_CHILD="+strconv.Itoa(n), "EIGHTBIT_CALIB_MEM_DATA="+train)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%d samples: %v\n%s", n, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "PEAK "); i >= 0 {
				f := strings.Fields(line[i:])
				v, _ := strconv.ParseInt(f[1], 10, 64)
				keepMin(peak, n, v)
				t.Logf("%d samples: %s", n, strings.TrimSpace(line[i:]))
			}
			if i := strings.Index(line, "LIVE "); i >= 0 {
				v, _ := strconv.ParseInt(strings.Fields(line[i:])[1], 10, 64)
				keepMin(live, n, v)
			}
		}
	}
	if peak[6000] == 0 || peak[60000] == 0 {
		t.Fatal("no measurement")
	}
	ratio := float64(peak[60000]) / float64(peak[6000])
	t.Logf("peak RSS 60,000 / 6,000 samples = %.3f", ratio)
	if ratio > 1.10 {
		t.Errorf("peak memory grew %.1f%% from 6,000 to 60,000 samples", 100*(ratio-1))
	}
	// The live heap is logged, not checked: its smallest peak is 15-20%
	// higher at 60,000 samples since the shard stages fan out (see
	// docs/PERFORMANCE.md), while the RSS is not.
	lr := float64(live[60000]) / float64(live[6000])
	t.Logf("peak live heap 60,000 / 6,000 samples = %.3f (%d / %d kB)", lr, live[60000]>>10, live[6000]>>10)
}

func TestCalibrationMemoryChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EIGHTBIT_CALIB_MEM_CHILD"))
	data := os.Getenv("EIGHTBIT_CALIB_MEM_DATA")
	if n == 0 || data == "" {
		t.Skip("child of TestCalibrationMemory")
	}
	dir := t.TempDir()
	if err := demozoo.Unpack(filepath.Join(dir, "demo")); err != nil {
		t.Fatal(err)
	}
	zooDir := filepath.Join(dir, "zoo")
	os.MkdirAll(filepath.Join(zooDir, "mnist"), 0o755)
	os.MkdirAll(filepath.Join(zooDir, "data"), 0o755)
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(dir, "demo", "mnist", "mnist-mlp.onnx"), filepath.Join(zooDir, "mnist", "mnist-mlp.onnx"))
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		copyFile(filepath.Join(data, f), filepath.Join(zooDir, "data", f))
	}
	manifest := `datasets:
  mnist:
    format: idx
    classes: 10
    calibration: {images: data/train-images-idx3-ubyte.gz, labels: data/train-labels-idx1-ubyte.gz}
    evaluation: {images: data/t10k-images-idx3-ubyte.gz, labels: data/t10k-labels-idx1-ubyte.gz}
models:
  - {name: mnist-mlp, file: mnist/mnist-mlp.onnx, dataset: mnist, preprocess: {divide: 255}}
`
	os.WriteFile(filepath.Join(zooDir, "zoo.yaml"), []byte(manifest), 0o644)
	m, folder, err := ReadManifest(context.Background(), zooDir)
	if err != nil {
		t.Fatal(err)
	}
	limit := n
	if n == 60000 {
		limit = 0 // the whole split
	}
	tasks, err := Tasks(m, folder, ZooOptions{OutURL: filepath.Join(dir, "out"), RunID: "mem", CalibSamples: limit, ShardSize: 250})
	if err != nil {
		t.Fatal(err)
	}
	tasks = withOut(tasks, filepath.Join(dir, "out"), "mem", 250)
	p, s := beam.NewPipelineWithRoot()
	CalibrateWith(s, beam.CreateList(s, tasks), CalibOptions{Calibrate: calibrate.Options{Method: calibrate.MethodEntropy}})
	start := time.Now()
	// The live heap after each collection, sampled every 2 ms: the memory
	// the run needs, whatever the collector's pacing.
	var peakLive uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		sm := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(sm)
			peakLive = max(peakLive, sm[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	_, err = pipeline.Run(context.Background(), "prism", p)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LIVE %d bytes\n", peakLive)
	cf, err := DecodeCalibFile(mustRead(t, filepath.Join(dir, "out", "calibration", "mnist-mlp.json")))
	if err != nil || cf.Samples != int64(n) {
		t.Fatalf("range file: %v, %d samples", err, cf.Samples)
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			fmt.Printf("PEAK %s kB samples=%d seconds=%.1f\n", f[1], n, time.Since(start).Seconds())
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
