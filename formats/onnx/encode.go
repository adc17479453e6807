package onnx

import (
	"fmt"
	"sort"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

// DefaultIRVersion is the ONNX IR version Encode writes for a model whose
// IRVersion is 0.
const DefaultIRVersion = 8

// firstIRWithoutInitInputs is the first IR version that lets initializers be
// absent from graph.input; older versions require them to be listed there.
const firstIRWithoutInitInputs = 4

func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	return b, nil
}

// Encode serializes m as an ONNX ModelProto.
//
// The output is deterministic: opset imports are sorted by domain,
// initializers by name (all with raw_data), attributes by name, while nodes,
// inputs, outputs, value infos and metadata keep their order. The same model
// always gives the same bytes, and Decode(Encode(m)) equals m. The model's IR
// version is kept (DefaultIRVersion when 0); for IR versions before 4, which
// require it, initializers are also listed as graph inputs.
func Encode(m *graph.Model) ([]byte, error) {
	mp, err := modelToProto(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode: %w", err)
	}
	return marshal(mp)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func modelToProto(m *graph.Model) (*onnxpb.ModelProto, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrInvalid)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalid)
	}
	ir := m.IRVersion
	if ir == 0 {
		ir = DefaultIRVersion
	}
	mp := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(ir),
		ProducerName:    optString(m.ProducerName),
		ProducerVersion: optString(m.ProducerVersion),
		Domain:          optString(m.Domain),
		DocString:       optString(m.DocString),
	}
	if m.ModelVersion != 0 {
		mp.ModelVersion = proto.Int64(m.ModelVersion)
	}
	domains := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	for _, d := range domains {
		mp.OpsetImport = append(mp.OpsetImport, &onnxpb.OperatorSetIdProto{
			Domain:  proto.String(d),
			Version: proto.Int64(m.Opsets[d]),
		})
	}
	for _, kv := range m.Metadata {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{
			Key:   proto.String(kv.Key),
			Value: proto.String(kv.Value),
		})
	}
	gp, err := graphToProto(m.Graph, ir < firstIRWithoutInitInputs)
	if err != nil {
		if m.Graph.Name != "" {
			return nil, fmt.Errorf("graph %q: %w", m.Graph.Name, err)
		}
		return nil, err
	}
	mp.Graph = gp
	return mp, nil
}

func graphToProto(g *graph.Graph, initsAsInputs bool) (*onnxpb.GraphProto, error) {
	gp := &onnxpb.GraphProto{
		Name:      optString(g.Name),
		DocString: optString(g.DocString),
	}
	names := g.InitializerNames()
	for _, name := range names {
		if name == "" {
			return nil, fmt.Errorf("%w: initializer with an empty name", ErrInvalid)
		}
		tp, err := tensorToProto(g.Initializers[name], name)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		gp.Initializer = append(gp.Initializer, tp)
	}
	for _, vi := range g.Inputs {
		if g.IsInitializer(vi.Name) {
			return nil, fmt.Errorf("%w: graph input %q is also an initializer", ErrInvalid, vi.Name)
		}
		gp.Input = append(gp.Input, valueInfoToProto(vi))
	}
	if initsAsInputs {
		for _, name := range names {
			t := g.Initializers[name]
			vi := graph.ValueInfo{Name: name, DType: t.DType, Shape: make([]graph.Dim, len(t.Shape))}
			for i, d := range t.Shape {
				vi.Shape[i] = graph.Dim{Value: int64(d)}
			}
			gp.Input = append(gp.Input, valueInfoToProto(vi))
		}
	}
	for _, vi := range g.Outputs {
		gp.Output = append(gp.Output, valueInfoToProto(vi))
	}
	for _, vi := range g.ValueInfo {
		gp.ValueInfo = append(gp.ValueInfo, valueInfoToProto(vi))
	}
	for i, n := range g.Nodes {
		np, err := nodeToProto(n)
		if err != nil {
			if n == nil {
				return nil, fmt.Errorf("node #%d: %w", i, err)
			}
			return nil, fmt.Errorf("node #%d %s: %w", i, n.Label(), err)
		}
		gp.Node = append(gp.Node, np)
	}
	return gp, nil
}

func valueInfoToProto(vi graph.ValueInfo) *onnxpb.ValueInfoProto {
	vp := &onnxpb.ValueInfoProto{
		Name:      proto.String(vi.Name),
		DocString: optString(vi.DocString),
	}
	if vi.DType == tensor.Undefined && vi.Shape == nil {
		return vp
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(vi.DType))}
	if vi.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{Dim: make([]*onnxpb.TensorShapeProto_Dimension, len(vi.Shape))}
		for i, d := range vi.Shape {
			dp := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Param != "":
				dp.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			case d.Value >= 0:
				dp.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			}
			tt.Shape.Dim[i] = dp
		}
	}
	vp.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return vp
}

func nodeToProto(n *graph.Node) (*onnxpb.NodeProto, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: nil node", ErrInvalid)
	}
	if n.OpType == "" {
		return nil, fmt.Errorf("%w: node has no op type", ErrInvalid)
	}
	np := &onnxpb.NodeProto{
		Input:     n.Inputs,
		Output:    n.Outputs,
		Name:      optString(n.Name),
		OpType:    proto.String(n.OpType),
		Domain:    optString(n.Domain),
		DocString: optString(n.DocString),
	}
	keys := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ap, err := attrToProto(k, n.Attrs[k])
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

func attrToProto(name string, a *graph.Attr) (*onnxpb.AttributeProto, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty attribute name", ErrInvalid)
	}
	if a == nil {
		return nil, fmt.Errorf("%w: nil attribute", ErrInvalid)
	}
	ap := &onnxpb.AttributeProto{Name: proto.String(name)}
	switch a.Type {
	case graph.AttrFloat:
		ap.Type = onnxpb.AttributeProto_FLOAT.Enum()
		ap.F = proto.Float32(a.F)
	case graph.AttrInt:
		ap.Type = onnxpb.AttributeProto_INT.Enum()
		ap.I = proto.Int64(a.I)
	case graph.AttrString:
		ap.Type = onnxpb.AttributeProto_STRING.Enum()
		ap.S = []byte(a.S)
	case graph.AttrTensor:
		tp, err := tensorToProto(a.T, "")
		if err != nil {
			return nil, err
		}
		ap.Type = onnxpb.AttributeProto_TENSOR.Enum()
		ap.T = tp
	case graph.AttrFloats:
		ap.Type = onnxpb.AttributeProto_FLOATS.Enum()
		ap.Floats = a.Floats
	case graph.AttrInts:
		ap.Type = onnxpb.AttributeProto_INTS.Enum()
		ap.Ints = a.Ints
	case graph.AttrStrings:
		ap.Type = onnxpb.AttributeProto_STRINGS.Enum()
		ap.Strings = make([][]byte, len(a.Strings))
		for i, s := range a.Strings {
			ap.Strings[i] = []byte(s)
		}
	default:
		return nil, fmt.Errorf("%w: cannot write attribute type %d", ErrUnsupported, a.Type)
	}
	return ap, nil
}
