package onnx

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

// buildModel returns a small model that uses every feature the IR carries:
// all element types, scalar and empty tensors, every attribute kind, fixed,
// symbolic and unknown dimensions, several opset domains and metadata.
func buildModel(ir int64) *graph.Model {
	nan := float32(math.NaN())
	g := &graph.Graph{
		Name:      "tiny",
		DocString: "a test graph",
		Inputs: []graph.ValueInfo{
			{Name: "x", DType: tensor.Float32, Shape: []graph.Dim{{Value: -1, Param: "batch"}, {Value: 4}}, DocString: "input"},
			{Name: "mask", DType: tensor.Bool, Shape: []graph.Dim{{Value: -1}}},
			{Name: "anything"},
		},
		Outputs: []graph.ValueInfo{
			{Name: "y", DType: tensor.Float32, Shape: []graph.Dim{{Value: -1, Param: "batch"}, {Value: 3}}},
			{Name: "q", DType: tensor.Uint8, Shape: []graph.Dim{}},
		},
		ValueInfo: []graph.ValueInfo{
			{Name: "h", DType: tensor.Float32, Shape: []graph.Dim{{Value: 0}, {Value: 3}}},
			{Name: "half", DType: tensor.DType(10)},
		},
		Initializers: map[string]*tensor.Tensor{
			"w":     tensor.FromFloat32(tensor.Shape{4, 3}, []float32{1, -2, 3.5, 0, nan, float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-40, 7, 8, 9, 10}),
			"b":     tensor.FromFloat32(tensor.Shape{3}, []float32{0.1, 0.2, 0.3}),
			"scale": tensor.ScalarFloat32(0.05),
			"zp":    tensor.FromUint8(nil, []uint8{128}),
			"i8":    tensor.FromInt8(tensor.Shape{2}, []int8{-128, 127}),
			"i32":   tensor.FromInt32(tensor.Shape{2, 1}, []int32{math.MinInt32, math.MaxInt32}),
			"i64":   tensor.FromInt64(tensor.Shape{3}, []int64{math.MinInt64, 0, math.MaxInt64}),
			"flags": {DType: tensor.Bool, Shape: tensor.Shape{3}, U8: []uint8{1, 0, 1}},
			"empty": tensor.FromFloat32(tensor.Shape{0, 5}, []float32{}),
		},
		Nodes: []*graph.Node{
			{Name: "mm", OpType: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"h"},
				Attrs: map[string]*graph.Attr{
					"alpha":  graph.FloatAttr(1),
					"transB": graph.IntAttr(0),
					"nan":    graph.FloatAttr(nan),
				}, DocString: "matmul"},
			{OpType: "Relu", Inputs: []string{"h"}, Outputs: []string{"y"}},
			{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"y", "scale", "zp"}, Outputs: []string{"q"},
				Attrs: map[string]*graph.Attr{"axis": graph.IntAttr(1)}},
			{Name: "custom", OpType: "Thing", Domain: "com.example", Inputs: []string{"", "mask"}, Outputs: []string{"c", ""},
				Attrs: map[string]*graph.Attr{
					"mode":    graph.StringAttr("fast"),
					"sizes":   graph.IntsAttr(1, -2, 3),
					"none":    graph.IntsAttr(),
					"weights": {Type: graph.AttrFloats, Floats: []float32{0.5, nan, -1}},
					"names":   {Type: graph.AttrStrings, Strings: []string{"a", "", "\xff\xfe"}},
					"value":   graph.TensorAttr(tensor.FromInt64(tensor.Shape{2}, []int64{4, 5})),
					"empty":   graph.StringAttr(""),
				}},
		},
	}
	return &graph.Model{
		IRVersion:       ir,
		ProducerName:    "eightbit-test",
		ProducerVersion: "0.1",
		Domain:          "ml.eightbit",
		ModelVersion:    3,
		DocString:       "doc",
		Opsets:          map[string]int64{"": 13, "com.example": 1, "ai.onnx.ml": 3},
		Metadata:        []graph.KeyValue{{Key: "z", Value: "last"}, {Key: "a", Value: "first"}, {Key: "a", Value: "dup"}},
		Graph:           g,
	}
}

func mustEncode(t testing.TB, m *graph.Model) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

func mustDecode(t testing.TB, b []byte) *graph.Model {
	t.Helper()
	m, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return m
}

func TestRoundTripBuilt(t *testing.T) {
	for _, ir := range []int64{3, 8, 10} {
		m := buildModel(ir)
		b := mustEncode(t, m)
		got := mustDecode(t, b)
		if d := diffModels(m, got); d != "" {
			t.Errorf("IR %d: Decode(Encode(m)) differs: %s", ir, d)
		}
		for i := 0; i < 5; i++ {
			if b2 := mustEncode(t, buildModel(ir)); !bytes.Equal(b, b2) {
				t.Fatalf("IR %d: encoding is not deterministic", ir)
			}
		}
		if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
			t.Errorf("IR %d: Encode(Decode(Encode(m))) != Encode(m)", ir)
		}
	}
}

func TestEncodeLayout(t *testing.T) {
	m := buildModel(0)
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(mustEncode(t, m), &mp); err != nil {
		t.Fatal(err)
	}
	if mp.GetIrVersion() != DefaultIRVersion {
		t.Errorf("ir_version = %d, want default %d", mp.GetIrVersion(), DefaultIRVersion)
	}
	var domains []string
	for _, op := range mp.GetOpsetImport() {
		domains = append(domains, op.GetDomain())
	}
	if strings.Join(domains, ",") != ",ai.onnx.ml,com.example" {
		t.Errorf("opset domains %q not sorted", domains)
	}
	var inits []string
	for _, tp := range mp.GetGraph().GetInitializer() {
		inits = append(inits, tp.GetName())
		if tp.RawData == nil || len(tp.FloatData)+len(tp.Int32Data)+len(tp.Int64Data) > 0 {
			t.Errorf("initializer %q not written as raw_data", tp.GetName())
		}
	}
	if strings.Join(inits, ",") != "b,empty,flags,i32,i64,i8,scale,w,zp" {
		t.Errorf("initializers %q not sorted by name", inits)
	}
	var attrs []string
	for _, ap := range mp.GetGraph().GetNode()[3].GetAttribute() {
		attrs = append(attrs, ap.GetName())
	}
	if strings.Join(attrs, ",") != "empty,mode,names,none,sizes,value,weights" {
		t.Errorf("attributes %q not sorted by name", attrs)
	}
	if n := len(mp.GetGraph().GetInput()); n != 3 {
		t.Errorf("IR 8 graph has %d inputs, want the 3 runtime inputs", n)
	}

	// IR 3 requires initializers to be graph inputs.
	if err := proto.Unmarshal(mustEncode(t, buildModel(3)), &mp); err != nil {
		t.Fatal(err)
	}
	if n := len(mp.GetGraph().GetInput()); n != 3+9 {
		t.Errorf("IR 3 graph has %d inputs, want 3 runtime inputs + 9 initializers", n)
	}
}

// zooModels lists every .onnx file under the shared zoo's models folder.
func zooModels(t *testing.T) []string {
	root := zootest.Path(t, "models")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".onnx") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d .onnx files under %s", len(files), root)
	}
	return files
}

func TestZooRoundTrip(t *testing.T) {
	for _, p := range zooModels(t) {
		rel, _ := filepath.Rel(zootest.Root(), p)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m1, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode %s: %v", rel, err)
			}
			if len(m1.Graph.Nodes) == 0 || len(m1.Graph.Inputs) == 0 || len(m1.Graph.Outputs) == 0 {
				t.Fatalf("%s: empty graph after decoding", rel)
			}
			for _, in := range m1.Graph.Inputs {
				if m1.Graph.IsInitializer(in.Name) {
					t.Errorf("initializer %q listed among the inputs", in.Name)
				}
			}
			if err := m1.Clone().Graph.Validate(); err != nil {
				t.Errorf("decoded graph does not validate: %v", err)
			}
			b1 := mustEncode(t, m1)
			m2 := mustDecode(t, b1)
			if d := diffModels(m1, m2); d != "" {
				t.Fatalf("round trip differs: %s", d)
			}
			if b2 := mustEncode(t, m1); !bytes.Equal(b1, b2) {
				t.Errorf("encoding twice gives different bytes")
			}
			if b3 := mustEncode(t, m2); !bytes.Equal(b1, b3) {
				t.Errorf("re-encoding the decoded copy gives different bytes")
			}
		})
	}
}

func TestZooFacts(t *testing.T) {
	m := mustDecode(t, zootest.ReadFile(t, "models", "mnist", "mnist-7.onnx"))
	if m.IRVersion != 3 || m.Opset() != 7 {
		t.Errorf("mnist-7: IR %d opset %d, want 3 and 7", m.IRVersion, m.Opset())
	}
	if len(m.Graph.Inputs) != 1 {
		t.Fatalf("mnist-7: inputs %v, want only Input3", m.Graph.Inputs)
	}
	in := m.Graph.Inputs[0]
	if in.Name != "Input3" || in.DType != tensor.Float32 || in.ShapeString() != "[1,1,28,28]" {
		t.Errorf("mnist-7: input %q %v %s, want Input3 float32 [1,1,28,28]", in.Name, in.DType, in.ShapeString())
	}
	if len(m.Graph.Initializers) == 0 {
		t.Errorf("mnist-7: no initializers")
	}
	if len(m.Graph.Outputs) != 1 || m.Graph.Outputs[0].ShapeString() != "[1,10]" {
		t.Errorf("mnist-7: outputs %+v, want one [1,10]", m.Graph.Outputs)
	}
	if c := m.Graph.OpCounts(); c["Conv"] != 2 || c["MaxPool"] != 2 {
		t.Errorf("mnist-7: op counts %v", c)
	}

	m = mustDecode(t, zootest.ReadFile(t, "models", "trained", "mnist", "mnist-lenet.onnx"))
	if len(m.Graph.Inputs) != 1 {
		t.Fatalf("mnist-lenet: inputs %+v", m.Graph.Inputs)
	}
	in = m.Graph.Inputs[0]
	if in.Name != "input" || len(in.Shape) != 4 || in.Shape[0].Param != "batch" || in.Shape[0].Value >= 0 || in.ShapeString() != "[batch,1,28,28]" {
		t.Errorf("mnist-lenet: input %q %+v, want input [batch,1,28,28]", in.Name, in.Shape)
	}

	// The structure models keep their weights as ConstantOfShape nodes; the
	// reference output is a plain TensorProto.
	out, name, err := DecodeTensor(zootest.ReadFile(t, "models", "structure", "light_squeezenet_output_0.pb"))
	if err != nil {
		t.Fatalf("light_squeezenet_output_0.pb: %v", err)
	}
	if out.DType != tensor.Float32 || out.Shape.Size() == 0 {
		t.Errorf("light_squeezenet output %q: %v%v", name, out.DType, out.Shape)
	}
}

// TestNodeTests decodes selected ONNX backend node tests fully, then sweeps
// all of them: an official model or tensor may be unsupported, never
// reported as invalid, and the decoder must not fail otherwise.
func TestNodeTests(t *testing.T) {
	root := zootest.Path(t, "onnx-node-tests", "v1.12.0")
	for _, name := range []string{
		"test_add", "test_and2d", "test_conv_with_strides_padding", "test_constant",
		"test_cast_DOUBLE_to_FLOAT", "test_cast_FLOAT_to_DOUBLE", "test_cast_FLOAT_to_FLOAT16",
		"test_quantizelinear", "test_dequantizelinear", "test_gemm_default_single_elem_vector_bias",
		"test_reshape_reordered_all_dims", "test_dropout_default", "test_identity",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			m := mustDecode(t, readFile(t, filepath.Join(dir, "model.onnx")))
			if d := diffModels(m, mustDecode(t, mustEncode(t, m))); d != "" {
				t.Errorf("round trip differs: %s", d)
			}
			for _, kind := range []struct {
				prefix string
				decl   []graph.ValueInfo
			}{{"input", m.Graph.Inputs}, {"output", m.Graph.Outputs}} {
				for i, vi := range kind.decl {
					p := filepath.Join(dir, "test_data_set_0", kind.prefix+"_"+strconv.Itoa(i)+".pb")
					data := readFile(t, p)
					tt, tname, err := DecodeTensor(data)
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					if tname != vi.Name && tname != "" {
						t.Errorf("%s: tensor name %q, want %q", p, tname, vi.Name)
					}
					want := vi.DType
					if want == 10 || want == 11 { // FLOAT16, DOUBLE load as float32
						want = tensor.Float32
					}
					if tt.DType != want {
						t.Errorf("%s: type %v, declared %v", p, tt.DType, vi.DType)
					}
					if len(vi.Shape) != len(tt.Shape) {
						t.Errorf("%s: shape %v, declared %s", p, tt.Shape, vi.ShapeString())
					}
					// EncodeTensor then DecodeTensor gives the same tensor.
					enc, err := EncodeTensor(tt, tname)
					if err != nil {
						t.Fatal(err)
					}
					back, bname, err := DecodeTensor(enc)
					if err != nil || bname != tname {
						t.Fatalf("%s: re-decoding: %q %v", p, bname, err)
					}
					if d := diffTensors(tt, back); d != "" {
						t.Errorf("%s: tensor round trip: %s", p, d)
					}
				}
			}
		})
	}

	t.Run("test_if", func(t *testing.T) {
		_, err := Decode(readFile(t, filepath.Join(root, "test_if", "model.onnx")))
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "If") || !strings.Contains(err.Error(), "then_branch") && !strings.Contains(err.Error(), "else_branch") {
			t.Errorf("If model: got %v, want an unsupported graph attribute error naming the node", err)
		}
	})

	t.Run("all", func(t *testing.T) {
		dirs, err := filepath.Glob(filepath.Join(root, "test_*"))
		if err != nil || len(dirs) < 900 {
			t.Fatalf("found %d node tests (%v)", len(dirs), err)
		}
		decoded, unsupported := 0, 0
		for _, dir := range dirs {
			m, err := Decode(readFile(t, filepath.Join(dir, "model.onnx")))
			switch {
			case err == nil:
				decoded++
				if d := diffModels(m, mustDecode(t, mustEncode(t, m))); d != "" {
					t.Errorf("%s: round trip differs: %s", filepath.Base(dir), d)
				}
			case errors.Is(err, ErrUnsupported):
				unsupported++
			default:
				t.Errorf("%s: %v", filepath.Base(dir), err)
			}
		}
		t.Logf("%d node-test models decoded, %d unsupported", decoded, unsupported)
		if decoded < 850 {
			t.Errorf("only %d of %d node-test models decode", decoded, len(dirs))
		}
	})
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
