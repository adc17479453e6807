//go:build ort

package ortinterop

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/internal/orttest"
	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/tensor"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// readIDX decodes an IDX image file and its label file.
func readIDX(t *testing.T, images, labels string) (*dataset.Images, []int) {
	t.Helper()
	imgs, err := os.ReadFile(images)
	if err != nil {
		t.Fatal(err)
	}
	lbls, err := os.ReadFile(labels)
	if err != nil {
		t.Fatal(err)
	}
	im, err := dataset.DecodeIDXImages(imgs)
	if err != nil {
		t.Fatal(err)
	}
	l, err := dataset.DecodeIDXLabels(lbls)
	if err != nil {
		t.Fatal(err)
	}
	return im, l
}

// ortTop1 runs a model file in ONNX Runtime over x ([N,...] float32) in
// batches and returns the top-1 class of each sample.
func ortTop1(t *testing.T, model []byte, input, output string, x *tensor.Tensor, batch int) []int {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(1)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{input}, []string{output}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	defer sess.Destroy()
	n := x.Shape[0]
	per := len(x.F32) / n
	var preds []int
	for b := 0; b < n; b += batch {
		e := min(b+batch, n)
		shape := make(ort.Shape, len(x.Shape))
		for i, d := range x.Shape {
			shape[i] = int64(d)
		}
		shape[0] = int64(e - b)
		in, err := ort.NewTensor(shape, x.F32[b*per:e*per])
		if err != nil {
			t.Fatal(err)
		}
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			t.Fatalf("ONNX Runtime run: %v", err)
		}
		y := outs[0].(*ort.Tensor[float32]).GetData()
		k := len(y) / (e - b)
		for i := 0; i < e-b; i++ {
			preds = append(preds, tensor.ArgMax(y[i*k:(i+1)*k]))
		}
		in.Destroy()
		outs[0].Destroy()
	}
	return preds
}

// TestDemoZooInONNXRuntime runs the quantize-zoo job on the demo zoo, then
// runs every quantized model it wrote in ONNX Runtime on the same evaluation
// samples: ONNX Runtime must load each one, and its top-1 must be within 0.2
// points of the int8 top-1 eightbit reported.
func TestDemoZooInONNXRuntime(t *testing.T) {
	defer orttest.Start(t)()

	dir := t.TempDir()
	zooDir := filepath.Join(dir, "zoo")
	if err := demozoo.Unpack(zooDir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	job := &jobs.QuantizeZoo{Zoo: zooDir, Out: out}
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed > 0 || res.OK != 4 {
		t.Fatalf("job: %d ok, %d failed", res.OK, res.Failed)
	}

	im, labels := readIDX(t, filepath.Join(zooDir, "demo-data", "demo-t10k-images-idx3-ubyte.gz"),
		filepath.Join(zooDir, "demo-data", "demo-t10k-labels-idx1-ubyte.gz"))
	x, err := dataset.Preprocess{Divide: 255}.Tensor(im, 0, im.N)
	if err != nil {
		t.Fatal(err)
	}

	for _, m := range res.Report.Models {
		t.Run(m.Name, func(t *testing.T) {
			if m.Status != report.StatusOK || m.Int8 == nil {
				t.Fatalf("model failed: %s", m.Error)
			}
			data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(m.Int8.Model)))
			if err != nil {
				t.Fatal(err)
			}
			qm, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			input, output := qm.Graph.Inputs[0].Name, qm.Graph.Outputs[0].Name
			ortPred := ortTop1(t, data, input, output, x, 100)

			prog, err := infer.Compile(qm, infer.Options{Integer: true})
			if err != nil {
				t.Fatal(err)
			}
			correct, same := 0, 0
			for b := 0; b < im.N; b += 100 {
				xb, _ := dataset.Preprocess{Divide: 255}.Tensor(im, b, b+100)
				y, err := prog.Run(map[string]*tensor.Tensor{input: xb})
				if err != nil {
					t.Fatal(err)
				}
				yo := y[output]
				k := len(yo.F32) / 100
				for i := 0; i < 100; i++ {
					p := tensor.ArgMax(yo.F32[i*k : (i+1)*k])
					if p == ortPred[b+i] {
						same++
					}
				}
			}
			for i, p := range ortPred {
				if p == labels[i] {
					correct++
				}
			}
			ortAcc := float64(correct) / float64(len(labels))
			t.Logf("%s: ONNX Runtime int8 top-1 %.2f%%, eightbit int8 top-1 %.2f%% (float %.2f%%), per-sample agreement %d/%d",
				m.Name, 100*ortAcc, 100**m.Int8.Top1, 100**m.Float.Top1, same, len(labels))
			if d := math.Abs(ortAcc - *m.Int8.Top1); d > 0.002 {
				t.Errorf("%s: ONNX Runtime top-1 %.4f differs from eightbit's %.4f by %.2f points (limit 0.2)", m.Name, ortAcc, *m.Int8.Top1, 100*d)
			}
		})
	}
}
