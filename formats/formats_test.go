package formats_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/formats/tfgraph"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
	"github.com/eightbitml/eightbit/zoo"
)

func TestForFile(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"model.onnx", formats.ONNX},
		{"frozen.pb", formats.TFGraphDef},
		{"dir/FROZEN.PB", formats.TFGraphDef},
		{"s3://bucket/m/frozen.pb?region=eu-west-1", formats.TFGraphDef},
		{"s3://bucket/m/model.onnx?x=.pb", formats.ONNX},
		{"model", formats.ONNX},
	} {
		if got := formats.ForFile(tc.name); got != tc.want {
			t.Errorf("ForFile(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDecode decodes the same tiny network from ONNX bytes and checks the
// codec choice and the errors of each format.
func TestDecode(t *testing.T) {
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: graph.Dims(tensor.Shape{1, 4})}},
		Outputs:      []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
		Nodes:        []*graph.Node{{Name: "relu", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
		Initializers: map[string]*tensor.Tensor{},
	}
	data, err := onnx.Encode(&graph.Model{IRVersion: 8, Opsets: map[string]int64{"": 13}, Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"", formats.ONNX} {
		m, err := formats.Decode(data, f, formats.Options{})
		if err != nil || len(m.Graph.Nodes) != 1 || m.Graph.Nodes[0].OpType != "Relu" {
			t.Errorf("format %q: %v", f, err)
		}
	}
	if _, err := formats.Decode(data, formats.ONNX, formats.Options{Inputs: []string{"x:0"}}); err == nil || !strings.Contains(err.Error(), "no input or output cut") {
		t.Errorf("ONNX with a cut: %v", err)
	}
	if _, err := formats.Decode(data, "caffe", formats.Options{}); err == nil || !strings.Contains(err.Error(), "tf-graphdef") {
		t.Errorf("unknown format: %v", err)
	}
	// ONNX bytes are not a GraphDef.
	if _, err := formats.Decode([]byte("not a graph"), formats.TFGraphDef, formats.Options{}); !errors.Is(err, tfgraph.ErrInvalid) {
		t.Errorf("garbage as GraphDef: %v", err)
	}
}

// TestManifestFormats: the zoo manifest accepts exactly the formats Decode
// reads (package zoo cannot import this one).
func TestManifestFormats(t *testing.T) {
	if !slices.Equal(zoo.ModelFormats, formats.Names()) {
		t.Errorf("zoo.ModelFormats = %q, formats.Names() = %q", zoo.ModelFormats, formats.Names())
	}
}
