package quantize

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/qmath"
)

var mnistModels = []string{"mnist-lenet", "mnist-mlp", "mnist-dws", "mnist-dws-folded"}

// fakeRanges gives every value of the prepared graph a range, for structural
// tests that need no executor.
func fakeRanges(g *graph.Graph) map[string]qmath.Range {
	r := map[string]qmath.Range{}
	for _, in := range g.Inputs {
		r[in.Name] = qmath.Range{Min: 0, Max: 1}
	}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			r[o] = qmath.Range{Min: -float32(i%3) - 0.5, Max: float32(i%5) + 1}
			if n.OpType == "Relu" || n.OpType == "Clip" {
				r[o] = qmath.Range{Min: 0, Max: float32(i%5) + 1}
			}
		}
	}
	return r
}

// TestZooStructure quantizes the MNIST zoo models with made-up ranges and
// checks the structure, the opset, determinism of the encoded bytes and the
// encode/decode round trip.
func TestZooStructure(t *testing.T) {
	for _, name := range mnistModels {
		t.Run(name, func(t *testing.T) {
			m, err := onnx.Decode(zootest.ReadFile(t, "models", "trained", "mnist", name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Prepare(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.Graph.Nodes {
				if n.OpType == "BatchNormalization" || n.OpType == "Constant" || n.OpType == "Identity" {
					t.Errorf("prepared graph still has %s", n.Label())
				}
			}
			r := fakeRanges(p.Graph)
			q1, s, err := Quantize(m, r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, p.Graph, q1.Graph, "")
			q2, _, err := Quantize(m, r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			b1, err := onnx.Encode(q1)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := onnx.Encode(q2)
			if !bytes.Equal(b1, b2) {
				t.Fatal("two quantizations encode differently")
			}
			back, err := onnx.Decode(b1)
			if err != nil {
				t.Fatal(err)
			}
			b3, _ := onnx.Encode(back)
			if !bytes.Equal(b1, b3) {
				t.Error("decode/encode changes the quantized model")
			}
			if !reflect.DeepEqual(back.Graph.Outputs, m.Graph.Outputs) || back.Graph.Outputs[0].Name != "logits" {
				t.Errorf("graph outputs changed: %v", back.Graph.Outputs)
			}
			for _, n := range q1.Graph.Nodes {
				switch n.OpType {
				case "Relu", "Clip":
					t.Errorf("activation left: %s", n.Label())
				}
			}
			t.Logf("%s: opset %d->%d, quantized %v, fused %v, %d Q/DQ tensors, initializers %d -> %d bytes, float: %v",
				name, s.OpsetBefore, s.OpsetAfter, s.QuantizedNodes, s.FusedActivations, s.QuantizedTensors,
				s.WeightBytesBefore, s.WeightBytesAfter, s.FloatActivations)
		})
	}
}
