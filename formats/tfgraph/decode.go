package tfgraph

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"google.golang.org/protobuf/proto"
)

var (
	// ErrInvalid is wrapped by every error about input that is not a
	// well-formed TensorFlow GraphDef (bad protobuf, duplicate or missing
	// names, inputs that name no node, tensors whose data does not match
	// their shape, attributes of the wrong kind).
	ErrInvalid = failure.Errorf(failure.InvalidModel, "invalid TensorFlow graph")
	// ErrUnsupported is wrapped by every error about a well-formed graph
	// that eightbit cannot import (op types it has no equivalent for, element
	// types such as DT_STRING, attribute values such as training mode).
	ErrUnsupported = failure.Errorf(failure.Unsupported, "unsupported TensorFlow feature")
)

// Options selects the part of the graph to import.
type Options struct {
	// Inputs are the tensors the imported graph starts from, as
	// "node:index" or "node" (index 0), e.g. "Mul:0". Nodes that only feed
	// these tensors are not imported, whatever their op. The default is
	// every Placeholder and PlaceholderWithDefault the outputs depend on, in
	// file order. With explicit inputs, a PlaceholderWithDefault that is not
	// among them takes its default.
	Inputs []string
	// Outputs are the tensors the imported graph computes, e.g.
	// "softmax:0". The default is every node whose outputs no other node
	// reads through a data input (control inputs do not count), other than
	// NoOp, Const and Placeholder nodes, in file order.
	Outputs []string
}

// tref names one output of a node.
type tref struct {
	node  string
	index int
}

func (r tref) String() string { return r.node + ":" + strconv.Itoa(r.index) }

// ValueName returns the name of the graph IR value that holds a TensorFlow
// tensor: the node name for output 0 ("softmax:0" and "softmax" give
// "softmax") and "node:index" for the others ("split:1"). Graph inputs and
// outputs of the imported model are named this way.
func ValueName(tensorName string) string {
	r, err := parseTensorName(tensorName)
	if err != nil {
		return tensorName
	}
	return r.valueName()
}

func (r tref) valueName() string {
	if r.index == 0 {
		return r.node
	}
	return r.String()
}

// parseTensorName parses "node" or "node:index".
func parseTensorName(s string) (tref, error) {
	name, idx := s, 0
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 || s[i+1:] != strconv.Itoa(n) {
			return tref{}, fmt.Errorf("%w: tensor name %q: output index is not a number", ErrInvalid, s)
		}
		name, idx = s[:i], n
	}
	if name == "" || strings.ContainsAny(name, ":^") {
		return tref{}, fmt.Errorf("%w: malformed tensor name %q", ErrInvalid, s)
	}
	return tref{name, idx}, nil
}

// parseInput parses one NodeDef input: a tensor name or "^node".
func parseInput(s string) (r tref, control bool, err error) {
	if strings.HasPrefix(s, "^") {
		r, err = parseTensorName(s[1:])
		return r, true, err
	}
	r, err = parseTensorName(s)
	return r, false, err
}

// Decode parses a serialized TensorFlow GraphDef (the bytes of a frozen
// graph .pb file) and imports the part selected by opt into eightbit's
// graph IR, with ONNX opset 13 semantics. See the package documentation for
// what is read and how. Every error wraps ErrInvalid or ErrUnsupported and
// names the node, attribute or tensor it is about.
func Decode(data []byte, opt Options) (*graph.Model, error) {
	var gd tfpb.GraphDef
	if err := proto.Unmarshal(data, &gd); err != nil {
		return nil, fmt.Errorf("tfgraph: %w: not a TensorFlow GraphDef: %v", ErrInvalid, err)
	}
	if len(gd.ProtoReflect().GetUnknown()) > 0 {
		return nil, fmt.Errorf("tfgraph: %w: not a TensorFlow GraphDef (unknown top-level fields; a SavedModel, MetaGraphDef or ONNX file is not a frozen graph)", ErrInvalid)
	}
	if len(gd.GetNode()) == 0 {
		return nil, fmt.Errorf("tfgraph: %w: not a TensorFlow GraphDef (no nodes)", ErrInvalid)
	}
	m, err := importGraph(&gd, opt, len(data))
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %w", err)
	}
	return m, nil
}

// selection is the part of the graph that is imported.
type selection struct {
	nodes   map[string]*tfpb.NodeDef
	inputs  []tref
	outputs []tref
	cut     map[tref]bool
	order   []*tfpb.NodeDef // needed nodes, producers first
}

func selectNodes(gd *tfpb.GraphDef, opt Options) (*selection, error) {
	s := &selection{nodes: make(map[string]*tfpb.NodeDef, len(gd.GetNode())), cut: map[tref]bool{}}
	read := map[string]bool{}
	for i, n := range gd.GetNode() {
		name := n.GetName()
		if name == "" {
			return nil, fmt.Errorf("%w: node #%d has no name", ErrInvalid, i)
		}
		if strings.ContainsAny(name, ":^\x00") {
			return nil, fmt.Errorf("%w: node #%d: malformed name %q", ErrInvalid, i, name)
		}
		if n.GetOp() == "" {
			return nil, fmt.Errorf("%w: node %q has no op", ErrInvalid, name)
		}
		if _, dup := s.nodes[name]; dup {
			return nil, fmt.Errorf("%w: node %q is defined twice", ErrInvalid, name)
		}
		s.nodes[name] = n
	}
	for _, n := range gd.GetNode() {
		for _, in := range n.GetInput() {
			r, control, err := parseInput(in)
			if err != nil {
				return nil, fmt.Errorf("node %q: input: %w", n.GetName(), err)
			}
			if s.nodes[r.node] == nil {
				return nil, fmt.Errorf("%w: node %q reads %q, which no node defines", ErrInvalid, n.GetName(), in)
			}
			if !control {
				read[r.node] = true
			}
		}
	}
	for _, name := range opt.Inputs {
		r, err := parseTensorName(name)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if s.nodes[r.node] == nil {
			return nil, fmt.Errorf("%w: input %q: no node %q in the graph", ErrInvalid, name, r.node)
		}
		if s.cut[r] {
			return nil, fmt.Errorf("%w: input %q is listed twice", ErrInvalid, name)
		}
		s.cut[r] = true
		s.inputs = append(s.inputs, r)
	}
	for _, name := range opt.Outputs {
		r, err := parseTensorName(name)
		if err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		if s.nodes[r.node] == nil {
			return nil, fmt.Errorf("%w: output %q: no node %q in the graph", ErrInvalid, name, r.node)
		}
		s.outputs = append(s.outputs, r)
	}
	if len(opt.Outputs) == 0 {
		for _, n := range gd.GetNode() {
			switch n.GetOp() {
			case "NoOp", "Const", "Placeholder", "PlaceholderWithDefault":
				continue
			}
			if !read[n.GetName()] {
				s.outputs = append(s.outputs, tref{n.GetName(), 0})
			}
		}
		if len(s.outputs) == 0 {
			return nil, fmt.Errorf("%w: no output: every node is read by another (give Options.Outputs)", ErrInvalid)
		}
	}
	for i, r := range s.outputs {
		for _, q := range s.outputs[:i] {
			if q == r {
				return nil, fmt.Errorf("%w: output %q is listed twice", ErrInvalid, r.String())
			}
		}
	}

	// Needed nodes: everything the outputs read through data inputs,
	// stopping at the input tensors.
	needed := map[string]bool{}
	var stack []string
	visit := func(r tref) {
		if s.cut[r] || needed[r.node] {
			return
		}
		needed[r.node] = true
		stack = append(stack, r.node)
	}
	for _, r := range s.outputs {
		visit(r)
	}
	for len(stack) > 0 {
		n := s.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if len(opt.Inputs) == 0 && isPlaceholder(n.GetOp()) {
			continue
		}
		for _, r := range s.followed(n) {
			visit(r)
		}
	}
	if err := checkOps(gd, needed); err != nil {
		return nil, err
	}
	if len(opt.Inputs) == 0 {
		for _, n := range gd.GetNode() {
			if needed[n.GetName()] && isPlaceholder(n.GetOp()) {
				r := tref{n.GetName(), 0}
				s.inputs = append(s.inputs, r)
				s.cut[r] = true
				delete(needed, n.GetName())
			}
		}
	} else {
		for _, n := range gd.GetNode() {
			if needed[n.GetName()] && n.GetOp() == "Placeholder" {
				return nil, fmt.Errorf("%w: the outputs depend on placeholder %q, which is not among the inputs", ErrInvalid, n.GetName())
			}
		}
	}
	order, err := topoOrder(gd, s, needed)
	if err != nil {
		return nil, err
	}
	s.order = order
	return s, nil
}

// followed returns the data inputs of n that its import reads. The range
// inputs (min and max) of TensorFlow's quantized ops are read only when a
// Const produces them: the float equivalent does not need a range computed
// at run time.
func (s *selection) followed(n *tfpb.NodeDef) []tref {
	var out []tref
	k := -1
	q, quantized := specFor(n)
	for _, in := range n.GetInput() {
		r, control, _ := parseInput(in)
		if control {
			continue
		}
		k++
		if quantized && !q.isData(k) && s.nodes[r.node].GetOp() != "Const" {
			continue
		}
		out = append(out, r)
	}
	return out
}

func isPlaceholder(op string) bool { return op == "Placeholder" || op == "PlaceholderWithDefault" }

// checkOps reports, in one error, every op type among the needed nodes that
// the importer has no conversion for, with the nodes of each.
func checkOps(gd *tfpb.GraphDef, needed map[string]bool) error {
	bad := map[string][]string{}
	for _, n := range gd.GetNode() {
		if needed[n.GetName()] && converters[n.GetOp()] == nil {
			bad[n.GetOp()] = append(bad[n.GetOp()], n.GetName())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	ops := make([]string, 0, len(bad))
	for op := range bad {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		names := bad[op]
		quoted := make([]string, len(names))
		for j, nm := range names {
			quoted[j] = strconv.Quote(nm)
		}
		parts[i] = fmt.Sprintf("%s (%s)", op, strings.Join(quoted, ", "))
	}
	return fmt.Errorf("%w: op types eightbit does not import: %s", ErrUnsupported, strings.Join(parts, "; "))
}

// topoOrder orders the needed nodes so that producers come first, in
// file order where it is already valid. Control inputs are ignored.
func topoOrder(gd *tfpb.GraphDef, s *selection, needed map[string]bool) ([]*tfpb.NodeDef, error) {
	pending := map[string]int{}
	readers := map[string][]string{}
	var list []*tfpb.NodeDef
	for _, n := range gd.GetNode() {
		if !needed[n.GetName()] {
			continue
		}
		list = append(list, n)
		seen := map[string]bool{}
		for _, r := range s.followed(n) {
			if s.cut[r] || !needed[r.node] || seen[r.node] {
				continue
			}
			seen[r.node] = true
			pending[n.GetName()]++
			readers[r.node] = append(readers[r.node], n.GetName())
		}
	}
	// Kahn's algorithm with a queue ordered by file position.
	pos := map[string]int{}
	for i, n := range list {
		pos[n.GetName()] = i
	}
	ready := &intHeap{}
	for i, n := range list {
		if pending[n.GetName()] == 0 {
			ready.push(i)
		}
	}
	order := make([]*tfpb.NodeDef, 0, len(list))
	for ready.len() > 0 {
		n := list[ready.pop()]
		order = append(order, n)
		for _, r := range readers[n.GetName()] {
			pending[r]--
			if pending[r] == 0 {
				ready.push(pos[r])
			}
		}
	}
	if len(order) < len(list) {
		for _, n := range list {
			if pending[n.GetName()] > 0 {
				return nil, fmt.Errorf("%w: node %q is on a cycle of data inputs", ErrInvalid, n.GetName())
			}
		}
	}
	return order, nil
}

// intHeap is a min-heap of ints.
type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }

func (h *intHeap) push(v int) {
	h.a = append(h.a, v)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[m], h.a[i] = h.a[i], h.a[m]
		i = m
	}
	return top
}
