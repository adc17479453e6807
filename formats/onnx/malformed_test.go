package onnx

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

func TestDecodeTensorForms(t *testing.T) {
	le := binary.LittleEndian
	f16 := func(bits ...uint16) []byte {
		b := make([]byte, 2*len(bits))
		for i, v := range bits {
			le.PutUint16(b[2*i:], v)
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			le.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	typ := func(c onnxpb.TensorProto_DataType) *int32 { return proto.Int32(int32(c)) }
	tests := []struct {
		name string
		tp   *onnxpb.TensorProto
		want *tensor.Tensor
	}{
		{"float_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT), Dims: []int64{2}, FloatData: []float32{1.5, -2}},
			tensor.FromFloat32(tensor.Shape{2}, []float32{1.5, -2})},
		{"float raw", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT), Dims: []int64{1}, RawData: []byte{0, 0, 0x80, 0x3f}},
			tensor.FromFloat32(tensor.Shape{1}, []float32{1})},
		{"int64_data scalar", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_INT64), Int64Data: []int64{-7}},
			tensor.FromInt64(nil, []int64{-7})},
		{"int32_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_INT32), Dims: []int64{1, 2}, Int32Data: []int32{-1, 5}},
			tensor.FromInt32(tensor.Shape{1, 2}, []int32{-1, 5})},
		{"uint8 in int32_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_UINT8), Dims: []int64{3}, Int32Data: []int32{0, 128, 255}},
			tensor.FromUint8(tensor.Shape{3}, []uint8{0, 128, 255})},
		{"int8 in int32_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_INT8), Dims: []int64{2}, Int32Data: []int32{-128, 127}},
			tensor.FromInt8(tensor.Shape{2}, []int8{-128, 127})},
		{"int8 raw", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_INT8), Dims: []int64{2}, RawData: []byte{0xff, 3}},
			tensor.FromInt8(tensor.Shape{2}, []int8{-1, 3})},
		{"bool raw", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_BOOL), Dims: []int64{3}, RawData: []byte{1, 0, 2}},
			&tensor.Tensor{DType: tensor.Bool, Shape: tensor.Shape{3}, U8: []uint8{1, 0, 1}}},
		{"bool int32_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_BOOL), Dims: []int64{2}, Int32Data: []int32{0, 1}},
			&tensor.Tensor{DType: tensor.Bool, Shape: tensor.Shape{2}, U8: []uint8{0, 1}}},
		{"double raw", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_DOUBLE), Dims: []int64{2}, RawData: f64(0.5, -3)},
			tensor.FromFloat32(tensor.Shape{2}, []float32{0.5, -3})},
		{"double_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_DOUBLE), Dims: []int64{1}, DoubleData: []float64{2.25}},
			tensor.FromFloat32(tensor.Shape{1}, []float32{2.25})},
		{"float16 raw", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT16), Dims: []int64{6},
			RawData: f16(0x3c00, 0xc000, 0x0001, 0x7c00, 0x8000, 0x7bff)},
			tensor.FromFloat32(tensor.Shape{6}, []float32{1, -2, 1.0 / (1 << 24), float32(math.Inf(1)), float32(math.Copysign(0, -1)), 65504})},
		{"float16 int32_data", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT16), Dims: []int64{2}, Int32Data: []int32{0x3800, 0x03ff}},
			tensor.FromFloat32(tensor.Shape{2}, []float32{0.5, 1023.0 / (1 << 24)})},
		{"empty", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_FLOAT), Dims: []int64{3, 0}},
			tensor.FromFloat32(tensor.Shape{3, 0}, []float32{})},
		{"empty with zero after huge dims", &onnxpb.TensorProto{DataType: typ(onnxpb.TensorProto_INT64), Dims: []int64{1 << 62, 1 << 62, 0}},
			tensor.FromInt64(tensor.Shape{1 << 62, 1 << 62, 0}, []int64{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tp.Name = proto.String("T")
			data, err := proto.Marshal(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			got, name, err := DecodeTensor(data)
			if err != nil {
				t.Fatalf("DecodeTensor: %v", err)
			}
			if name != "T" {
				t.Errorf("name %q, want T", name)
			}
			if d := diffTensors(got, tc.want); d != "" {
				t.Errorf("got %+v, want %+v: %s", got, tc.want, d)
			}
		})
	}
}

func TestHalfToFloat32NaN(t *testing.T) {
	if v := halfToFloat32(0x7e00); v == v {
		t.Errorf("0x7e00 gives %v, want NaN", v)
	}
	if v := halfToFloat32(0x0400); v != 1.0/(1<<14) {
		t.Errorf("smallest normal gives %v", v)
	}
}

func tensorProto(name string, dt onnxpb.TensorProto_DataType, dims []int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims}
}

// validModel returns a small valid ModelProto that the table tests break.
func validModel() *onnxpb.ModelProto {
	w := tensorProto("weight", onnxpb.TensorProto_FLOAT, []int64{2})
	w.FloatData = []float32{1, 2}
	fvi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(1)}}}}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Input:       []*onnxpb.ValueInfoProto{fvi("x")},
			Output:      []*onnxpb.ValueInfoProto{fvi("y")},
			Initializer: []*onnxpb.TensorProto{w},
			Node: []*onnxpb.NodeProto{{
				Name: proto.String("add1"), OpType: proto.String("Add"),
				Input: []string{"x", "weight"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("note"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("hi")}},
			}},
		},
	}
}

func TestDecodeMalformed(t *testing.T) {
	if _, err := Decode(mustMarshal(t, validModel())); err != nil {
		t.Fatalf("the base model does not decode: %v", err)
	}
	init0 := func(m *onnxpb.ModelProto) *onnxpb.TensorProto { return m.Graph.Initializer[0] }
	node0 := func(m *onnxpb.ModelProto) *onnxpb.NodeProto { return m.Graph.Node[0] }
	tests := []struct {
		name   string
		edit   func(m *onnxpb.ModelProto)
		raw    []byte // used instead of the edited model when set
		target error
		want   []string // substrings of the message
	}{
		{name: "garbage", raw: []byte{0x0a, 0xff, 0xff, 0xff}, target: ErrInvalid},
		{name: "truncated varint", raw: []byte{0x08, 0x80}, target: ErrInvalid},
		{name: "wrong wire type", raw: []byte{0x3a, 0x02, 0x0d, 0x00}, target: ErrInvalid},
		{name: "empty input", raw: []byte{}, target: ErrInvalid, want: []string{"no graph"}},
		{name: "no graph", edit: func(m *onnxpb.ModelProto) { m.Graph = nil }, target: ErrInvalid, want: []string{"no graph"}},
		{name: "negative ir", edit: func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(-1) }, target: ErrInvalid},
		{name: "opset conflict", edit: func(m *onnxpb.ModelProto) {
			m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Version: proto.Int64(11)})
		}, target: ErrInvalid, want: []string{"imported twice"}},
		{name: "opset zero", edit: func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = nil }, target: ErrInvalid},
		{name: "functions", edit: func(m *onnxpb.ModelProto) { m.Functions = [][]byte{{}} }, target: ErrUnsupported, want: []string{"functions"}},
		{name: "huge dims no data", edit: func(m *onnxpb.ModelProto) {
			init0(m).Dims = []int64{1 << 40, 1 << 20}
			init0(m).FloatData = nil
		}, target: ErrInvalid, want: []string{`initializer "weight"`, "no data"}},
		{name: "huge dims raw", edit: func(m *onnxpb.ModelProto) {
			init0(m).Dims = []int64{1 << 40}
			init0(m).RawData = []byte{1, 2, 3, 4}
		}, target: ErrInvalid, want: []string{`"weight"`, "raw_data holds 4 bytes"}},
		{name: "raw size overflow", edit: func(m *onnxpb.ModelProto) {
			init0(m).Dims = []int64{1 << 62}
			init0(m).RawData = []byte{}
		}, target: ErrInvalid, want: []string{`"weight"`}},
		{name: "dims overflow", edit: func(m *onnxpb.ModelProto) { init0(m).Dims = []int64{1 << 62, 1 << 62, 4} },
			target: ErrInvalid, want: []string{`"weight"`, "too many elements"}},
		{name: "negative dim", edit: func(m *onnxpb.ModelProto) { init0(m).Dims = []int64{-2} },
			target: ErrInvalid, want: []string{`"weight"`, "negative dimension"}},
		{name: "short raw", edit: func(m *onnxpb.ModelProto) { init0(m).RawData = []byte{0, 0, 0} },
			target: ErrInvalid, want: []string{`"weight"`, "raw_data"}},
		{name: "count mismatch", edit: func(m *onnxpb.ModelProto) { init0(m).FloatData = []float32{1, 2, 3} },
			target: ErrInvalid, want: []string{`"weight"`, "3 values in float_data, want 2"}},
		{name: "wrong typed field", edit: func(m *onnxpb.ModelProto) {
			init0(m).FloatData = nil
			init0(m).Int64Data = []int64{1, 2}
		}, target: ErrInvalid, want: []string{`"weight"`, "float_data"}},
		{name: "uint8 out of range", edit: func(m *onnxpb.ModelProto) {
			init0(m).DataType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
			init0(m).Int32Data = []int32{1, 300}
		}, target: ErrInvalid, want: []string{`"weight"`, "300"}},
		{name: "int8 out of range", edit: func(m *onnxpb.ModelProto) {
			init0(m).DataType = proto.Int32(int32(onnxpb.TensorProto_INT8))
			init0(m).Int32Data = []int32{-129, 0}
		}, target: ErrInvalid, want: []string{`"weight"`}},
		{name: "string tensor", edit: func(m *onnxpb.ModelProto) {
			init0(m).DataType = proto.Int32(int32(onnxpb.TensorProto_STRING))
			init0(m).StringData = [][]byte{[]byte("a"), []byte("b")}
		}, target: ErrUnsupported, want: []string{`initializer "weight"`, "STRING"}},
		{name: "bfloat16 tensor", edit: func(m *onnxpb.ModelProto) {
			init0(m).DataType = proto.Int32(int32(onnxpb.TensorProto_BFLOAT16))
		}, target: ErrUnsupported, want: []string{`"weight"`, "BFLOAT16"}},
		{name: "unknown type code", edit: func(m *onnxpb.ModelProto) { init0(m).DataType = proto.Int32(99) },
			target: ErrUnsupported, want: []string{`"weight"`, "data type 99"}},
		{name: "undefined type", edit: func(m *onnxpb.ModelProto) { init0(m).DataType = nil },
			target: ErrInvalid, want: []string{`"weight"`, "not set"}},
		{name: "external data", edit: func(m *onnxpb.ModelProto) {
			init0(m).FloatData = nil
			init0(m).DataLocation = proto.Int32(int32(onnxpb.TensorProto_EXTERNAL))
			init0(m).ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("weights.bin")}}
		}, target: ErrUnsupported, want: []string{`initializer "weight"`, "external data", "weights.bin", "DecodeWithExternal"}},
		{name: "unknown data location", edit: func(m *onnxpb.ModelProto) { init0(m).DataLocation = proto.Int32(7) },
			target: ErrInvalid, want: []string{`"weight"`, "data_location"}},
		{name: "segment", edit: func(m *onnxpb.ModelProto) { init0(m).Segment = &onnxpb.TensorProto_Segment{} },
			target: ErrUnsupported, want: []string{`"weight"`, "segment"}},
		{name: "unnamed initializer", edit: func(m *onnxpb.ModelProto) { init0(m).Name = nil },
			target: ErrInvalid, want: []string{"initializer #0"}},
		{name: "duplicate initializer", edit: func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, m.Graph.Initializer[0])
		}, target: ErrInvalid, want: []string{`"weight"`, "twice"}},
		{name: "sparse initializer", edit: func(m *onnxpb.ModelProto) { m.Graph.SparseInitializer = [][]byte{{}} },
			target: ErrUnsupported, want: []string{"sparse"}},
		{name: "unnamed input", edit: func(m *onnxpb.ModelProto) { m.Graph.Input[0].Name = nil },
			target: ErrInvalid, want: []string{"input #0"}},
		{name: "no op type", edit: func(m *onnxpb.ModelProto) { node0(m).OpType = nil },
			target: ErrInvalid, want: []string{`"add1"`, "op_type"}},
		{name: "graph attribute", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = append(node0(m).Attribute, &onnxpb.AttributeProto{
				Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}})
		}, target: ErrUnsupported, want: []string{`Add "add1"`, `"body"`, "graph"}},
		{name: "graph attribute without type", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), G: &onnxpb.GraphProto{}}}
		}, target: ErrUnsupported, want: []string{`"add1"`, "then_branch"}},
		{name: "tensors attribute", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = []*onnxpb.AttributeProto{{Name: proto.String("ts"), Type: onnxpb.AttributeProto_TENSORS.Enum()}}
		}, target: ErrUnsupported, want: []string{`"add1"`, `"ts"`, "TENSORS"}},
		{name: "bad attribute tensor", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
				T: tensorProto("", onnxpb.TensorProto_FLOAT, []int64{1 << 50})}}
		}, target: ErrInvalid, want: []string{`"add1"`, `"value"`, "no data"}},
		{name: "tensor attribute missing", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum()}}
		}, target: ErrInvalid, want: []string{`"add1"`, `"value"`}},
		{name: "untyped empty attribute", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = []*onnxpb.AttributeProto{{Name: proto.String("x")}}
		}, target: ErrInvalid, want: []string{`"add1"`, `"x"`}},
		{name: "unnamed attribute", edit: func(m *onnxpb.ModelProto) { node0(m).Attribute[0].Name = nil },
			target: ErrInvalid, want: []string{`"add1"`, "attribute #0"}},
		{name: "duplicate attribute", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute = append(node0(m).Attribute, node0(m).Attribute[0])
		}, target: ErrInvalid, want: []string{`"add1"`, `"note"`, "twice"}},
		{name: "function attribute reference", edit: func(m *onnxpb.ModelProto) {
			node0(m).Attribute[0].RefAttrName = proto.String("outer")
		}, target: ErrUnsupported, want: []string{`"add1"`, "outer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				m := validModel()
				tc.edit(m)
				data = mustMarshal(t, m)
			}
			got, err := Decode(data)
			if err == nil {
				t.Fatalf("Decode succeeded (%+v), want an error", got)
			}
			if !errors.Is(err, tc.target) {
				t.Errorf("error %q does not wrap %v", err, tc.target)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestDecodeLenient covers inputs that are odd but valid.
func TestDecodeLenient(t *testing.T) {
	m := validModel()
	// An IR 3 style model: the initializer is also a graph input.
	m.Graph.Input = append(m.Graph.Input, &onnxpb.ValueInfoProto{Name: proto.String("weight")})
	// Attribute written without its type discriminator (IR version 1).
	m.Graph.Node[0].Attribute = append(m.Graph.Node[0].Attribute, &onnxpb.AttributeProto{Name: proto.String("k"), I: proto.Int64(3)})
	// The same opset twice, and a non-tensor value info.
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Version: proto.Int64(13)})
	m.Graph.ValueInfo = []*onnxpb.ValueInfoProto{{Name: proto.String("seq"), Type: &onnxpb.TypeProto{}}}
	// Dimensions: negative size and empty symbol read as unknown.
	m.Graph.Output[0].Type.GetTensorType().Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
		{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: -3}},
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: ""}},
		{},
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "n"}},
		{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 0}},
	}}
	g := mustDecode(t, mustMarshal(t, m)).Graph
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" {
		t.Errorf("inputs %+v, want only x", g.Inputs)
	}
	if a := g.Nodes[0].Attrs["k"]; a == nil || a.Type != graph.AttrInt || a.I != 3 {
		t.Errorf("untyped int attribute read as %+v", a)
	}
	if s := g.Outputs[0].ShapeString(); s != "[?,?,?,n,0]" {
		t.Errorf("output shape %s, want [?,?,?,n,0]", s)
	}
	if vi := g.ValueInfo[0]; vi.DType != tensor.Undefined || vi.Shape != nil {
		t.Errorf("non-tensor value info read as %+v", vi)
	}
}

func TestEncodeErrors(t *testing.T) {
	base := func() *graph.Model { return buildModel(8) }
	tests := []struct {
		name string
		edit func(m *graph.Model)
		want string
	}{
		{"nil graph", func(m *graph.Model) { m.Graph = nil }, "no graph"},
		{"bad tensor", func(m *graph.Model) { m.Graph.Initializers["w"].F32 = nil }, `initializer "w"`},
		{"unsupported tensor type", func(m *graph.Model) { m.Graph.Initializers["b"] = &tensor.Tensor{DType: 11} }, `initializer "b"`},
		{"nil tensor", func(m *graph.Model) { m.Graph.Initializers["b"] = nil }, `initializer "b"`},
		{"input is initializer", func(m *graph.Model) {
			m.Graph.Inputs = append(m.Graph.Inputs, graph.ValueInfo{Name: "w"})
		}, `input "w"`},
		{"graph attribute", func(m *graph.Model) { m.Graph.Nodes[0].Attrs["body"] = &graph.Attr{Type: graph.AttrGraph} }, `Gemm "mm"`},
		{"nil attribute", func(m *graph.Model) { m.Graph.Nodes[0].Attrs["x"] = nil }, `"x"`},
		{"bad attribute tensor", func(m *graph.Model) {
			m.Graph.Nodes[0].Attrs["t"] = graph.TensorAttr(&tensor.Tensor{DType: 1, Shape: tensor.Shape{2}})
		}, `"t"`},
		{"no op type", func(m *graph.Model) { m.Graph.Nodes[1].OpType = "" }, "node #1"},
		{"nil node", func(m *graph.Model) { m.Graph.Nodes[1] = nil }, "node #1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			_, err := Encode(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Encode error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Encode(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Encode(nil) = %v", err)
	}
	if _, err := EncodeTensor(&tensor.Tensor{DType: tensor.Int8, Shape: tensor.Shape{3}}, "t"); err == nil || !strings.Contains(err.Error(), `"t"`) {
		t.Errorf("EncodeTensor of an inconsistent tensor: %v", err)
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
