//go:build ort

package quantize

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
)

// ortZooEval is how many evaluation images the zoo-wide ONNX Runtime check
// runs per model and format; EIGHTBIT_QZOO_ORT_EVAL overrides it.
func ortZooEval() int {
	if v, err := strconv.Atoi(os.Getenv("EIGHTBIT_QZOO_ORT_EVAL")); err == nil && v > 0 {
		return v
	}
	return 500
}

// TestZooORT quantizes every shared-zoo model (default scheme, calibrated
// as TestZooQuantized does) in the three formats and in qoperator with
// AllowContribOps, loads each output in ONNX Runtime and runs the first
// ortZooEval() evaluation images in both ONNX Runtime and eightbit's
// integer executor. For qdq and qoperator the
// outputs (dequantized int8 values) must be equal on at least 99.9% of the
// values, the rest within one quantization step of the output (a float op
// writing the output, as fashion_mnist_edwin19's LogSoftmax, within 1e-4
// relative); for
// weights-only (float compute, ONNX Runtime at its basic optimization
// level, see ortRun) within 1e-4 relative (plus 1e-5 of the row's largest
// magnitude). Top-1 must be identical on at least 99.9% of the images.
//
//	EIGHTBIT_ORT_LIB=/path/to/libonnxruntime.so.1 go test -tags ort ./quantize -run TestZooORT -v
func TestZooORT(t *testing.T) {
	defer startORT(t)()
	for _, zm := range zooModels {
		t.Run(zm.name(), func(t *testing.T) {
			z := loadZoo(t, zm)
			n := min(ortZooEval(), z.eval.im.N)
			if zm.batch > 0 {
				n = max(n-n%zm.batch, zm.batch) // whole batches only
			}
			ev := &split{im: z.eval.im, labels: z.eval.labels[:n]}
			type variant struct {
				f    string
				opts Options
			}
			var variants []variant
			for _, f := range Formats() {
				variants = append(variants, variant{f, Options{Format: Format(f)}})
				if Format(f) == FormatQOperator {
					variants = append(variants, variant{f + "+contrib", Options{Format: FormatQOperator, AllowContribOps: true}})
				}
			}
			for _, v := range variants {
				f, format := v.f, v.opts.Format
				enc, dec, _ := z.quantizeEnc(t, v.opts)
				qp, err := infer.Compile(dec, infer.Options{Integer: true})
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				ours := z.runN(t, qp, ev, n)
				theirs := z.ortRun(t, enc, ev, n, format == FormatWeightsOnly)
				if len(ours) != len(theirs) {
					t.Fatalf("%s: eightbit gives %d values, ONNX Runtime %d", f, len(ours), len(theirs))
				}
				step := outputStep(dec.Graph, z.out)
				// Float results are compared relative to the largest
				// magnitude of their row (summation order).
				k := len(theirs) / n
				rowMax := make([]float64, n)
				for i, v := range theirs {
					rowMax[i/k] = max(rowMax[i/k], math.Abs(float64(v)))
				}
				equal, near, far := 0, 0, 0
				worst := 0.0
				for i := range ours {
					d := math.Abs(float64(ours[i]) - float64(theirs[i]))
					worst = max(worst, d)
					switch {
					case (format == FormatWeightsOnly || step == 0) && d <= 1e-4*(1+math.Abs(float64(theirs[i])))+1e-5*rowMax[i/k]:
						equal++
					case d == 0:
						equal++
					case step > 0 && d <= 1.001*step:
						near++
					default:
						far++
					}
				}
				po, pt := top1s(ours, n), top1s(theirs, n)
				same := 0
				for i := range po {
					if po[i] == pt[i] {
						same++
					}
				}
				eqShare := float64(equal) / float64(len(ours))
				topShare := float64(same) / float64(n)
				t.Logf("%s %s: %d images; values equal %.3f%% (%d of %d), within one step (%g) %d, further %d (max diff %g); top-1 identical %.2f%%; ORT top-1 %.2f%%, eightbit %.2f%%",
					zm.name(), f, n, 100*eqShare, equal, len(ours), step, near, far, worst, 100*topShare, top1(pt, ev.labels), top1(po, ev.labels))
				if eqShare < 0.999 || far > 0 {
					t.Errorf("%s: %.3f%% of values equal (want >= 99.9%%), %d further than one step", f, 100*eqShare, far)
				}
				if topShare < 0.999 {
					t.Errorf("%s: top-1 identical on %.2f%% of images, want >= 99.9%%", f, 100*topShare)
				}
			}
		})
	}
}

// outputStep returns the scale of the DequantizeLinear writing graph output
// name (0 when a float op writes it).
func outputStep(g *graph.Graph, name string) float64 {
	p := g.Producers()[name]
	if p == nil || p.OpType != "DequantizeLinear" {
		return 0
	}
	s := g.Initializers[p.Input(1)]
	if s == nil || s.Len() != 1 {
		return 0
	}
	return float64(s.F32[0])
}

// runN runs p over the first n images of s.
func (z *zooRun) runN(t *testing.T, p *infer.Program, s *split, n int) []float32 {
	sub := &split{im: s.im, labels: s.labels[:n]}
	saved := sub.im.N
	defer func() { sub.im.N = saved }()
	sub.im.N = n
	return z.runAll(t, p, sub, nil)
}

// ortRun runs an encoded model in ONNX Runtime (one thread) over the first
// n images of s in the batch size eightbit uses, returning the first
// output.
//
// basic limits ONNX Runtime to its basic graph optimizations: at the default
// level it rewrites DequantizeLinear → MatMul/Gemm of weights-only models
// into its MatMulNBits kernel, which quantizes the activations too, so the
// float results are no longer comparable.
func (z *zooRun) ortRun(t *testing.T, model []byte, s *split, n int, basic bool) []float32 {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if basic {
		if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableBasic); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("EIGHTBIT_ORT_NOOPT") != "" {
		if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
			t.Fatal(err)
		}
	}
	if dir := os.Getenv("EIGHTBIT_ORT_DUMP"); dir != "" {
		if err := opts.SetOptimizedModelFilePath(filepath.Join(dir, z.zm.name()+"-"+strconv.Itoa(len(model))+".onnx")); err != nil {
			t.Fatal(err)
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{z.in}, []string{z.out}, opts)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	defer sess.Destroy()
	var out []float32
	for start := 0; start < n; start += z.batch {
		end := min(start+z.batch, n)
		x, err := z.zm.pre.Tensor(s.im, start, end)
		if err != nil {
			t.Fatal(err)
		}
		dims := make([]int64, len(x.Shape))
		for i, d := range x.Shape {
			dims[i] = int64(d)
		}
		in, err := ort.NewTensor(ort.NewShape(dims...), x.F32)
		if err != nil {
			t.Fatal(err)
		}
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			t.Fatalf("ONNX Runtime run: %v", err)
		}
		out = append(out, outs[0].(*ort.Tensor[float32]).GetData()...)
		in.Destroy()
		outs[0].Destroy()
	}
	return out
}
