//go:build ort

package quantize

import (
	"math"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// TestConcatORT quantizes a model whose Relu branches meet in Concats (two
// Convs → Concat → MaxPool, and a Concat of that with a third Conv →
// Conv), in qdq and qoperator, and runs it in ONNX Runtime and in
// eightbit's integer executor, where the Concats run on the 8-bit values:
// the outputs must be equal on at least 99.9% of the values, the rest
// within one quantization step.
func TestConcatORT(t *testing.T) {
	defer startORT(t)()

	m, x := concatModel(true)
	ranges := observedRanges(t, m, x)
	for _, format := range []Format{FormatQDQ, FormatQOperator} {
		q, sum, err := Quantize(m, ranges, Options{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		if sum.QuantizedNodes["Concat"] != 2 {
			t.Errorf("%s: quantized nodes %v, want both Concats", format, sum.QuantizedNodes)
		}
		enc, err := onnx.Encode(q)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := infer.Compile(q, infer.Options{Integer: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := prog.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		// In qdq the executor runs the Concats and the MaxPool on the 8-bit
		// values; in qoperator they are written that way (only the output
		// is dequantized).
		st, ops := prog.Stats(), q.Graph.OpCounts()
		if st.FloatMACs != 0 || format == FormatQDQ && st.Uint8Nodes != 3 || format == FormatQOperator && ops["DequantizeLinear"] != 1 {
			t.Errorf("%s: stats %+v, ops %v; want the Concats and the MaxPool on 8-bit values", format, st, ops)
		}
		ours := res["y"].F32

		opts, err := ort.NewSessionOptions()
		if err != nil {
			t.Fatal(err)
		}
		sess, err := ort.NewDynamicAdvancedSessionWithONNXData(enc, []string{"x"}, []string{"y"}, opts)
		opts.Destroy()
		if err != nil {
			t.Fatalf("%s: ONNX Runtime cannot load the model: %v", format, err)
		}
		in, err := ort.NewTensor(ort.NewShape(2, 3, 12, 12), x.F32)
		if err != nil {
			t.Fatal(err)
		}
		outs := []ort.Value{nil}
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			t.Fatalf("%s: ONNX Runtime run: %v", format, err)
		}
		theirs := outs[0].(*ort.Tensor[float32]).GetData()
		if len(theirs) != len(ours) {
			t.Fatalf("%s: %d outputs from ONNX Runtime, %d from eightbit", format, len(theirs), len(ours))
		}
		step := float64(0)
		for _, n := range q.Graph.Nodes {
			if n.OpType == "DequantizeLinear" && n.Outputs[0] == "y" {
				step = float64(q.Graph.Initializers[n.Input(1)].F32[0])
			}
		}
		same := 0
		for i := range ours {
			if ours[i] == theirs[i] {
				same++
			} else if math.Abs(float64(ours[i])-float64(theirs[i])) > 1.001*step {
				t.Errorf("%s: output %d: eightbit %v, ONNX Runtime %v (step %v)", format, i, ours[i], theirs[i], step)
				break
			}
		}
		if share := float64(same) / float64(len(ours)); share < 0.999 {
			t.Errorf("%s: %.2f%% of outputs equal, want >= 99.9%%", format, 100*share)
		}
		t.Logf("%s: %d of %d outputs equal; ops %v", format, same, len(ours), q.Graph.OpCounts())
		in.Destroy()
		outs[0].Destroy()
		sess.Destroy()
	}
}
