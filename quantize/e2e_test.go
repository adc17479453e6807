package quantize

import (
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
)

func loadDemo(t *testing.T, split string) (*dataset.Images, []int) {
	t.Helper()
	im, err := dataset.DecodeIDXImages(zootest.ReadFile(t, "models", "trained", "demo-data", "demo-"+split+"-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := dataset.DecodeIDXLabels(zootest.ReadFile(t, "models", "trained", "demo-data", "demo-"+split+"-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return im, lb
}

const demoBatch = 250

var demoPre = dataset.Preprocess{Scale: 1.0 / 255}

// runBatches runs p over all images in batches and returns the argmax of
// output "logits" per image; obs, when set, sees every float value.
func runBatches(t *testing.T, p *infer.Program, im *dataset.Images, obs func(string, *tensor.Tensor)) []int {
	t.Helper()
	var preds []int
	for start := 0; start < im.N; start += demoBatch {
		end := min(start+demoBatch, im.N)
		x, err := demoPre.Tensor(im, start, end)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*tensor.Tensor{"input": x}
		var out map[string]*tensor.Tensor
		if obs != nil {
			out, err = p.RunObserved(in, obs)
		} else {
			out, err = p.Run(in)
		}
		if err != nil {
			t.Fatal(err)
		}
		logits := out["logits"]
		if logits == nil || len(logits.Shape) != 2 || logits.Shape[0] != end-start {
			t.Fatalf("logits %v", logits)
		}
		k := logits.Shape[1]
		for i := 0; i < end-start; i++ {
			preds = append(preds, tensor.ArgMax(logits.F32[i*k:(i+1)*k]))
		}
	}
	return preds
}

// sizeLimit is the largest encoded size allowed, as a fraction of the float
// file.
const sizeLimit = 0.30

func top1(preds, labels []int) float64 {
	ok := 0
	for i, p := range preds {
		if p == labels[i] {
			ok++
		}
	}
	return 100 * float64(ok) / float64(len(preds))
}

// TestEndToEndMNIST calibrates each MNIST demo model on the 1000 demo train
// images, quantizes it, encodes and decodes it, runs it with integer
// kernels on the 2000 demo t10k images and compares with float.
func TestEndToEndMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	calIm, _ := loadDemo(t, "train")
	evIm, evLb := loadDemo(t, "t10k")
	for _, name := range mnistModels {
		t.Run(name, func(t *testing.T) {
			d := quantizeDemo(t, name, calIm)
			qp, err := infer.Compile(d.dec, infer.Options{Integer: true})
			if err != nil {
				t.Fatal(err)
			}
			fp, raw, enc, sum := d.fp, d.raw, d.enc, d.sum
			floatAcc := top1(runBatches(t, fp, evIm, nil), evLb)
			intAcc := top1(runBatches(t, qp, evIm, nil), evLb)
			ratio := float64(len(enc)) / float64(len(raw))
			t.Logf("%s: float top-1 %.2f%%, int8 top-1 %.2f%% (Δ %+.2f), size %d -> %d bytes (%.2f%%), integer nodes %d, quantized %v, fused %v, float %v",
				name, floatAcc, intAcc, intAcc-floatAcc, len(raw), len(enc), 100*ratio, qp.Stats().IntegerNodes,
				sum.QuantizedNodes, sum.FusedActivations, sum.FloatActivations)
			if parts, err := sizeBreakdown(enc); err == nil {
				t.Logf("%s: quantized file %s", name, parts)
			}
			if floatAcc-intAcc > 1 {
				t.Errorf("int8 top-1 %.2f%% is more than 1 point below float %.2f%%", intAcc, floatAcc)
			}
			// Every Conv/Gemm/MatMul runs in integer arithmetic: the executor
			// recognises the QDQ form (computed bias scale, no weight zero
			// point).
			if want := sum.QuantizedNodes["Conv"] + sum.QuantizedNodes["Gemm"] + sum.QuantizedNodes["MatMul"]; qp.Stats().IntegerNodes < want {
				t.Errorf("%d integer nodes, want %d", qp.Stats().IntegerNodes, want)
			}
			if ratio > sizeLimit {
				t.Errorf("encoded size %d is %.2f%% of the float file (%d), want <= %.0f%%", len(enc), 100*ratio, len(raw), 100*sizeLimit)
			}
		})
	}
}

// demoQuantized is a demo model calibrated on the demo train images and
// quantized.
type demoQuantized struct {
	raw, enc []byte         // float and quantized files
	fp       *infer.Program // the prepared float model
	dec      *graph.Model   // the quantized model decoded from enc
	sum      *Summary
}

func quantizeDemo(t *testing.T, name string, calIm *dataset.Images) *demoQuantized {
	t.Helper()
	raw := zootest.ReadFile(t, "models", "trained", "mnist", name+".onnx")
	m, err := onnx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := infer.Compile(prepared, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ranges := calibrate.NewRanges()
	runBatches(t, fp, calIm, ranges.Observe)
	q, sum, err := Quantize(m, ranges.Result(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := onnx.Encode(q)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := onnx.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	return &demoQuantized{raw: raw, enc: enc, fp: fp, dec: dec, sum: sum}
}
