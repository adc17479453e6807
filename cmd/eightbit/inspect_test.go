package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/internal/version"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
	"github.com/eightbitml/eightbit/zoo"
)

// TestInspect inspects a demo model and its 8-bit versions: the quantized
// files have the float model's inputs, outputs, parameters (int8 weights
// and int32 biases count, scales do not) and MACs, eightbit as producer,
// and eightbit runs them.
func TestInspect(t *testing.T) {
	dir, float, m := demoModel(t, "mnist-dws-folded")
	want := inspectJSON(t, float)
	if want.Parameters <= 0 || want.MACs <= 0 || want.MACsPartial || len(want.Unsupported) > 0 || want.Ops["Conv"] == 0 {
		t.Fatalf("float model: %+v", want)
	}
	ranges := madeUpRanges(t, m)
	for _, o := range []quantize.Options{{Format: quantize.FormatQDQ}, {Format: quantize.FormatQOperator},
		{Format: quantize.FormatQOperator, AllowContribOps: true}, {Format: quantize.FormatWeightsOnly}} {
		format := fmt.Sprintf("%s-%v", o.Format, o.AllowContribOps)
		q, _, err := quantize.Quantize(m, ranges, o)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := onnx.Encode(q)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, format+".onnx")
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		got := inspectJSON(t, path)
		if got.Parameters != want.Parameters || got.MACs != want.MACs || got.MACsPartial || len(got.Unsupported) > 0 ||
			got.Bytes != len(enc) || got.Inputs[0].Shape != want.Inputs[0].Shape || got.Outputs[0] != want.Outputs[0] ||
			got.Producer != version.Producer+" "+version.Version {
			t.Errorf("%s: %+v\nfloat: %+v", format, got, want)
		}
	}

	code, stdout, _ := runCLI("inspect", float)
	if code != exitOK || !strings.Contains(stdout, "unsupported: none") || !strings.Contains(stdout, "MACs/image:") {
		t.Errorf("text output (exit %d):\n%s", code, stdout)
	}
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"inspect"}, exitUsage, "missing MODEL_URL"},
		{[]string{"inspect", filepath.Join(dir, "absent.onnx")}, exitFailed, "absent.onnx"},
		{[]string{"inspect", garbage}, exitFailed, "garbage.onnx"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

// demoModel unpacks the demo zoo into a temporary folder and returns the
// folder, the path of the named MNIST model and the decoded model.
func demoModel(t *testing.T, name string) (dir, path string, m *graph.Model) {
	t.Helper()
	dir = t.TempDir()
	if err := demozoo.Unpack(dir); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "mnist", name+".onnx")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, err = onnx.Decode(raw); err != nil {
		t.Fatal(err)
	}
	return dir, path, m
}

// madeUpRanges gives every tensor of Prepare(m) a range (inputs [0, 1],
// Relu/Clip outputs [0, 4], the rest [−4, 4]): enough to quantize a model
// for tests of structure and speed, not of accuracy.
func madeUpRanges(t *testing.T, m *graph.Model) map[string]qmath.Range {
	t.Helper()
	p, err := quantize.Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[string]qmath.Range{}
	for _, in := range p.Graph.Inputs {
		ranges[in.Name] = qmath.Range{Min: 0, Max: 1}
	}
	for _, n := range p.Graph.Nodes {
		for _, o := range n.Outputs {
			ranges[o] = qmath.Range{Min: -4, Max: 4}
			if n.OpType == "Clip" || n.OpType == "Relu" {
				ranges[o] = qmath.Range{Min: 0, Max: 4}
			}
		}
	}
	return ranges
}

func inspectJSON(t *testing.T, path string) inspectReport {
	t.Helper()
	code, stdout, stderr := runCLI("inspect", path, "--json")
	if code != exitOK {
		t.Fatalf("inspect %s: exit %d: %s", path, code, stderr)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("inspect %s: %v\n%s", path, err, stdout)
	}
	return r
}

// TestInspectGraphDef inspects the shared zoo's TensorFlow frozen graph:
// inspect and bench read .pb files as GraphDefs.
func TestInspectGraphDef(t *testing.T) {
	pb := zootest.Path(t, "models", "tf", "fc-layers-frozen.pb")
	r := inspectJSON(t, pb)
	if r.Producer != "tensorflow" || len(r.Inputs) != 1 || r.Inputs[0].Name != "X" || len(r.Outputs) != 1 || r.Outputs[0].Name != "output" ||
		r.Parameters != 784*256+256+256*256+256+256*10+10 || r.MACs != 784*256+256*256+256*10 || len(r.Unsupported) > 0 || r.CompileErr != "" {
		t.Errorf("%+v", r)
	}
	if code, stdout, stderr := runCLI("bench", pb, "--runs", "1", "--iters", "1", "--warmup", "0"); code != exitOK || !strings.Contains(stdout, "[1,784]") {
		t.Errorf("bench: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestInspectQuantizable: inspect says what quantize-zoo will do with a
// model that runs: an opset-9 graph is written at opset 13, one whose
// Dropout mask is used (no opset-13 equivalent) cannot be quantized, with
// the node named.
func TestInspectQuantizable(t *testing.T) {
	dir, float, _ := demoModel(t, "mnist-dws-folded")
	if r := inspectJSON(t, float); r.QuantizeOpset != quantize.MinOpset || r.QuantizeErr != "" {
		t.Errorf("demo model: quantize opset %d, error %q", r.QuantizeOpset, r.QuantizeErr)
	}
	write := func(name string, mask bool) string {
		g := &graph.Graph{Name: name, Initializers: map[string]*tensor.Tensor{},
			Inputs: []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: []graph.Dim{{Value: 1}, {Value: 2}, {Value: 3}, {Value: 3}}}},
			Nodes: []*graph.Node{
				{Name: "up", OpType: "Upsample", Inputs: []string{"x", "scales"}, Outputs: []string{"u"}},
				{Name: "drop", OpType: "Dropout", Inputs: []string{"u"}, Outputs: []string{"y", "mask"}},
			},
			Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32}}}
		g.Initializers["scales"] = tensor.FromFloat32(tensor.Shape{4}, []float32{1, 1, 2, 2})
		if mask {
			g.Outputs = append(g.Outputs, graph.ValueInfo{Name: "mask", DType: tensor.Float32})
		} else {
			g.Nodes[1].Outputs = g.Nodes[1].Outputs[:1]
		}
		b, err := onnx.Encode(&graph.Model{IRVersion: 4, Opsets: map[string]int64{"": 9}, Graph: g})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".onnx")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	up := write("upsample9", false)
	if r := inspectJSON(t, up); r.CompileErr != "" || len(r.Unsupported) > 0 || r.QuantizeOpset != 13 || r.QuantizeErr != "" {
		t.Errorf("opset-9 Upsample: %+v", r)
	}
	if _, stdout, _ := runCLI("inspect", up); !strings.Contains(stdout, "written at opset 13 (upgraded from 9)") {
		t.Errorf("text output:\n%s", stdout)
	}
	masked := write("mask", true)
	r := inspectJSON(t, masked)
	if r.CompileErr != "" || len(r.Unsupported) > 0 || r.QuantizeKind != "unsupported" || !strings.Contains(r.QuantizeErr, `"drop"`) {
		t.Errorf("used Dropout mask: %+v", r)
	}
	if _, stdout, _ := runCLI("inspect", masked); !strings.Contains(stdout, "cannot quantize (unsupported)") {
		t.Errorf("text output:\n%s", stdout)
	}
}

// TestInspectManifestEntry: the zoo.yaml entry inspect drafts is a valid
// manifest entry for the model's input layout (NCHW images, NHWC images,
// a flat vector) and names the class count.
func TestInspectManifestEntry(t *testing.T) {
	dims := func(v ...int64) []graph.Dim {
		var ds []graph.Dim
		for _, x := range v {
			ds = append(ds, graph.Dim{Value: x})
		}
		return ds
	}
	for _, tc := range []struct {
		name  string
		shape []graph.Dim
		want  []string
	}{
		{"nchw", append([]graph.Dim{{Param: "N"}}, dims(3, 32, 32)...), []string{"channels: 3", "resize: {width: 32, height: 32}", "layout: NCHW", "classes: 10"}},
		{"nhwc", dims(1, 48, 64, 1), []string{"channels: 1", "resize: {width: 64, height: 48}", "layout: NHWC"}},
		{"flat", dims(1, 784), []string{"shape: [784]"}},
	} {
		g := &graph.Graph{Inputs: []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: tc.shape}},
			Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32, Shape: dims(1, 10)}}}
		entry := manifestEntry("/models/"+tc.name+".onnx", g)
		for _, w := range tc.want {
			if !strings.Contains(entry, w) {
				t.Errorf("%s: entry lacks %q:\n%s", tc.name, w, entry)
			}
		}
		man := "datasets:\n  d:\n    format: idx\n    classes: 10\n    calibration: {images: a.gz, labels: b.gz}\n    evaluation: {images: c.gz, labels: e.gz}\nmodels:\n"
		for _, l := range strings.Split(strings.TrimRight(entry, "\n"), "\n") {
			man += "  " + l + "\n"
		}
		man = strings.Replace(man, "dataset: <name>", "dataset: d", 1)
		if _, err := zoo.Parse([]byte(man)); err != nil {
			t.Errorf("%s: the drafted entry does not parse: %v\n%s", tc.name, err, man)
		}
	}
}
