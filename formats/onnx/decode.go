package onnx

import (
	"fmt"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

var (
	// ErrInvalid is wrapped by every error about input that is not a
	// well-formed ONNX model or tensor (bad protobuf, sizes that do not
	// match, missing names, duplicates).
	ErrInvalid = failure.Errorf(failure.InvalidModel, "invalid ONNX data")
	// ErrUnsupported is wrapped by every error about well-formed ONNX that
	// eightbit cannot represent (element types such as STRING or BFLOAT16,
	// external or sparse data, graph-valued attributes, model functions).
	ErrUnsupported = failure.Errorf(failure.Unsupported, "unsupported ONNX feature")
)

func unmarshal(data []byte, m proto.Message) error {
	return proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}

// Decode parses a serialized ONNX ModelProto (the bytes of an .onnx file)
// into eightbit's IR.
//
// Initializers that are also listed among the graph inputs are constants:
// they appear in Graph.Initializers only, not in Graph.Inputs. DOUBLE and
// FLOAT16 tensors are converted to float32. Every error wraps ErrInvalid or
// ErrUnsupported and names the tensor, node or value it is about.
func Decode(data []byte) (*graph.Model, error) {
	return DecodeLimits(data, DefaultLimits)
}

// DecodeLimits is Decode within the given limits (zero fields:
// DefaultLimits).
func DecodeLimits(data []byte, l Limits) (*graph.Model, error) {
	var mp onnxpb.ModelProto
	if err := unmarshalModel(data, &mp, l); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := modelFromProto(&mp)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

func modelFromProto(mp *onnxpb.ModelProto) (*graph.Model, error) {
	m := &graph.Model{
		IRVersion:       mp.GetIrVersion(),
		ProducerName:    mp.GetProducerName(),
		ProducerVersion: mp.GetProducerVersion(),
		Domain:          mp.GetDomain(),
		ModelVersion:    mp.GetModelVersion(),
		DocString:       mp.GetDocString(),
		Opsets:          make(map[string]int64, len(mp.GetOpsetImport())),
	}
	if m.IRVersion < 0 {
		return nil, fmt.Errorf("%w: negative ir_version %d", ErrInvalid, m.IRVersion)
	}
	for _, op := range mp.GetOpsetImport() {
		d, v := op.GetDomain(), op.GetVersion()
		if v <= 0 {
			return nil, fmt.Errorf("%w: opset import of domain %q has version %d", ErrInvalid, d, v)
		}
		if prev, dup := m.Opsets[d]; dup && prev != v {
			return nil, fmt.Errorf("%w: domain %q is imported twice, as versions %d and %d", ErrInvalid, d, prev, v)
		}
		m.Opsets[d] = v
	}
	if len(mp.GetMetadataProps()) > 0 {
		m.Metadata = make([]graph.KeyValue, len(mp.GetMetadataProps()))
		for i, kv := range mp.GetMetadataProps() {
			m.Metadata[i] = graph.KeyValue{Key: kv.GetKey(), Value: kv.GetValue()}
		}
	}
	if len(mp.GetFunctions()) > 0 {
		return nil, fmt.Errorf("%w: model-local functions (%d)", ErrUnsupported, len(mp.GetFunctions()))
	}
	if mp.GetGraph() == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalid)
	}
	g, err := graphFromProto(mp.GetGraph())
	if err != nil {
		if name := mp.GetGraph().GetName(); name != "" {
			return nil, fmt.Errorf("graph %q: %w", name, err)
		}
		return nil, err
	}
	m.Graph = g
	return m, nil
}

func graphFromProto(gp *onnxpb.GraphProto) (*graph.Graph, error) {
	g := &graph.Graph{
		Name:         gp.GetName(),
		DocString:    gp.GetDocString(),
		Initializers: make(map[string]*tensor.Tensor, len(gp.GetInitializer())),
	}
	if n := len(gp.GetSparseInitializer()); n > 0 {
		return nil, fmt.Errorf("%w: sparse initializers (%d)", ErrUnsupported, n)
	}
	for i, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, fmt.Errorf("%w: initializer #%d has no name", ErrInvalid, i)
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, fmt.Errorf("%w: initializer %q is defined twice", ErrInvalid, name)
		}
		t, err := tensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		g.Initializers[name] = t
	}

	var err error
	inputs, err := valueInfos("input", gp.GetInput())
	if err != nil {
		return nil, err
	}
	for _, vi := range inputs {
		if !g.IsInitializer(vi.Name) {
			g.Inputs = append(g.Inputs, vi)
		}
	}
	if g.Outputs, err = valueInfos("output", gp.GetOutput()); err != nil {
		return nil, err
	}
	if g.ValueInfo, err = valueInfos("value_info", gp.GetValueInfo()); err != nil {
		return nil, err
	}

	if len(gp.GetNode()) > 0 {
		g.Nodes = make([]*graph.Node, len(gp.GetNode()))
	}
	for i, np := range gp.GetNode() {
		n, err := nodeFromProto(np)
		if err != nil {
			return nil, fmt.Errorf("node #%d %s: %w", i, nodeLabel(np), err)
		}
		g.Nodes[i] = n
	}
	return g, nil
}

// nodeLabel names a node proto for errors: `Conv "conv1"` or
// `Conv (output "y")`, as graph.Node.Label does.
func nodeLabel(np *onnxpb.NodeProto) string {
	n := graph.Node{Name: np.GetName(), OpType: np.GetOpType(), Outputs: np.GetOutput()}
	if n.OpType == "" {
		n.OpType = "(no op_type)"
	}
	return n.Label()
}

func valueInfos(field string, vps []*onnxpb.ValueInfoProto) ([]graph.ValueInfo, error) {
	if len(vps) == 0 {
		return nil, nil
	}
	out := make([]graph.ValueInfo, len(vps))
	for i, vp := range vps {
		vi, err := valueInfoFromProto(vp)
		if err != nil {
			if vp.GetName() == "" {
				return nil, fmt.Errorf("graph %s #%d: %w", field, i, err)
			}
			return nil, fmt.Errorf("graph %s %q: %w", field, vp.GetName(), err)
		}
		out[i] = vi
	}
	return out, nil
}

func valueInfoFromProto(vp *onnxpb.ValueInfoProto) (graph.ValueInfo, error) {
	vi := graph.ValueInfo{Name: vp.GetName(), DocString: vp.GetDocString()}
	if vi.Name == "" {
		return vi, fmt.Errorf("%w: value has no name", ErrInvalid)
	}
	tt := vp.GetType().GetTensorType()
	if tt == nil {
		// Not a tensor (sequence, map, ...) or no type given.
		return vi, nil
	}
	vi.DType = tensor.DType(tt.GetElemType())
	if sp := tt.GetShape(); sp != nil {
		vi.Shape = make([]graph.Dim, len(sp.GetDim()))
		for i, d := range sp.GetDim() {
			vi.Shape[i] = dimFromProto(d)
		}
	}
	return vi, nil
}

// dimFromProto maps a dimension to a size (Value >= 0), a symbol (Param set,
// Value -1) or unknown (Value -1). Negative sizes read as unknown.
func dimFromProto(d *onnxpb.TensorShapeProto_Dimension) graph.Dim {
	switch v := d.GetValue().(type) {
	case *onnxpb.TensorShapeProto_Dimension_DimValue:
		if v.DimValue >= 0 {
			return graph.Dim{Value: v.DimValue}
		}
	case *onnxpb.TensorShapeProto_Dimension_DimParam:
		return graph.Dim{Value: -1, Param: v.DimParam}
	}
	return graph.Dim{Value: -1}
}

func nodeFromProto(np *onnxpb.NodeProto) (*graph.Node, error) {
	n := &graph.Node{
		Name:      np.GetName(),
		OpType:    np.GetOpType(),
		Domain:    np.GetDomain(),
		Inputs:    np.GetInput(),
		Outputs:   np.GetOutput(),
		DocString: np.GetDocString(),
	}
	if n.OpType == "" {
		return nil, fmt.Errorf("%w: node has no op_type", ErrInvalid)
	}
	if len(np.GetAttribute()) > 0 {
		n.Attrs = make(map[string]*graph.Attr, len(np.GetAttribute()))
	}
	for i, ap := range np.GetAttribute() {
		name := ap.GetName()
		if name == "" {
			return nil, fmt.Errorf("%w: attribute #%d has no name", ErrInvalid, i)
		}
		if _, dup := n.Attrs[name]; dup {
			return nil, fmt.Errorf("%w: attribute %q is given twice", ErrInvalid, name)
		}
		a, err := attrFromProto(ap)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		n.Attrs[name] = a
	}
	return n, nil
}

// attrType returns the declared attribute type or, for files older than IR
// version 2 that leave it unset, the one implied by the field in use.
func attrType(ap *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	if ap.Type != nil {
		return ap.GetType()
	}
	switch {
	case ap.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case ap.I != nil:
		return onnxpb.AttributeProto_INT
	case ap.S != nil:
		return onnxpb.AttributeProto_STRING
	case ap.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case ap.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case len(ap.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(ap.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(ap.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	case len(ap.Graphs) > 0:
		return onnxpb.AttributeProto_GRAPHS
	case len(ap.Tensors) > 0:
		return onnxpb.AttributeProto_TENSORS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

func attrFromProto(ap *onnxpb.AttributeProto) (*graph.Attr, error) {
	if ap.GetRefAttrName() != "" {
		return nil, fmt.Errorf("%w: reference to function attribute %q", ErrUnsupported, ap.GetRefAttrName())
	}
	switch typ := attrType(ap); typ {
	case onnxpb.AttributeProto_FLOAT:
		return &graph.Attr{Type: graph.AttrFloat, F: ap.GetF()}, nil
	case onnxpb.AttributeProto_INT:
		return &graph.Attr{Type: graph.AttrInt, I: ap.GetI()}, nil
	case onnxpb.AttributeProto_STRING:
		return &graph.Attr{Type: graph.AttrString, S: string(ap.GetS())}, nil
	case onnxpb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return nil, fmt.Errorf("%w: TENSOR attribute without a tensor", ErrInvalid)
		}
		t, err := tensorFromProto(ap.GetT())
		if err != nil {
			return nil, err
		}
		return &graph.Attr{Type: graph.AttrTensor, T: t}, nil
	case onnxpb.AttributeProto_FLOATS:
		return &graph.Attr{Type: graph.AttrFloats, Floats: append([]float32{}, ap.GetFloats()...)}, nil
	case onnxpb.AttributeProto_INTS:
		return &graph.Attr{Type: graph.AttrInts, Ints: append([]int64{}, ap.GetInts()...)}, nil
	case onnxpb.AttributeProto_STRINGS:
		ss := make([]string, len(ap.GetStrings()))
		for i, s := range ap.GetStrings() {
			ss[i] = string(s)
		}
		return &graph.Attr{Type: graph.AttrStrings, Strings: ss}, nil
	case onnxpb.AttributeProto_GRAPH, onnxpb.AttributeProto_GRAPHS:
		return nil, fmt.Errorf("%w: graph-valued attributes (subgraphs of control flow) are not supported", ErrUnsupported)
	case onnxpb.AttributeProto_UNDEFINED:
		return nil, fmt.Errorf("%w: attribute has no type and no value", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: attribute type %v", ErrUnsupported, typ)
	}
}
