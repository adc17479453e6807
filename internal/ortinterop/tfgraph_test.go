//go:build ort

package ortinterop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/internal/orttest"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/transforms"
)

// TestGraphDefInONNXRuntime quantizes the shared zoo's TensorFlow frozen
// MLP (fc-layers-frozen.pb, cut at X:0 and output:0) in the default scheme
// and in tf-eightbit over all of MNIST t10k: the float graph gives ONNX
// Runtime's 95.48% exactly, int8 stays within a point, and ONNX Runtime
// runs each quantized ONNX file to the very top-1 count eightbit reported.
func TestGraphDefInONNXRuntime(t *testing.T) {
	pb := zootest.Path(t, "models", "tf", "fc-layers-frozen.pb")
	mnist := zootest.Path(t, "data", "mnist")
	defer orttest.Start(t)()

	dir := t.TempDir()
	manifest := fmt.Sprintf(`name: tf
datasets:
  mnist:
    format: idx
    classes: 10
    location: %s
    calibration: {images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz}
    evaluation: {images: t10k-images-idx3-ubyte.gz, labels: t10k-labels-idx1-ubyte.gz}
models:
  - {name: fc-layers, file: %s, format: tf-graphdef, input: "X:0", output: "output:0", dataset: mnist, preprocess: {divide: 255, shape: [784]}}
`, mnist, pb)
	if err := os.WriteFile(filepath.Join(dir, "zoo.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	job := &jobs.QuantizeZoo{Zoo: dir, Out: out, AllowOutside: true,
		Sweep: []transforms.QuantizeOptions{{}, {Scheme: "tf-eightbit"}}}
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed > 0 || res.OK != 2 {
		t.Fatalf("job: %d ok, %d failed", res.OK, res.Failed)
	}

	im, labels := readIDX(t, filepath.Join(mnist, "t10k-images-idx3-ubyte.gz"), filepath.Join(mnist, "t10k-labels-idx1-ubyte.gz"))
	x, err := dataset.Preprocess{Divide: 255, Shape: []int{784}}.Tensor(im, 0, im.N)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Report.Models {
		t.Run(m.Name, func(t *testing.T) {
			if m.Status != report.StatusOK || m.Int8 == nil || m.Float == nil {
				t.Fatalf("model failed: %s", m.Error)
			}
			if got := *m.Float.Top1; got != 0.9548 {
				t.Errorf("float top-1 %.4f, want 0.9548 (ONNX Runtime's figure for this graph)", got)
			}
			if d := *m.Float.Top1 - *m.Int8.Top1; d > 0.01 || d < -0.01 {
				t.Errorf("int8 top-1 %.4f is %.2f points from float", *m.Int8.Top1, 100*d)
			}
			data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(m.Int8.Model)))
			if err != nil {
				t.Fatal(err)
			}
			qm, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			pred := ortTop1(t, data, qm.Graph.Inputs[0].Name, qm.Graph.Outputs[0].Name, x, 500)
			correct := 0
			for i, p := range pred {
				if p == labels[i] {
					correct++
				}
			}
			t.Logf("%s: float %.2f%%, eightbit int8 %.2f%%, ONNX Runtime int8 %d/%d", m.Name, 100**m.Float.Top1, 100**m.Int8.Top1, correct, len(labels))
			if want := int(*m.Int8.Top1*float64(len(labels)) + 0.5); correct != want {
				t.Errorf("ONNX Runtime top-1 %d/%d, eightbit's int8 %d/%d", correct, len(labels), want, len(labels))
			}
		})
	}
}
