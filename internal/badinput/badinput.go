// Package badinput is a corpus of hostile inputs: truncated and foreign
// files, models with NaN weights, an opset from the future, dangling
// inputs, cycles, external data that leaves the model's folder, shapes
// claiming terabytes, corrupt images and IDX files, manifest typos. Each
// case says the failure kind and a fragment of the message eightbit must
// give for it; the tests run every case through the loading path that
// `eightbit inspect` uses (package cmd/eightbit runs them through inspect
// itself).
//
// Cases are built in code and written to a folder by Write; nothing is
// downloaded.
package badinput

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/zoo"
	"google.golang.org/protobuf/proto"
)

// What a case's main file is.
const (
	Model     = "model"      // a model file, loaded as inspect loads it
	Image     = "image"      // an image of an image-folder dataset
	IDXImages = "idx-images" // an IDX image file
	IDXLabels = "idx-labels" // an IDX label file
	Manifest  = "manifest"   // a zoo manifest
)

// Case is one hostile input.
type Case struct {
	Name string
	// Type is what Main is: Model, Image, IDXImages, IDXLabels or
	// Manifest.
	Type string
	// Main names the file to load among Files.
	Main string
	// Files are written into the case's folder; Links are symbolic links
	// (name → target; a target "@outside/x" lies in a sibling folder,
	// outside the case's folder).
	Files map[string][]byte
	Links map[string]string
	// Outside are files written to the sibling folder Links may point to.
	Outside map[string][]byte
	// Kind and Want are the failure kind and a fragment of the message
	// loading the case must give.
	Kind failure.Kind
	Want string
}

// Write writes the case into dir/<case name>/ (the files and links) and
// dir/<case name>-outside/ (the outside files), and returns the location
// of its main file.
func (c Case) Write(dir string) (string, error) {
	folder := filepath.Join(dir, c.Name)
	outside := filepath.Join(dir, c.Name+"-outside")
	for _, d := range []string{folder, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	for name, b := range c.Files {
		if err := os.WriteFile(filepath.Join(folder, name), b, 0o644); err != nil {
			return "", err
		}
	}
	for name, b := range c.Outside {
		if err := os.WriteFile(filepath.Join(outside, name), b, 0o644); err != nil {
			return "", err
		}
	}
	for name, target := range c.Links {
		if rest, ok := cutPrefix(target, "@outside/"); ok {
			target = filepath.Join(outside, rest)
		}
		p := filepath.Join(folder, name)
		_ = os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			return "", err
		}
	}
	return filepath.Join(folder, c.Main), nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// Load loads the main file at loc as its Type says: a model as inspect
// does (read, decode with external data confined to the model's folder,
// graph.Validate, infer.Compile), a data file with its dataset decoder, a
// manifest with zoo.Parse.
func (c Case) Load(ctx context.Context, loc string) error {
	switch c.Type {
	case Model:
		return LoadModel(ctx, loc)
	}
	data, err := storage.ReadLocation(ctx, loc)
	if err != nil {
		return err
	}
	switch c.Type {
	case Image:
		_, err = dataset.DecodeImage(data)
	case IDXImages:
		_, err = dataset.DecodeIDXImages(data)
	case IDXLabels:
		_, err = dataset.DecodeIDXLabels(data)
	case Manifest:
		_, err = zoo.Parse(data)
	default:
		err = fmt.Errorf("badinput: case %s: unknown type %q", c.Name, c.Type)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	return nil
}

// LoadModel loads a model the way `eightbit inspect` does and returns the
// first error: reading, decoding (external data through
// storage.ReadInside), graph.Validate, infer.Compile.
func LoadModel(ctx context.Context, loc string) error {
	data, err := storage.ReadLocationLimit(ctx, loc, onnx.DefaultLimits.MaxModelBytes)
	if err != nil {
		return err
	}
	folder := filepath.Dir(loc)
	m, err := formats.Decode(data, formats.ForFile(loc), formats.Options{External: func(rel string) ([]byte, error) {
		return storage.ReadInside(ctx, folder, rel)
	}})
	if err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	if err := m.Graph.Clone().Validate(); err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	if _, err := infer.Compile(m, infer.Options{}); err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	return nil
}

// ---- model builders ----

func f32Type() *int32 { v := int32(onnxpb.TensorProto_FLOAT); return &v }

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: f32Type(), Shape: shape}},
	}}
}

func floatTensor(name string, dims []int64, vs []float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: f32Type(), Dims: dims, FloatData: vs}
}

func filled(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func node(op, name string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: ins, Output: outs, Attribute: attrs}
}

// classifier is a valid model: y = Gemm(x[1,100], fc.weight[100,10],
// fc.bias[10]) at opset 13.
func classifier() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("classifier"),
			Input:  []*onnxpb.ValueInfoProto{valueInfo("x", 1, 100)},
			Output: []*onnxpb.ValueInfoProto{valueInfo("y", 1, 10)},
			Initializer: []*onnxpb.TensorProto{
				floatTensor("fc.weight", []int64{100, 10}, filled(1000, 0.01)),
				floatTensor("fc.bias", []int64{10}, filled(10, 0)),
			},
			Node: []*onnxpb.NodeProto{node("Gemm", "fc", []string{"x", "fc.weight", "fc.bias"}, []string{"y"})},
		},
	}
}

func marshal(m *onnxpb.ModelProto) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// edited returns the classifier's bytes after edit.
func edited(edit func(m *onnxpb.ModelProto)) []byte {
	m := classifier()
	edit(m)
	return marshal(m)
}

func external(t *onnxpb.TensorProto, location string) {
	t.FloatData = nil
	t.DataLocation = proto.Int32(int32(onnxpb.TensorProto_EXTERNAL))
	t.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(location)}}
}

func rawFloats(vs []float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// nested returns a node whose GRAPH attribute nests depth graphs.
func nested(depth int) *onnxpb.NodeProto {
	var g *onnxpb.GraphProto
	for range depth {
		n := node("Identity", "inner", []string{"x"}, []string{"y"})
		if g != nil {
			n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}}
		}
		g = &onnxpb.GraphProto{Name: proto.String("body"), Node: []*onnxpb.NodeProto{n}}
	}
	return node("If", "deep", []string{"x"}, []string{"z"},
		&onnxpb.AttributeProto{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g})
}

// ---- data builders ----

func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func idxFile(typ byte, dims []uint32, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

const manifestTypo = `datasets:
  mnist:
    format: idx
    classes: 10
    calibration: {images: train-images.gz, labels: train-labels.gz}
    evaluation: {images: t10k-images.gz, labels: t10k-labels.gz}
models:
  - name: lenet
    file: lenet.onnx
    dataset: mnist
  - name: mlp
    file: mlp.onnx
    dataset: mnist
  - name: resnet
    file: resnet.onnx
    dataset: mnist
    preprocess:
      divide: 255
      mena: [0.5]
`

func one(name string, b []byte) map[string][]byte { return map[string][]byte{name: b} }

// Cases returns the corpus.
func Cases() []Case {
	valid := marshal(classifier())
	nan := func(m *onnxpb.ModelProto) {
		w := m.Graph.Initializer[0].FloatData
		w[3], w[500] = float32(math.NaN()), float32(math.Inf(1))
		w[999] = float32(math.NaN())
	}
	cs := []Case{
		{Name: "truncated-protobuf", Type: Model, Files: one("m.onnx", valid[:len(valid)-37]),
			Kind: failure.InvalidModel, Want: "at byte"},
		{Name: "wrong-magic-zip", Type: Model, Files: one("m.onnx", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00 this is a zip file, not a model")),
			Kind: failure.InvalidModel, Want: "invalid ONNX data"},
		{Name: "empty-model", Type: Model, Files: one("m.onnx", nil),
			Kind: failure.InvalidModel, Want: "empty"},
		{Name: "missing-model", Type: Model, Files: map[string][]byte{},
			Kind: failure.NotFound, Want: "no such file"},
		{Name: "nan-weights", Type: Model, Files: one("m.onnx", edited(nan)),
			Kind: failure.NonFinite, Want: `tensor "fc.weight": 3 of 1000 values are NaN or infinite`},
		{Name: "inf-constant", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node = append([]*onnxpb.NodeProto{node("Constant", "shift", nil, []string{"shift"},
				&onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
					T: floatTensor("", []int64{10}, append(filled(9, 1), float32(math.Inf(-1))))})}, m.Graph.Node...)
			m.Graph.Node[1].Output = []string{"y0"}
			m.Graph.Node = append(m.Graph.Node, node("Add", "add", []string{"y0", "shift"}, []string{"y"}))
		})), Kind: failure.NonFinite, Want: `tensor "shift" (value of Constant "shift"): 1 of 10 values are NaN or infinite`},
		{Name: "opset-99", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.OpsetImport[0].Version = proto.Int64(99)
		})), Kind: failure.Unsupported, Want: fmt.Sprintf("opset 99, newer than %d", infer.MaxOpset)},
		{Name: "dangling-input", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].Input[2] = "ghost"
		})), Kind: failure.InvalidModel, Want: `reads "ghost", which no node, input or initializer defines`},
		{Name: "cycle", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].Input[0] = "z"
			m.Graph.Node[0].Output = []string{"y"}
			m.Graph.Node = append(m.Graph.Node, node("Relu", "back", []string{"y"}, []string{"z"}))
		})), Kind: failure.InvalidModel, Want: "cycle"},
		{Name: "duplicate-producer", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, node("Relu", "again", []string{"x"}, []string{"y"}))
		})), Kind: failure.InvalidModel, Want: `value "y" is written by both`},
		{Name: "output-not-produced", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Output = append(m.Graph.Output, valueInfo("nowhere", 1))
		})), Kind: failure.InvalidModel, Want: `graph output "nowhere" is not produced`},
		{Name: "external-dotdot", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			external(m.Graph.Initializer[0], "../secret.bin")
		})), Kind: failure.InvalidModel, Want: "outside the model's folder"},
		{Name: "external-absolute", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			external(m.Graph.Initializer[0], "/etc/passwd")
		})), Kind: failure.InvalidModel, Want: "not a relative path inside the model's folder"},
		{Name: "external-symlink-out", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			external(m.Graph.Initializer[0], "link.bin")
		})), Links: map[string]string{"link.bin": "@outside/weights.bin"},
			Outside: one("weights.bin", rawFloats(filled(1000, 0.5))),
			Kind:    failure.InvalidModel, Want: `"link.bin" in `},
		{Name: "external-missing", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			external(m.Graph.Initializer[0], "gone.bin")
		})), Kind: failure.NotFound, Want: `external data "gone.bin"`},
		{Name: "external-short", Type: Model, Files: map[string][]byte{"m.onnx": edited(func(m *onnxpb.ModelProto) {
			external(m.Graph.Initializer[0], "w.bin")
		}), "w.bin": rawFloats(filled(10, 1))}, Kind: failure.InvalidModel, Want: "raw_data holds 40 bytes"},
		{Name: "huge-input-shape", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Input[0] = valueInfo("x", 1<<20, 1<<20)
		})), Kind: failure.InvalidModel, Want: `graph input "x" has shape [1048576 1048576], more than the limit`},
		{Name: "huge-initializer-dims", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1 << 20, 1 << 20}
		})), Kind: failure.InvalidModel, Want: "fc.weight"},
		{Name: "huge-constant-of-shape", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("big.shape"),
				DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{1}, Int64Data: []int64{1 << 40}})
			m.Graph.Node = append(m.Graph.Node, node("ConstantOfShape", "fill", []string{"big.shape"}, []string{"big"}))
		})), Kind: failure.InvalidModel, Want: "[1099511627776], more than the limit"},
		{Name: "zero-size-with-data", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			b := m.Graph.Initializer[1]
			b.FloatData, b.Dims, b.RawData = nil, []int64{0}, rawFloats([]float32{1})
		})), Kind: failure.InvalidModel, Want: "raw_data holds 4 bytes"},
		{Name: "unsupported-op", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].OpType = proto.String("FancyAttention")
		})), Kind: failure.Unsupported, Want: "FancyAttention"},
		{Name: "bad-dtype", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[1].DataType = proto.Int32(int32(onnxpb.TensorProto_STRING))
		})), Kind: failure.Unsupported, Want: "element type STRING"},
		{Name: "unknown-dtype", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[1].DataType = proto.Int32(977)
		})), Kind: failure.Unsupported, Want: "data type 977"},
		{Name: "huge-attribute", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			ints := make([]int64, 1<<20+1)
			m.Graph.Node[0].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("junk"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: ints}}
		})), Kind: failure.InvalidModel, Want: `attribute "junk" has 1048577 elements, more than the limit`},
		{Name: "deep-subgraphs", Type: Model, Files: one("m.onnx", edited(func(m *onnxpb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, nested(40))
		})), Kind: failure.InvalidModel, Want: "more than the limit of 16"},
		{Name: "corrupt-jpeg", Type: Image, Files: one("cat.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00 garbage after the header")),
			Kind: failure.BadData, Want: "image"},
		{Name: "png-header-huge", Type: Image, Files: one("big.png", pngHeader(100000, 100000)),
			Kind: failure.BadData, Want: "100000x100000 pixels, more than the limit"},
		{Name: "not-an-image", Type: Image, Files: one("notes.png", []byte("just some text")),
			Kind: failure.BadData, Want: "image"},
		{Name: "empty-idx", Type: IDXImages, Files: one("images.idx", nil),
			Kind: failure.BadData, Want: "IDX file of 0 bytes has no header"},
		{Name: "idx-bad-count", Type: IDXImages, Files: one("images.idx", idxFile(0x08, []uint32{60000, 28, 28}, make([]byte, 28*28*10))),
			Kind: failure.BadData, Want: "header says 47040000"},
		{Name: "idx-gzip-truncated", Type: IDXLabels, Files: one("labels.gz", gz(idxFile(0x08, []uint32{100}, make([]byte, 100)))[:20]),
			Kind: failure.BadData, Want: "gzip"},
		{Name: "idx-wrong-magic", Type: IDXLabels, Files: one("labels.idx", []byte{0x1f, 0x00, 0x08, 0x01, 0, 0, 0, 1, 7}),
			Kind: failure.BadData, Want: "not an IDX file"},
		{Name: "manifest-bad-indent", Type: Manifest, Files: one("zoo.yaml", []byte("datasets:\n  d:\n    format: idx\n    classes: 10\n   calibration: {images: a, labels: b}\nmodels: []\n")),
			Kind: failure.Config, Want: "line 5: did not find expected key"},
		{Name: "manifest-typo", Type: Manifest, Files: one("zoo.yaml", []byte(manifestTypo)),
			Kind: failure.Config, Want: "line 19: models[2] (resnet).preprocess.mena: unknown field, did you mean mean?"},
	}
	for i := range cs {
		if cs[i].Main == "" {
			switch cs[i].Type {
			case Model:
				cs[i].Main = "m.onnx"
			default:
				for name := range cs[i].Files {
					cs[i].Main = name
				}
			}
		}
	}
	return cs
}

// ValidModel is the corpus's valid model, the one every model case edits:
// y = Gemm(x[1,100], fc.weight[100,10], fc.bias[10]) at opset 13. A zoo
// feeds it 10×10 crops of MNIST digits flattened to [100].
func ValidModel() []byte { return marshal(classifier()) }

// NaNActivations is ValidModel with y = Gemm(Sqrt(x − 0.5), ...): its
// weights are finite and it loads, but any input value below 0.5 gives a
// NaN activation ("/sqrt") during calibration.
func NaNActivations() []byte {
	return edited(func(m *onnxpb.ModelProto) {
		g := m.Graph
		g.Initializer = append(g.Initializer, floatTensor("half", nil, []float32{0.5}))
		g.Node = append([]*onnxpb.NodeProto{
			node("Sub", "sub", []string{"x", "half"}, []string{"/sub"}),
			node("Sqrt", "sqrt", []string{"/sub"}, []string{"/sqrt"}),
		}, g.Node...)
		g.Node[2].Input[0] = "/sqrt"
	})
}

// ValidExternal is ValidModel with fc.weight's data in an external file:
// the model's bytes and those of "weights.bin", its external data.
func ValidExternal() (model, weights []byte) {
	m := classifier()
	w := m.Graph.Initializer[0]
	weights = rawFloats(w.FloatData)
	external(w, "weights.bin")
	return marshal(m), weights
}
