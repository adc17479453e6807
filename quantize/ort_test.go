//go:build ort

package quantize

import (
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/orttest"
	"github.com/eightbitml/eightbit/tensor"
)

// ortEvalImages is how many demo t10k images the ONNX Runtime check runs.
const ortEvalImages = 500

// TestORTLoadsQuantizedDemoModels quantizes each MNIST demo model as
// TestEndToEndMNIST does, loads the encoded file in ONNX Runtime, runs the
// first 500 demo t10k images and compares the top-1 class with eightbit's
// integer executor (agreement must be >= 99%). It also lists the op types
// of ONNX Runtime's optimized graph, which must have no float Conv, Gemm or
// MatMul left: ONNX Runtime fused every QDQ group into an integer op
// (QLinearConv, QGemm, ...).
//
// It needs cgo and the ONNX Runtime shared library:
//
//	EIGHTBIT_ORT_LIB=/path/to/libonnxruntime.so.1 CGO_ENABLED=1 go test -tags ort ./quantize -run ORT -v
//
// Without EIGHTBIT_ORT_LIB it is skipped (it fails under CI=true).
func TestORTLoadsQuantizedDemoModels(t *testing.T) {
	defer startORT(t)()

	calIm, _ := loadDemo(t, "train")
	evIm, evLb := loadDemo(t, "t10k")
	n := min(ortEvalImages, evIm.N)
	x, err := demoPre.Tensor(evIm, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range mnistModels {
		t.Run(name, func(t *testing.T) {
			d := quantizeDemo(t, name, calIm)
			qp, err := infer.Compile(d.dec, infer.Options{Integer: true})
			if err != nil {
				t.Fatal(err)
			}
			optimized := filepath.Join(t.TempDir(), "optimized.onnx")
			ortPred := ortTop1(t, d.enc, optimized, x)
			var ours []int
			for start := 0; start < n; start += demoBatch {
				end := min(start+demoBatch, n)
				xb, err := demoPre.Tensor(evIm, start, end)
				if err != nil {
					t.Fatal(err)
				}
				out, err := qp.Run(map[string]*tensor.Tensor{"input": xb})
				if err != nil {
					t.Fatal(err)
				}
				y := out["logits"]
				k := y.Shape[1]
				for i := 0; i < end-start; i++ {
					ours = append(ours, tensor.ArgMax(y.F32[i*k:(i+1)*k]))
				}
			}
			same := 0
			for i := range ours {
				if ours[i] == ortPred[i] {
					same++
				}
			}
			agree := 100 * float64(same) / float64(n)
			t.Logf("%s: %d bytes; ONNX Runtime top-1 %.2f%%, eightbit int8 top-1 %.2f%%, agreement %d/%d (%.1f%%); ONNX Runtime optimized ops %v",
				name, len(d.enc), top1(ortPred, evLb[:n]), top1(ours, evLb[:n]), same, n, agree, optimizedOps(t, optimized))
			// ONNX Runtime must have recognised every QDQ group: no float
			// Conv, Gemm or MatMul is left in its optimized graph.
			for op, k := range optimizedOps(t, optimized) {
				if op == "Conv" || op == "Gemm" || op == "MatMul" {
					t.Errorf("ONNX Runtime left %d float %s nodes unfused", k, op)
				}
			}
			if agree < 99 {
				t.Errorf("ONNX Runtime and eightbit agree on %.1f%% of the images, want >= 99%%", agree)
			}
		})
	}
}

// startORT loads ONNX Runtime from $EIGHTBIT_ORT_LIB and returns the
// function that unloads it. Without the variable the test is skipped, or
// fails under CI=true.
func startORT(t *testing.T) (stop func()) {
	t.Helper()
	return orttest.Start(t)
}

// ortTop1 runs model in ONNX Runtime on x ([N,1,28,28]) in batches of
// demoBatch, writing the optimized graph to optimized, and returns the
// top-1 class of each image.
func ortTop1(t *testing.T, model []byte, optimized string, x *tensor.Tensor) []int {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetOptimizedModelFilePath(optimized); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"input"}, []string{"logits"}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the quantized model: %v", err)
	}
	defer sess.Destroy()
	n := x.Shape[0]
	per := x.Len() / n
	var preds []int
	for start := 0; start < n; start += demoBatch {
		end := min(start+demoBatch, n)
		shape := ort.NewShape(int64(end-start), int64(x.Shape[1]), int64(x.Shape[2]), int64(x.Shape[3]))
		in, err := ort.NewTensor(shape, x.F32[start*per:end*per])
		if err != nil {
			t.Fatal(err)
		}
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			t.Fatalf("ONNX Runtime run: %v", err)
		}
		y := outs[0].(*ort.Tensor[float32]).GetData()
		k := len(y) / (end - start)
		for i := 0; i < end-start; i++ {
			preds = append(preds, tensor.ArgMax(y[i*k:(i+1)*k]))
		}
		in.Destroy()
		outs[0].Destroy()
	}
	return preds
}

// optimizedOps counts the op types of the model ONNX Runtime wrote after
// optimizing the graph.
func optimizedOps(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("no optimized model: %v", err)
		return nil
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		t.Logf("optimized model: %v", err)
		return nil
	}
	ops := map[string]int{}
	for _, n := range mp.GetGraph().GetNode() {
		ops[n.GetOpType()]++
	}
	return ops // fmt prints maps sorted by key
}
