package onnx

import (
	"errors"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestErrorKinds: decode errors have the kind of the sentinel they wrap,
// protobuf errors say where they are, and the limits hold.
func TestErrorKinds(t *testing.T) {
	valid := mustMarshal(t, validModel())
	deep := validModel()
	var g *onnxpb.GraphProto
	for range 40 {
		n := &onnxpb.NodeProto{OpType: proto.String("Identity")}
		if g != nil {
			n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}}
		}
		g = &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{n}}
	}
	deep.Graph.Node = append(deep.Graph.Node, g.Node[0])
	for _, tc := range []struct {
		name   string
		data   []byte
		limits Limits
		is     error
		kind   failure.Kind
		want   []string
	}{
		{"truncated", valid[:len(valid)-5], Limits{}, ErrInvalid, failure.InvalidModel, []string{"opset_import[0] at byte", "unexpected EOF"}},
		{"bad tag", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrInvalid, failure.InvalidModel, []string{"model at byte 0", "bad field tag"}},
		{"inside a node", append(append([]byte{}, valid...), 0x3a, 4, 0x0a, 2, 0x12, 9), Limits{}, ErrInvalid, failure.InvalidModel, []string{"graph.node[0].output[0] at byte", "declares 9 bytes"}},
		{"too large", valid, Limits{MaxModelBytes: 10}, ErrInvalid, failure.InvalidModel, []string{"more than the limit of 10"}},
		{"subgraphs too deep", mustMarshal(t, deep), Limits{}, ErrInvalid, failure.InvalidModel, []string{"graphs nested 17 deep, more than the limit of 16"}},
		{"one subgraph", mustMarshal(t, func() *onnxpb.ModelProto {
			m := validModel()
			m.Graph.Node[0].Attribute = append(m.Graph.Node[0].Attribute, &onnxpb.AttributeProto{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}})
			return m
		}()), Limits{}, ErrUnsupported, failure.Unsupported, []string{"graph-valued attributes"}},
		{"unsupported", mustMarshal(t, func() *onnxpb.ModelProto {
			m := validModel()
			m.Functions = [][]byte{[]byte("f")}
			return m
		}()), Limits{}, ErrUnsupported, failure.Unsupported, []string{"model-local functions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeLimits(tc.data, tc.limits)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) || failure.KindOf(err) != tc.kind {
				t.Errorf("error %v: kind %s, want %s wrapping %v", err, failure.KindOf(err), tc.kind, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Decode(valid); err != nil {
		t.Fatalf("valid model: %v", err)
	}
}

func TestExternalLimit(t *testing.T) {
	m := validModel()
	w := m.Graph.Initializer[0]
	w.FloatData = nil
	w.DataLocation = proto.Int32(int32(onnxpb.TensorProto_EXTERNAL))
	w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
	open := func(string) ([]byte, error) { return make([]byte, 8), nil }
	_, err := DecodeWithExternalLimits(mustMarshal(t, m), open, Limits{MaxExternalBytes: 4})
	if failure.KindOf(err) != failure.InvalidModel || !strings.Contains(err.Error(), "more than the limit of 4") {
		t.Fatalf("external over the limit: %v", err)
	}
	if _, err := DecodeWithExternal(mustMarshal(t, m), open); err != nil {
		t.Fatalf("external within the limit: %v", err)
	}
}
