package tfgraph

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Permutations between TensorFlow's NHWC and the IR's NCHW.
var (
	toNCHW = []int64{0, 3, 1, 2}
	toNHWC = []int64{0, 2, 3, 1}
	// nchwAxis maps an NHWC axis to the same axis of the NCHW tensor.
	nchwAxis = []int{0, 2, 3, 1}
)

// value is one TensorFlow tensor during import. Its data lives in the IR
// under up to two names: tf holds it as TensorFlow lays it out, nchw holds
// the NCHW transpose of a 4-D NHWC tensor. Either may be empty until it is
// needed; constants (c != nil) get IR names only when an IR node reads them.
type value struct {
	ref   tref
	tf    string
	nchw  string
	c     *tensor.Tensor
	shape []int // TensorFlow shape; -1 for unknown dims, nil for unknown rank
	dtype tensor.DType
	// isRange marks the min or max output of a quantized op, which the
	// float import does not compute.
	isRange bool
}

func (v *value) rank() int {
	if v.shape == nil {
		return -1
	}
	return len(v.shape)
}

type importer struct {
	sel  *selection
	g    *graph.Graph
	vals map[tref]*value
	used map[string]bool
	node *tfpb.NodeDef // node being converted
	// budget is the number of constant elements the import may still
	// create; overBudget is set when it runs out.
	budget     int
	overBudget bool
}

// constBudget bounds the constant elements an import creates beyond one per
// input byte (fills, transposed and derived copies), so that a small file
// cannot make the importer allocate without limit.
const constBudget = 1 << 26

// spend takes n elements from the budget.
func (im *importer) spend(n int) bool {
	if n > im.budget {
		im.overBudget = true
		im.budget = 0
		return false
	}
	im.budget -= n
	return true
}

func importGraph(gd *tfpb.GraphDef, opt Options, size int) (*graph.Model, error) {
	sel, err := selectNodes(gd, opt)
	if err != nil {
		return nil, err
	}
	im := &importer{
		sel:    sel,
		g:      &graph.Graph{Name: "tensorflow", Initializers: map[string]*tensor.Tensor{}},
		vals:   map[tref]*value{},
		used:   map[string]bool{},
		budget: constBudget + size,
	}
	for name := range sel.nodes {
		im.used[name] = true
	}
	for _, r := range sel.inputs {
		if err := im.addInput(r); err != nil {
			return nil, err
		}
	}
	for _, n := range sel.order {
		im.node = n
		if err := converters[n.GetOp()](im, n); err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.GetName(), n.GetOp(), err)
		}
		if im.overBudget {
			return nil, fmt.Errorf("node %q (%s): %w: the graph's constants expand to more than %d elements", n.GetName(), n.GetOp(), ErrUnsupported, constBudget+size)
		}
	}
	im.node = nil
	for _, r := range sel.outputs {
		if err := im.addOutput(r); err != nil {
			return nil, err
		}
	}
	if err := im.g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: imported graph: %v", ErrInvalid, err)
	}
	m := &graph.Model{
		ProducerName: "tensorflow",
		Opsets:       map[string]int64{"": 13},
		Graph:        im.g,
	}
	if v := gd.GetVersions(); v != nil {
		m.ProducerVersion = "graphdef " + strconv.Itoa(int(v.GetProducer()))
	}
	return m, nil
}

func (im *importer) addInput(r tref) error {
	n := im.sel.nodes[r.node]
	a := attrs{n}
	dt := tfpb.DataType_DT_FLOAT
	var shape []int
	if isPlaceholder(n.GetOp()) && r.index == 0 {
		if t, ok, err := a.dtype("dtype"); err != nil {
			return fmt.Errorf("input %q: %w", r.String(), err)
		} else if ok {
			dt = t
		}
		s, _, err := a.shape("shape")
		if err != nil {
			return fmt.Errorf("input %q: %w", r.String(), err)
		}
		shape = s
	} else if t, ok, err := a.dtype("T"); err == nil && ok {
		dt = t
	} else if t, ok, err := a.dtype("dtype"); err == nil && ok {
		dt = t
	}
	d, err := dtypeOf(dt)
	if err != nil {
		return fmt.Errorf("input %q: %w", r.String(), err)
	}
	name := r.valueName()
	im.used[name] = true
	vi := graph.ValueInfo{Name: name, DType: d, Shape: dims(shape)}
	im.g.Inputs = append(im.g.Inputs, vi)
	im.vals[r] = &value{ref: r, tf: name, shape: shape, dtype: d}
	return nil
}

func (im *importer) addOutput(r tref) error {
	v := im.vals[r]
	if v == nil {
		return fmt.Errorf("%w: output %q: node %q has no output %d", ErrInvalid, r.String(), r.node, r.index)
	}
	if v.isRange {
		return fmt.Errorf("%w: output %q is the range of a quantized tensor, which the float import does not compute", ErrUnsupported, r.String())
	}
	name := r.valueName()
	if src := im.tfName(v); src != name {
		if im.taken(name) {
			return fmt.Errorf("%w: output %q: IR name %q is already in use", ErrInvalid, r.String(), name)
		}
		im.used[name] = true
		// Named after the output's node (typically an Identity, which
		// produced no IR node of its own) unless an IR node has that name.
		nodeName := r.node
		for _, n := range im.g.Nodes {
			if n.Name == nodeName {
				nodeName = im.fresh(name + "/output")
				break
			}
		}
		im.g.Nodes = append(im.g.Nodes, &graph.Node{Name: nodeName, OpType: "Identity", Inputs: []string{src}, Outputs: []string{name}})
	}
	for _, o := range im.g.Outputs {
		if o.Name == name {
			return fmt.Errorf("%w: output %q is listed twice", ErrInvalid, r.String())
		}
	}
	im.g.Outputs = append(im.g.Outputs, graph.ValueInfo{Name: name, DType: v.dtype, Shape: dims(v.shape)})
	return nil
}

func (im *importer) isInput(name string) bool {
	for _, in := range im.g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// taken reports whether an IR value of that name exists already.
func (im *importer) taken(name string) bool {
	return im.producedAs(name) || im.isInput(name) || im.g.IsInitializer(name)
}

func (im *importer) producedAs(name string) bool {
	for _, n := range im.g.Nodes {
		if slices.Contains(n.Outputs, name) {
			return true
		}
	}
	return false
}

func dims(s []int) []graph.Dim {
	if s == nil {
		return nil
	}
	d := make([]graph.Dim, len(s))
	for i, v := range s {
		d[i] = graph.Dim{Value: int64(v)}
	}
	return d
}

// fresh returns an IR name based on want that is not used yet.
func (im *importer) fresh(want string) string {
	name := want
	for i := 1; im.used[name]; i++ {
		name = want + "_" + strconv.Itoa(i)
	}
	im.used[name] = true
	return name
}

// emit appends an IR node. The main node a TensorFlow node turns into
// (suffix "") is named after it; helpers get derived names.
func (im *importer) emit(op, suffix string, inputs, outputs []string, at map[string]*graph.Attr) {
	var name string
	switch {
	case im.node != nil && suffix == "":
		name = im.node.GetName()
	case im.node != nil:
		name = im.fresh(im.node.GetName() + "/" + suffix)
	default:
		name = im.fresh(outputs[0] + "/" + suffix)
	}
	im.g.Nodes = append(im.g.Nodes, &graph.Node{Name: name, OpType: op, Inputs: inputs, Outputs: outputs, Attrs: at})
}

// constName gives a constant an IR name (an initializer) and returns it.
func (im *importer) constName(base string, t *tensor.Tensor) string {
	im.spend(t.Len())
	name := im.fresh(base)
	im.g.Initializers[name] = t
	return name
}

func (im *importer) int64s(base string, v ...int64) string {
	return im.constName(base, tensor.FromInt64(tensor.Shape{len(v)}, v))
}

// tfName returns the IR name of v in TensorFlow's layout.
func (im *importer) tfName(v *value) string {
	if v.tf != "" {
		return v.tf
	}
	name := im.ownName(v.ref)
	if v.c != nil {
		im.spend(v.c.Len())
		im.g.Initializers[name] = v.c
		v.tf = name
		return name
	}
	im.emit("Transpose", "to_nhwc", []string{v.nchw}, []string{name}, map[string]*graph.Attr{"perm": graph.IntsAttr(toNHWC...)})
	v.tf = name
	return name
}

// ownName returns the IR name of a tensor in TensorFlow layout: its value
// name unless something already holds that name.
func (im *importer) ownName(r tref) string {
	name := r.valueName()
	if im.taken(name) {
		return im.fresh(name)
	}
	im.used[name] = true
	return name
}

// nchwName returns the IR name of the NCHW transpose of a 4-D NHWC tensor.
func (im *importer) nchwName(v *value) (string, error) {
	if v.nchw != "" {
		return v.nchw, nil
	}
	if r := v.rank(); r != 4 && r != -1 {
		return "", fmt.Errorf("%w: tensor %q has rank %d, want 4", ErrInvalid, v.ref.String(), r)
	}
	if v.c != nil {
		if len(v.c.Shape) != 4 {
			return "", fmt.Errorf("%w: constant %q has rank %d, want 4", ErrInvalid, v.ref.String(), len(v.c.Shape))
		}
		v.nchw = im.constName(v.ref.valueName()+"/nchw", transpose(v.c, toNCHW))
		return v.nchw, nil
	}
	src := im.tfName(v)
	v.nchw = im.fresh(v.ref.valueName() + "/nchw")
	im.emit("Transpose", "to_nchw", []string{src}, []string{v.nchw}, map[string]*graph.Attr{"perm": graph.IntsAttr(toNCHW...)})
	return v.nchw, nil
}

// in returns data input i of the current node.
func (im *importer) in(n *tfpb.NodeDef, i int) (*value, error) {
	k := -1
	for _, s := range n.GetInput() {
		r, control, _ := parseInput(s)
		if control {
			continue
		}
		k++
		if k != i {
			continue
		}
		v := im.vals[r]
		if v == nil {
			return nil, fmt.Errorf("%w: input %d reads %q, which eightbit does not import (only output 0 of most ops is)", ErrUnsupported, i, s)
		}
		if v.isRange {
			return nil, fmt.Errorf("%w: input %d reads %q, the range of a quantized tensor, which the float import does not compute", ErrUnsupported, i, s)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: missing input %d", ErrInvalid, i)
}

// numInputs counts the data inputs of a node.
func numInputs(n *tfpb.NodeDef) int {
	k := 0
	for _, s := range n.GetInput() {
		if _, control, _ := parseInput(s); !control {
			k++
		}
	}
	return k
}

// constIn returns data input i, which must be a constant known at import.
func (im *importer) constIn(n *tfpb.NodeDef, i int, what string) (*tensor.Tensor, error) {
	v, err := im.in(n, i)
	if err != nil {
		return nil, err
	}
	if v.c == nil {
		return nil, fmt.Errorf("%w: %s (input %d, %q) is computed at run time; eightbit needs it constant", ErrUnsupported, what, i, v.ref.String())
	}
	return v.c, nil
}

// alias makes output index of n the same tensor as v (Identity).
func (im *importer) alias(n *tfpb.NodeDef, index int, v *value) {
	im.vals[tref{n.GetName(), index}] = v
}

// constant records output index of n as a constant known at import.
func (im *importer) constant(n *tfpb.NodeDef, index int, t *tensor.Tensor) {
	im.spend(t.Len())
	r := tref{n.GetName(), index}
	im.vals[r] = &value{ref: r, c: t, shape: intShape(t.Shape), dtype: t.DType}
}

func intShape(s tensor.Shape) []int {
	out := make([]int, len(s))
	copy(out, s)
	return out
}

// out makes a new value for output index of n, held in TensorFlow layout
// (nchw false) or as NCHW, and returns its IR name.
func (im *importer) out(n *tfpb.NodeDef, index int, nchw bool, shape []int, dt tensor.DType) (string, *value) {
	r := tref{n.GetName(), index}
	v := &value{ref: r, shape: shape, dtype: dt}
	if nchw {
		v.nchw = im.fresh(r.valueName() + "/nchw")
	} else {
		v.tf = im.ownName(r)
	}
	im.vals[r] = v
	if nchw {
		return v.nchw, v
	}
	return v.tf, v
}

// transpose permutes a constant.
func transpose(t *tensor.Tensor, perm []int64) *tensor.Tensor {
	r := len(t.Shape)
	out := make(tensor.Shape, r)
	for i, p := range perm {
		out[i] = t.Shape[p]
	}
	res := tensor.New(t.DType, out)
	inStr := t.Shape.Strides()
	outStr := out.Strides()
	n := t.Shape.Size()
	idx := make([]int, r)
	for o := 0; o < n; o++ {
		rem := o
		src := 0
		for i := 0; i < r; i++ {
			idx[i] = rem / outStr[i]
			rem %= outStr[i]
			src += idx[i] * inStr[perm[i]]
		}
		copyElem(res, o, t, src)
	}
	return res
}

func copyElem(dst *tensor.Tensor, i int, src *tensor.Tensor, j int) {
	switch src.DType {
	case tensor.Float32:
		dst.F32[i] = src.F32[j]
	case tensor.Uint8, tensor.Bool:
		dst.U8[i] = src.U8[j]
	case tensor.Int8:
		dst.I8[i] = src.I8[j]
	case tensor.Int32:
		dst.I32[i] = src.I32[j]
	case tensor.Int64:
		dst.I64[i] = src.I64[j]
	}
}

// reshaped returns t with a new shape of the same size.
func reshaped(t *tensor.Tensor, shape ...int) *tensor.Tensor {
	c := *t
	c.Shape = tensor.Shape(shape)
	return &c
}

// toInt64s reads an integer constant.
func toInt64s(t *tensor.Tensor, what string) ([]int64, error) {
	if t.DType != tensor.Int32 && t.DType != tensor.Int64 {
		return nil, fmt.Errorf("%w: %s has element type %v, want an integer", ErrInvalid, what, t.DType)
	}
	v, err := t.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
	}
	return v, nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(a int64, rank int, what string) (int, error) {
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("%w: %s %d is out of range for rank %d", ErrInvalid, what, a, rank)
	}
	return int(a), nil
}
