package tfgraph

import (
	"bytes"
	"errors"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// tiny is a valid graph y = Relu(x · W) to break in the table below.
func tiny() *builder {
	b := newBuilder()
	b.placeholder("x", 1, 2)
	b.constF("W", []int{2, 2}, []float32{1, 2, 3, 4})
	b.node("MatMul", "mm", []string{"x", "W"}, nil)
	b.node("Relu", "y", []string{"mm"}, nil)
	return b
}

func find(b *builder, name string) *tfpb.NodeDef {
	for _, n := range b.g.Node {
		if n.Name == name {
			return n
		}
	}
	panic(name)
}

// TestMalformed checks that bad input fails with the right sentinel and a
// message naming what is wrong.
func TestMalformed(t *testing.T) {
	onnxLike := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 8)
	onnxLike = protowire.AppendBytes(protowire.AppendTag(onnxLike, 7, protowire.BytesType), []byte{})
	for _, tc := range []struct {
		name   string
		data   func() []byte
		opt    Options
		target error
		want   []string
	}{
		{"garbage", func() []byte { return []byte{0xff, 0xff, 0xff} }, Options{}, ErrInvalid, []string{"not a TensorFlow GraphDef"}},
		{"empty", func() []byte { return nil }, Options{}, ErrInvalid, []string{"not a TensorFlow GraphDef", "no nodes"}},
		{"onnx model", func() []byte { return onnxLike }, Options{}, ErrInvalid, []string{"not a TensorFlow GraphDef"}},
		{"duplicate node", func() []byte {
			b := tiny()
			b.node("Relu", "mm", []string{"x"}, nil)
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "mm" is defined twice`}},
		{"missing input node", func() []byte {
			b := tiny()
			find(b, "y").Input = []string{"nope"}
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "y" reads "nope"`}},
		{"bad input index", func() []byte {
			b := tiny()
			find(b, "y").Input = []string{"mm:x"}
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "y"`, `"mm:x"`}},
		{"no op", func() []byte {
			b := tiny()
			find(b, "y").Op = ""
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "y" has no op`}},
		{"short tensor_content", func() []byte {
			b := tiny()
			find(b, "W").Attr["value"].GetTensor().TensorContent = make([]byte, 12)
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "W"`, `attr "value"`, "12 bytes"}},
		{"huge fill", func() []byte {
			b := tiny()
			find(b, "W").Attr["value"] = aTensor(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(1<<15, 1<<15), FloatVal: []float32{1}})
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "W"`, "fill"}},
		{"overflowing shape", func() []byte {
			b := tiny()
			find(b, "W").Attr["value"] = aTensor(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(1<<30, 1<<30, 1<<30)})
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "W"`, "too many elements"}},
		{"too many values", func() []byte {
			b := tiny()
			find(b, "W").Attr["value"] = aTensor(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(2), FloatVal: []float32{1, 2, 3}})
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "W"`, "3 values"}},
		{"string constant", func() []byte {
			b := tiny()
			find(b, "W").Attr["value"] = aTensor(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_STRING, TensorShape: shapeProto(1), StringVal: [][]byte{[]byte("a")}})
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "W"`, "DT_STRING"}},
		{"const without value", func() []byte {
			b := tiny()
			delete(find(b, "W").Attr, "value")
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "W"`, `attr "value"`, "missing"}},
		{"cycle", func() []byte {
			b := tiny()
			find(b, "mm").Input = []string{"y", "W"}
			return b.bytes(t)
		}, Options{Outputs: []string{"y"}}, ErrInvalid, []string{"cycle"}},
		{"unsupported ops", func() []byte {
			b := tiny()
			b.node("Erf", "e1", []string{"y"}, nil)
			b.node("Erf", "e2", []string{"e1"}, nil)
			b.node("Atan2", "a", []string{"e2", "e1"}, nil)
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`Atan2 ("a"); Erf ("e1", "e2")`}},
		{"training batch norm", func() []byte {
			b := newBuilder()
			b.placeholder("x", 1, 2, 2, 1)
			c := b.constF("c", []int{1}, []float32{1})
			b.node("FusedBatchNorm", "bn", []string{"x", c, c, c, c}, attrMap{"is_training": aB(true)})
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "bn"`, `attr "is_training"`}},
		{"batch mean output", func() []byte {
			b := newBuilder()
			b.placeholder("x", 1, 2, 2, 1)
			c := b.constF("c", []int{1}, []float32{1})
			b.node("FusedBatchNorm", "bn", []string{"x", c, c, c, c}, attrMap{"is_training": aB(false)})
			b.node("Relu", "y", []string{"bn:1"}, nil)
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "y"`, `"bn:1"`}},
		{"padding of wrong kind", func() []byte {
			b := newBuilder()
			b.placeholder("x", 1, 2, 2, 1)
			b.node("MaxPool", "p", []string{"x"}, attrMap{"ksize": nhwc(2, 2), "strides": nhwc(1, 1), "padding": aI(1)})
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "p"`, `attr "padding"`, "want a string"}},
		{"pool over channels", func() []byte {
			b := newBuilder()
			b.placeholder("x", 1, 2, 2, 1)
			b.node("MaxPool", "p", []string{"x"}, attrMap{"ksize": aInts(1, 1, 1, 2), "strides": nhwc(1, 1), "padding": aS("VALID")})
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "p"`, `attr "ksize"`}},
		{"matmul mismatch", func() []byte {
			b := tiny()
			find(b, "x").Attr["shape"] = aShape(1, 3)
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "mm"`, "[1 3]"}},
		{"pack expansion", func() []byte {
			b := newBuilder()
			b.node("Const", "c", nil, attrMap{"dtype": aType(tfpb.DataType_DT_FLOAT),
				"value": aTensor(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(1 << 22), FloatVal: []float32{1}})})
			var in []string
			for i := 0; i < 17; i++ {
				in = append(in, "c")
			}
			b.node("Pack", "p", in, nil)
			b.node("Identity", "y", []string{"p"}, nil)
			return b.bytes(t)
		}, Options{}, ErrUnsupported, []string{`node "p"`, "budget"}},
		{"squeeze of empty axis", func() []byte {
			b := newBuilder()
			b.placeholder("x", 1, 0, 3)
			b.node("Squeeze", "s", []string{"x"}, attrMap{"squeeze_dims": aInts(1)})
			return b.bytes(t)
		}, Options{}, ErrInvalid, []string{`node "s"`, "size 0"}},
		{"unknown input node", nil, Options{Inputs: []string{"nope:0"}}, ErrInvalid, []string{`input "nope:0"`}},
		{"malformed output name", nil, Options{Outputs: []string{"y:-1"}}, ErrInvalid, []string{`"y:-1"`}},
		{"output twice", nil, Options{Outputs: []string{"y", "y:0"}}, ErrInvalid, []string{`output "y:0" is listed twice`}},
		{"placeholder not an input", nil, Options{Inputs: []string{"W"}}, ErrInvalid, []string{`placeholder "x"`}},
		{"no such output index", nil, Options{Outputs: []string{"y:3"}}, ErrInvalid, []string{`"y:3"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.data != nil {
				data = tc.data()
			} else {
				data = tiny().bytes(t)
			}
			m, err := Decode(data, tc.opt)
			if !errors.Is(err, tc.target) || !contains(err, tc.want...) {
				t.Fatalf("got model %v, error %v; want %v naming %q", m != nil, err, tc.target, tc.want)
			}
			// The sentinels carry their failure kind.
			if want := map[error]failure.Kind{ErrInvalid: failure.InvalidModel, ErrUnsupported: failure.Unsupported}[tc.target]; failure.KindOf(err) != want {
				t.Errorf("error %v has kind %s, want %s", err, failure.KindOf(err), want)
			}
		})
	}
}

// TestDeterministic decodes the same bytes twice and checks that node
// order, node names and value names agree.
func TestDeterministic(t *testing.T) {
	data := tiny().bytes(t)
	a, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Graph.Nodes) != len(b.Graph.Nodes) {
		t.Fatal("node counts differ")
	}
	for i := range a.Graph.Nodes {
		x, y := a.Graph.Nodes[i], b.Graph.Nodes[i]
		if x.Name != y.Name || x.OpType != y.OpType || !equalStrings(x.Inputs, y.Inputs) || !equalStrings(x.Outputs, y.Outputs) {
			t.Fatalf("node %d: %v vs %v", i, x, y)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTensorEncodings reads constants from each typed field and from
// tensor_content, including fill by the last value, DT_HALF and DT_DOUBLE.
func TestTensorEncodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		tp   *tfpb.TensorProto
		want []float64
	}{
		{"float_val fill", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(3), FloatVal: []float32{1, 2}}, []float64{1, 2, 2}},
		{"zeros", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(2)}, []float64{0, 0}},
		{"double_val", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_DOUBLE, TensorShape: shapeProto(2), DoubleVal: []float64{0.5, -1}}, []float64{0.5, -1}},
		{"half_val", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_HALF, TensorShape: shapeProto(3), HalfVal: []int32{0x3c00, 0xc000, 0x3800}}, []float64{1, -2, 0.5}},
		{"int_val", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: shapeProto(2), IntVal: []int32{7, -3}}, []float64{7, -3}},
		{"int64_val", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeProto(2), Int64Val: []int64{1 << 40, -1}}, []float64{1 << 40, -1}},
		{"bool_val", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_BOOL, TensorShape: shapeProto(2), BoolVal: []bool{true, false}}, []float64{1, 0}},
		{"uint8 content", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_UINT8, TensorShape: shapeProto(2), TensorContent: []byte{200, 3}}, []float64{200, 3}},
		{"int32 content", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: shapeProto(1), TensorContent: []byte{0xfe, 0xff, 0xff, 0xff}}, []float64{-2}},
		{"scalar", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(), FloatVal: []float32{4}}, []float64{4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tensorOf(tc.tp)
			if err != nil {
				t.Fatal(err)
			}
			if got.Len() != len(tc.want) {
				t.Fatalf("%d elements, want %d", got.Len(), len(tc.want))
			}
			for i, w := range tc.want {
				if got.Float64At(i) != w {
					t.Fatalf("element %d = %v, want %v", i, got.Float64At(i), w)
				}
			}
		})
	}
}

// TestRealFileHeader guards the wire layout: a NodeDef marshalled here has
// TensorFlow's field numbers (name 1, op 2, input 3, attr 5).
func TestRealFileHeader(t *testing.T) {
	n := &tfpb.NodeDef{Name: "a", Op: "B", Input: []string{"c"}}
	got, err := proto.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x0a, 1, 'a', 0x12, 1, 'B', 0x1a, 1, 'c'}
	if !bytes.Equal(got, want) {
		t.Fatalf("NodeDef bytes %x, want %x", got, want)
	}
}

// TestPlaceholderWithDefault checks that a PlaceholderWithDefault is an
// input by default and takes its default when other inputs are named.
func TestPlaceholderWithDefault(t *testing.T) {
	b := newBuilder()
	b.placeholder("x", 1, 2)
	b.constF("d", []int{1, 2}, []float32{5, -5})
	b.node("PlaceholderWithDefault", "p", []string{"d"}, attrMap{"dtype": aType(tfpb.DataType_DT_FLOAT), "shape": aShape(1, 2)})
	b.node("Add", "y", []string{"x", "p"}, nil)
	data := b.bytes(t)
	m, err := Decode(data, Options{})
	if err != nil || len(m.Graph.Inputs) != 2 || m.Graph.Inputs[1].Name != "p" {
		t.Fatalf("default inputs: %v, %v; want x and p", m, err)
	}
	_, out := run(t, data, Options{Inputs: []string{"x"}}, map[string]*tensor.Tensor{"x": tensor.FromFloat32(tensor.Shape{1, 2}, []float32{1, 2})})
	if got := out["y"].F32; got[0] != 6 || got[1] != -3 {
		t.Fatalf("y = %v, want [6 -3]", got)
	}
}

// TestNames checks that IR values, initializers and nodes keep the
// TensorFlow names, and that an output read through Identity gets the
// Identity's name.
func TestNames(t *testing.T) {
	b := tiny()
	b.node("Identity", "W/read", []string{"W"}, nil)
	find(b, "mm").Input = []string{"x", "W/read"}
	b.node("Identity", "out", []string{"y"}, nil)
	m, err := Decode(b.bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if names := g.InitializerNames(); len(names) != 1 || names[0] != "W" {
		t.Errorf("initializers %v, want [W]", names)
	}
	var got []string
	for _, n := range g.Nodes {
		got = append(got, n.OpType+" "+n.Name+" "+n.Inputs[0]+"->"+n.Outputs[0])
	}
	want := []string{"MatMul mm x->mm", "Relu y mm->y", "Identity out y->out"}
	if !equalStrings(got, want) {
		t.Errorf("nodes %q, want %q", got, want)
	}
	if len(g.Outputs) != 1 || g.Outputs[0].Name != "out" {
		t.Errorf("outputs %v, want out", g.Outputs)
	}
}
