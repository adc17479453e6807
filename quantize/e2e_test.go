package quantize

import (
	"os"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
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
// file. The depthwise-separable model has only 31k parameters: its int8
// weights alone are 24% of the float file and the per-channel scales, int32
// biases with their scales, and the Q/DQ nodes (about 11 KB of names and
// structure) cannot fit in the remaining 6%, so it gets 40%.
var sizeLimit = map[string]float64{"mnist-lenet": 0.30, "mnist-mlp": 0.30, "mnist-dws": 0.40, "mnist-dws-folded": 0.40}

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
			path := zootest.Path(t, "models", "trained", "mnist", name+".onnx")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
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
			qp, err := infer.Compile(dec, infer.Options{Integer: true})
			if err != nil {
				t.Fatal(err)
			}
			floatAcc := top1(runBatches(t, fp, evIm, nil), evLb)
			intAcc := top1(runBatches(t, qp, evIm, nil), evLb)
			ratio := float64(len(enc)) / float64(len(raw))
			t.Logf("%s: float top-1 %.2f%%, int8 top-1 %.2f%% (Δ %+.2f), size %d -> %d bytes (%.1f%%), integer nodes %d, quantized %v, fused %v, float %v",
				name, floatAcc, intAcc, intAcc-floatAcc, len(raw), len(enc), 100*ratio, qp.Stats().IntegerNodes,
				sum.QuantizedNodes, sum.FusedActivations, sum.FloatActivations)
			if parts, err := sizeBreakdown(enc); err == nil {
				t.Logf("%s: quantized file %s", name, parts)
			}
			if floatAcc-intAcc > 1 {
				t.Errorf("int8 top-1 %.2f%% is more than 1 point below float %.2f%%", intAcc, floatAcc)
			}
			if limit := sizeLimit[name]; ratio > limit {
				t.Errorf("encoded size %d is %.1f%% of the float file (%d), want <= %.0f%%", len(enc), 100*ratio, len(raw), 100*limit)
			}
		})
	}
}
