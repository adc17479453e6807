package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

// Model is a loaded model: metadata, opset imports and the main graph.
type Model struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	// Opsets maps an operator domain ("" for the default ONNX domain) to its
	// imported version.
	Opsets map[string]int64
	// Metadata holds metadata_props, kept in file order.
	Metadata []KeyValue
	Graph    *Graph
}

// KeyValue is one metadata entry.
type KeyValue struct{ Key, Value string }

// Opset returns the imported version of the default ONNX domain (0 if absent).
func (m *Model) Opset() int64 {
	if v, ok := m.Opsets[""]; ok {
		return v
	}
	return m.Opsets["ai.onnx"]
}

// Graph is a computation graph.
type Graph struct {
	Name string
	// Inputs are the runtime inputs, in order. Values that are also
	// initializers are not listed here: they are constants.
	Inputs  []ValueInfo
	Outputs []ValueInfo
	// ValueInfo carries optional type and shape information of intermediate
	// values.
	ValueInfo []ValueInfo
	// Initializers are the constant tensors by name.
	Initializers map[string]*tensor.Tensor
	// Nodes in file order (which ONNX requires to be topological).
	Nodes     []*Node
	DocString string
}

// Dim is one dimension of a declared shape: a fixed size (Value >= 0), a
// symbolic one (Param != ""), or unknown (Value < 0 and Param == "").
type Dim struct {
	Value int64
	Param string
}

// ValueInfo is the declared type and shape of a named value.
type ValueInfo struct {
	Name  string
	DType tensor.DType
	// Shape is nil when unknown; a scalar has a non-nil empty shape.
	Shape     []Dim
	DocString string
}

// ShapeString renders a declared shape such as [batch,1,28,28].
func (v ValueInfo) ShapeString() string {
	if v.Shape == nil {
		return "[?]"
	}
	parts := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		switch {
		case d.Param != "":
			parts[i] = d.Param
		case d.Value < 0:
			parts[i] = "?"
		default:
			parts[i] = fmt.Sprint(d.Value)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Node is one operator application. An empty input name is a missing
// optional input.
type Node struct {
	Name      string
	OpType    string
	Domain    string
	Inputs    []string
	Outputs   []string
	Attrs     map[string]*Attr
	DocString string
}

// Label names a node for error messages: `Conv "conv1"` or `Conv #3`.
func (n *Node) Label() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	if len(n.Outputs) > 0 {
		return fmt.Sprintf("%s (output %q)", n.OpType, n.Outputs[0])
	}
	return n.OpType
}

// Input returns input i, or "" when it is absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// Clone returns a deep copy of the node (attribute tensors are shared).
func (n *Node) Clone() *Node {
	c := *n
	c.Inputs = append([]string(nil), n.Inputs...)
	c.Outputs = append([]string(nil), n.Outputs...)
	if n.Attrs != nil {
		c.Attrs = make(map[string]*Attr, len(n.Attrs))
		for k, a := range n.Attrs {
			ac := *a
			c.Attrs[k] = &ac
		}
	}
	return &c
}

// AttrType is the kind of an attribute value.
type AttrType int

// Attribute kinds; the numeric values equal ONNX AttributeProto.AttributeType.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
)

// Attr is an attribute value. Only the field matching Type is meaningful.
// Graph-valued attributes are not represented (they are rejected on load).
type Attr struct {
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *tensor.Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// AttrInt returns an int attribute or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInt {
		return a.I
	}
	return def
}

// AttrFloat returns a float attribute or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// AttrString returns a string attribute or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrString {
		return a.S
	}
	return def
}

// AttrInts returns an ints attribute or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInts {
		return a.Ints
	}
	return def
}

// AttrFloats returns a floats attribute or def when absent.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloats {
		return a.Floats
	}
	return def
}

// AttrTensor returns a tensor attribute or nil.
func (n *Node) AttrTensor(name string) *tensor.Tensor {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrTensor {
		return a.T
	}
	return nil
}

// SetAttr sets an attribute, creating the map when needed.
func (n *Node) SetAttr(name string, a *Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[name] = a
}

// IntAttr, FloatAttr, IntsAttr and StringAttr build attribute values.
func IntAttr(v int64) *Attr             { return &Attr{Type: AttrInt, I: v} }
func FloatAttr(v float32) *Attr         { return &Attr{Type: AttrFloat, F: v} }
func IntsAttr(v ...int64) *Attr         { return &Attr{Type: AttrInts, Ints: v} }
func StringAttr(v string) *Attr         { return &Attr{Type: AttrString, S: v} }
func TensorAttr(t *tensor.Tensor) *Attr { return &Attr{Type: AttrTensor, T: t} }

// IsInitializer reports whether name is a constant of the graph.
func (g *Graph) IsInitializer(name string) bool {
	_, ok := g.Initializers[name]
	return ok
}

// Producers maps every value name to the node that writes it.
func (g *Graph) Producers() map[string]*Node {
	p := make(map[string]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				p[o] = n
			}
		}
	}
	return p
}

// Consumers maps every value name to the nodes that read it, in node order.
func (g *Graph) Consumers() map[string][]*Node {
	c := make(map[string][]*Node)
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				c[in] = append(c[in], n)
			}
		}
	}
	return c
}

// IsOutput reports whether name is a graph output.
func (g *Graph) IsOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// InitializerNames returns the initializer names sorted, for deterministic
// iteration.
func (g *Graph) InitializerNames() []string {
	names := make([]string, 0, len(g.Initializers))
	for k := range g.Initializers {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// UniqueName returns base, or base with a numeric suffix, such that it names
// no value, initializer or node in the graph yet.
func (g *Graph) UniqueName(base string) string {
	used := g.usedNames()
	if !used[base] {
		return base
	}
	for i := 1; ; i++ {
		c := fmt.Sprintf("%s_%d", base, i)
		if !used[c] {
			return c
		}
	}
}

func (g *Graph) usedNames() map[string]bool {
	used := map[string]bool{}
	for k := range g.Initializers {
		used[k] = true
	}
	for _, v := range g.Inputs {
		used[v.Name] = true
	}
	for _, n := range g.Nodes {
		used[n.Name] = true
		for _, o := range n.Outputs {
			used[o] = true
		}
	}
	return used
}

// Clone returns a deep copy of the graph structure. Initializer tensors are
// shared; replace, do not mutate, them in the copy.
func (g *Graph) Clone() *Graph {
	c := *g
	c.Inputs = append([]ValueInfo(nil), g.Inputs...)
	c.Outputs = append([]ValueInfo(nil), g.Outputs...)
	c.ValueInfo = append([]ValueInfo(nil), g.ValueInfo...)
	c.Initializers = make(map[string]*tensor.Tensor, len(g.Initializers))
	for k, v := range g.Initializers {
		c.Initializers[k] = v
	}
	c.Nodes = make([]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		c.Nodes[i] = n.Clone()
	}
	return &c
}

// Clone returns a deep copy of the model (see Graph.Clone).
func (m *Model) Clone() *Model {
	c := *m
	c.Opsets = make(map[string]int64, len(m.Opsets))
	for k, v := range m.Opsets {
		c.Opsets[k] = v
	}
	c.Metadata = append([]KeyValue(nil), m.Metadata...)
	if m.Graph != nil {
		c.Graph = m.Graph.Clone()
	}
	return &c
}

// TopoSort orders the nodes so that every node comes after the producers of
// its inputs, keeping file order where it already is valid. It fails on a
// cycle or on an input that nothing defines.
func (g *Graph) TopoSort() error {
	defined := map[string]bool{"": true}
	for k := range g.Initializers {
		defined[k] = true
	}
	for _, in := range g.Inputs {
		defined[in.Name] = true
	}
	producer := map[string]int{}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return failure.Errorf(failure.InvalidModel, "value %q is written by both %s and %s", o, g.Nodes[j].Label(), n.Label())
			}
			if defined[o] {
				return failure.Errorf(failure.InvalidModel, "%s writes %q, which is already a graph input or initializer", n.Label(), o)
			}
			producer[o] = i
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if _, ok := producer[in]; !ok && !defined[in] {
				return failure.Errorf(failure.InvalidModel, "%s reads %q, which no node, input or initializer defines", n.Label(), in)
			}
		}
	}
	done := make([]bool, len(g.Nodes))
	order := make([]*Node, 0, len(g.Nodes))
	for len(order) < len(g.Nodes) {
		progress := false
		for i, n := range g.Nodes {
			if done[i] {
				continue
			}
			ready := true
			for _, in := range n.Inputs {
				if !defined[in] {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			done[i] = true
			progress = true
			order = append(order, n)
			for _, o := range n.Outputs {
				defined[o] = true
			}
		}
		if !progress {
			for i, n := range g.Nodes {
				if !done[i] {
					return failure.Errorf(failure.InvalidModel, "graph has a cycle through %s", n.Label())
				}
			}
		}
	}
	g.Nodes = order
	return nil
}

// Validate checks structural soundness: unique producers, every input
// defined, no cycles, every graph output produced, initializers well formed,
// within Limits (DefaultLimits) and finite (CheckFinite). It sorts the
// nodes topologically. Its errors have kind failure.InvalidModel, or
// failure.Unsupported for an element type eightbit does not handle, or
// failure.NonFinite (a *NonFiniteError).
func (g *Graph) Validate() error {
	return g.ValidateLimits(DefaultLimits)
}

// ValidateLimits is Validate with the given limits.
func (g *Graph) ValidateLimits(l Limits) error {
	if err := g.CheckLimits(l); err != nil {
		return err
	}
	for _, name := range g.InitializerNames() {
		t := g.Initializers[name]
		if t == nil {
			return failure.Errorf(failure.InvalidModel, "initializer %q is nil", name)
		}
		if err := t.Validate(); err != nil {
			kind := failure.InvalidModel
			if !t.DType.Supported() {
				kind = failure.Unsupported
			}
			return failure.Errorf(kind, "initializer %q: %w", name, err)
		}
	}
	if err := g.validateStructure(); err != nil {
		return err
	}
	return g.CheckFinite()
}

func (g *Graph) validateStructure() error {
	if err := g.TopoSort(); err != nil {
		return err
	}
	prod := g.Producers()
	for _, o := range g.Outputs {
		if _, ok := prod[o.Name]; ok {
			continue
		}
		if g.IsInitializer(o.Name) {
			continue
		}
		found := false
		for _, in := range g.Inputs {
			if in.Name == o.Name {
				found = true
			}
		}
		if !found {
			return failure.Errorf(failure.InvalidModel, "graph output %q is not produced by any node", o.Name)
		}
	}
	return nil
}

// OpCounts returns how many nodes of each op type the graph has.
func (g *Graph) OpCounts() map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		c[n.OpType]++
	}
	return c
}

// ParamCount returns the number of model parameters: the elements of the
// float initializers, Constant nodes and ConstantOfShape nodes of
// initializer shape, and of the integer initializers that a
// DequantizeLinear or an integer op (QLinearConv, QLinearMatMul,
// MatMulInteger, ConvInteger, com.microsoft QGemm and QLinearAdd) reads as
// data, such as int8 weights and int32 biases. Quantization scales and
// zero points do not count, nor do Clip bounds (attributes before opset
// 11), so a quantized model has the parameters of the float model it came
// from.
func (g *Graph) ParamCount() int {
	notParam, data := map[string]bool{}, map[string]bool{}
	mark := func(n *Node, set map[string]bool, idx ...int) {
		for _, i := range idx {
			if in := n.Input(i); in != "" {
				set[in] = true
			}
		}
	}
	for _, n := range g.Nodes {
		switch n.OpType {
		case "QuantizeLinear":
			mark(n, notParam, 1, 2)
		case "DequantizeLinear":
			mark(n, data, 0)
			mark(n, notParam, 1, 2)
		case "QLinearConv": // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
			mark(n, data, 3, 8)
			mark(n, notParam, 1, 2, 4, 5, 6, 7)
		case "QLinearMatMul", "QLinearAdd": // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
			mark(n, data, 0, 3)
			mark(n, notParam, 1, 2, 4, 5, 6, 7)
		case "MatMulInteger", "ConvInteger": // a, b, a_zp, b_zp
			mark(n, data, 0, 1)
			mark(n, notParam, 2, 3)
		case "QGemm": // a, a_scale, a_zp, b, b_scale, b_zp, c, y_scale, y_zp
			mark(n, data, 3, 6)
			mark(n, notParam, 1, 2, 4, 5, 7, 8)
		case "QLinearGlobalAveragePool": // x, x_scale, x_zp, y_scale, y_zp
			mark(n, notParam, 1, 2, 3, 4)
		case "Clip":
			mark(n, notParam, 1, 2)
		}
	}
	count := 0
	for name, t := range g.Initializers {
		if data[name] || t.DType == tensor.Float32 && !notParam[name] {
			count += t.Len()
		}
	}
	for _, n := range g.Nodes {
		if len(n.Outputs) == 0 || notParam[n.Outputs[0]] {
			continue
		}
		switch n.OpType {
		case "Constant":
			if t := n.AttrTensor("value"); t != nil && t.DType == tensor.Float32 {
				count += t.Len()
			}
		case "ConstantOfShape":
			shape := g.Initializers[n.Input(0)]
			if v := n.AttrTensor("value"); shape == nil || shape.DType != tensor.Int64 || v != nil && v.DType != tensor.Float32 {
				continue
			}
			size := 1
			for _, d := range shape.I64 {
				size *= int(max(d, 0))
			}
			count += size
		}
	}
	return count
}
