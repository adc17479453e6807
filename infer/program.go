package infer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// Options select how a model is executed.
type Options struct {
	// Integer runs recognised QDQ patterns in integer arithmetic (see the
	// package documentation); everything else runs in float32.
	Integer bool
}

// UnsupportedOp is one operator type the executor cannot run, with the
// nodes that use it. For an operator type the executor knows but whose
// variant it does not implement (an attribute value, a training mode),
// Reasons says why, per node; it is nil for unknown operator types.
type UnsupportedOp struct {
	OpType  string
	Domain  string
	Nodes   []string
	Reasons []string
}

// UnsupportedError lists every unsupported operator type of a model.
type UnsupportedError struct {
	Opset int64
	Ops   []UnsupportedOp
}

// Error renders e.g. `unsupported ops (opset 13): LSTM ("lstm1"), Foo ("a", "b")`.
func (e *UnsupportedError) Error() string {
	parts := make([]string, len(e.Ops))
	for i, op := range e.Ops {
		name := op.OpType
		if !isDefaultDomain(op.Domain) {
			name = op.Domain + "." + op.OpType
		}
		q := make([]string, len(op.Nodes))
		for j, n := range op.Nodes {
			q[j] = fmt.Sprintf("%q", n)
			if j < len(op.Reasons) && op.Reasons[j] != "" {
				q[j] += ": " + op.Reasons[j]
			}
		}
		parts[i] = fmt.Sprintf("%s (%s)", name, strings.Join(q, ", "))
	}
	return fmt.Sprintf("unsupported ops (opset %d): %s", e.Opset, strings.Join(parts, ", "))
}

// Is reports whether target is failure.Unsupported, the error's kind.
func (e *UnsupportedError) Is(target error) bool { return target == failure.Unsupported }

// Stats describes how a compiled program executes.
type Stats struct {
	// IntegerNodes counts fused integer Conv/Gemm/MatMul nodes.
	IntegerNodes int
	// Uint8Nodes counts the other nodes run on 8-bit values:
	// MaxPool/Flatten/Reshape/Transpose/Relu (exact), Add [+ Relu] and
	// GlobalAveragePool groups and their QOperator forms.
	Uint8Nodes int
	// FloatNodes counts the nodes run in float32 (quantize and dequantize
	// nodes included).
	FloatNodes int
	// IntegerMACs and FloatMACs are the multiply-accumulates per image
	// (batch element) of the most recent Run, in integer and in float
	// Conv/Gemm/MatMul.
	IntegerMACs, FloatMACs int64
}

type stepKind int

const (
	kindFloat stepKind = iota
	kindInteger
	kindUint8
)

// step is one entry of the execution plan.
type step struct {
	label string
	op    string
	kind  stepKind
	in    []int // value slots; -1 for an absent optional input
	out   []int // -1 for an unused output
	run   kernelFunc
	// runA, when set, is run taking its single output from the Run's
	// arena; fresh reports that the outputs never share an input's memory
	// (see aliasGroups).
	runA  allocKernel
	fresh bool
	// free lists the slots whose last reader is this step.
	free []int
	// release lists the alias groups whose arena buffers are released
	// after this step.
	release []int
	// macs counts multiply-accumulates for Stats (nil: none).
	macs func(in, out []*tensor.Tensor) int64
	// nodes is the number of graph nodes the step computes when it is more
	// than one (fused float epilogues).
	nodes int
}

// Program is a compiled model. It is immutable after Compile and safe for
// concurrent use.
type Program struct {
	opset       int64
	inputs      []graph.ValueInfo
	outputs     []string
	nslots      int
	consts      []*tensor.Tensor // per slot: constant value or nil
	names       []string         // per slot: value name
	inputSlots  []int
	outputSlots []int
	steps       []step
	stats       Stats
	// group is the alias group of every slot (arena.go); ngroups counts
	// them.
	group   []int
	ngroups int
	// noReuse makes every kernel allocate from the heap (tests).
	noReuse bool
	arenas  arenas

	mu      sync.Mutex
	lastInt int64
	lastFlt int64

	// source, set when float epilogues were fused, is the model that
	// RunObserved compiles without fusion on first use (observed).
	source   *graph.Model
	observed struct {
		once sync.Once
		p    *Program
		err  error
	}
}

// Compile checks and prepares a model for execution. It works on a copy:
// the caller's model is never modified. Constant nodes become constants,
// Identity (and inference Dropout) nodes are bypassed, every node whose
// inputs are all constant is evaluated once, and the execution order and
// buffer lifetimes are fixed. A model with operators the executor does not
// implement gives an *UnsupportedError.
func Compile(m *graph.Model, opts Options) (*Program, error) {
	return compile(m, opts, true)
}

// compile is Compile; fuse enables the float epilogue fusion (epilogue.go).
func compile(m *graph.Model, opts Options, fuse bool) (*Program, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("infer: nil model or graph")
	}
	if err := checkOpset(m); err != nil {
		return nil, err
	}
	mc := m.Clone()
	g := mc.Graph
	opset := mc.Opset()
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if err := checkSupported(g, opset); err != nil {
		return nil, err
	}
	c := &compiler{g: g, opset: opset, opts: opts, consts: map[string]*tensor.Tensor{}}
	for k, v := range g.Initializers {
		c.consts[k] = v
	}
	c.bypassIdentities()
	c.shapes = graph.InferShapes(g, opset, BatchFree(g.Inputs))
	if err := c.shapes.CheckShapeLimits(graph.DefaultLimits); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	if err := c.fold(); err != nil {
		return nil, err
	}
	if opts.Integer {
		if err := c.fuse(); err != nil {
			return nil, err
		}
	}
	if !opts.Integer {
		c.transposeGemmWeights()
	}
	fused := fuse && !opts.Integer && c.fuseEpilogues()
	p, err := c.plan()
	if err == nil && fused {
		p.source = m.Clone()
	}
	return p, err
}

func checkSupported(g *graph.Graph, opset int64) error {
	byOp := map[string]*UnsupportedOp{}
	var order []string
	for _, n := range g.Nodes {
		reason := ""
		if lookup(n) != nil {
			// Known type: unsupported variants show when building.
			if _, err := buildOp(n, opset); err == nil || !errors.Is(err, ErrUnsupported) {
				continue
			} else {
				reason = err.Error()
			}
		}
		key := n.Domain + "\x00" + n.OpType
		u, ok := byOp[key]
		if !ok {
			u = &UnsupportedOp{OpType: n.OpType, Domain: n.Domain}
			byOp[key] = u
			order = append(order, key)
		}
		name := n.Name
		if name == "" && len(n.Outputs) > 0 {
			name = n.Outputs[0]
		}
		u.Nodes = append(u.Nodes, name)
		if reason != "" || u.Reasons != nil {
			for len(u.Reasons) < len(u.Nodes)-1 {
				u.Reasons = append(u.Reasons, "")
			}
			u.Reasons = append(u.Reasons, reason)
		}
	}
	if len(order) == 0 {
		return nil
	}
	sort.Strings(order)
	e := &UnsupportedError{Opset: opset}
	for _, k := range order {
		e.Ops = append(e.Ops, *byOp[k])
	}
	return e
}

// compiler holds the state of one Compile.
type compiler struct {
	g      *graph.Graph
	opset  int64
	opts   Options
	consts map[string]*tensor.Tensor
	// shapes are the inferred shapes with a symbolic batch dimension.
	shapes *graph.Shapes
	// live nodes in topological order; removed nodes are nil.
	fused []fusedStep
	gone  map[*graph.Node]bool
}

// fusedStep replaces a group of nodes by one step placed at the position of
// the node at.
type fusedStep struct {
	at   *graph.Node
	step step
	// ins and outs are value names.
	ins, outs []string
}

// bypassIdentities rewires readers of Identity outputs (and of inference
// Dropout outputs whose mask is unused) to the Identity's input. Nodes
// whose output is a graph output are kept.
func (c *compiler) bypassIdentities() {
	cons := c.g.Consumers()
	var keep []*graph.Node
	for _, n := range c.g.Nodes {
		bypass := false
		switch n.OpType {
		case "Identity":
			bypass = len(n.Outputs) == 1
		case "Dropout":
			bypass = len(n.Outputs) == 1 || (len(n.Outputs) == 2 && (n.Outputs[1] == "" || (len(cons[n.Outputs[1]]) == 0 && !c.g.IsOutput(n.Outputs[1]))))
		}
		if !bypass || n.Input(0) == "" || c.g.IsOutput(n.Outputs[0]) {
			keep = append(keep, n)
			continue
		}
		from, to := n.Outputs[0], n.Inputs[0]
		for _, r := range cons[from] {
			for i, in := range r.Inputs {
				if in == from {
					r.Inputs[i] = to
				}
			}
		}
		// Later Identity nodes reading from must also see the new name.
		cons[to] = append(cons[to], cons[from]...)
	}
	c.g.Nodes = keep
}

// foldable reports whether a node may be evaluated at compile time when its
// inputs are constant. In integer mode quantize/dequantize nodes stay, as
// the fusion patterns need them.
func (c *compiler) foldable(n *graph.Node) bool {
	if c.opts.Integer && (n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear") {
		return false
	}
	for _, o := range n.Outputs {
		if c.g.IsOutput(o) && n.OpType != "Constant" {
			// Keep graph outputs computed at run time; nothing is gained.
			return false
		}
	}
	return true
}

// fold evaluates every node whose inputs are all constants.
func (c *compiler) fold() error {
	var keep []*graph.Node
	for _, n := range c.g.Nodes {
		allConst := true
		for _, in := range n.Inputs {
			if in != "" && c.consts[in] == nil {
				allConst = false
				break
			}
		}
		if !allConst && c.foldable(n) && c.foldShapeData(n) {
			continue
		}
		if !allConst && n.OpType == "Reshape" && c.opset >= 5 {
			c.staticReshape(n)
		}
		if !allConst || !c.foldable(n) {
			keep = append(keep, n)
			continue
		}
		run, err := buildOp(n, c.opset)
		if err != nil {
			return fmt.Errorf("infer: %s: %w", n.Label(), err)
		}
		in := make([]*tensor.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			if name != "" {
				in[i] = c.consts[name]
			}
		}
		outs, err := run(in)
		if err != nil {
			return fmt.Errorf("infer: %s: %w", n.Label(), err)
		}
		for i, o := range n.Outputs {
			if o != "" && i < len(outs) {
				c.consts[o] = outs[i]
			}
		}
	}
	c.g.Nodes = keep
	return nil
}

// plan assigns value slots, builds the steps, drops dead nodes and computes
// buffer lifetimes.
func (c *compiler) plan() (*Program, error) {
	g := c.g
	p := &Program{opset: c.opset, inputs: append([]graph.ValueInfo(nil), g.Inputs...)}
	slots := map[string]int{}
	slot := func(name string) int {
		if name == "" {
			return -1
		}
		if s, ok := slots[name]; ok {
			return s
		}
		s := len(slots)
		slots[name] = s
		return s
	}
	fusedAt := map[*graph.Node]*fusedStep{}
	for i := range c.fused {
		fusedAt[c.fused[i].at] = &c.fused[i]
	}
	type pending struct {
		st        step
		ins, outs []string
	}
	var steps []pending
	for _, n := range g.Nodes {
		if f, ok := fusedAt[n]; ok {
			steps = append(steps, pending{f.step, f.ins, f.outs})
			continue
		}
		if c.gone[n] {
			continue
		}
		st, err := c.floatStep(n)
		if err != nil {
			return nil, fmt.Errorf("infer: %s: %w", n.Label(), err)
		}
		steps = append(steps, pending{st, n.Inputs, n.Outputs})
	}
	// Dead-node elimination, backwards: a step is needed when one of its
	// outputs is a graph output or read by a needed step.
	needed := map[string]bool{}
	for _, o := range g.Outputs {
		needed[o.Name] = true
	}
	keep := make([]bool, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		for _, o := range steps[i].outs {
			if o != "" && needed[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range steps[i].ins {
				needed[in] = true
			}
		}
	}
	for _, in := range g.Inputs {
		p.inputSlots = append(p.inputSlots, slot(in.Name))
	}
	for i, ps := range steps {
		if !keep[i] {
			continue
		}
		st := ps.st
		for _, in := range ps.ins {
			st.in = append(st.in, slot(in))
		}
		for _, o := range ps.outs {
			if o != "" && !needed[o] {
				st.out = append(st.out, -1)
				continue
			}
			st.out = append(st.out, slot(o))
		}
		if st.runA != nil && !singleOut(st.out) {
			// Arena memory is accounted to one output.
			st.runA, st.fresh = nil, false
		}
		p.steps = append(p.steps, st)
		switch st.kind {
		case kindInteger:
			p.stats.IntegerNodes++
		case kindUint8:
			p.stats.Uint8Nodes++
		default:
			p.stats.FloatNodes += max(st.nodes, 1)
		}
	}
	for _, o := range g.Outputs {
		p.outputs = append(p.outputs, o.Name)
		p.outputSlots = append(p.outputSlots, slot(o.Name))
	}
	p.nslots = len(slots)
	p.consts = make([]*tensor.Tensor, p.nslots)
	p.names = make([]string, p.nslots)
	for name, s := range slots {
		p.names[s] = name
		if t, ok := c.consts[name]; ok {
			p.consts[s] = t
		}
	}
	// Every slot must be a constant, an input or a step output.
	defined := make([]bool, p.nslots)
	for s, t := range p.consts {
		defined[s] = t != nil
	}
	for _, s := range p.inputSlots {
		defined[s] = true
	}
	for _, st := range p.steps {
		for _, s := range st.in {
			if s >= 0 && !defined[s] {
				return nil, fmt.Errorf("infer: %s reads a value nothing defines", st.label)
			}
		}
		for _, s := range st.out {
			if s >= 0 {
				defined[s] = true
			}
		}
	}
	for i, s := range p.outputSlots {
		if !defined[s] {
			return nil, fmt.Errorf("infer: graph output %q is not computed", p.outputs[i])
		}
	}
	// Lifetimes: release a runtime value after its last reader (or right
	// after it is written when nothing reads it), never graph outputs or
	// constants.
	last := make([]int, p.nslots)
	for i := range last {
		last[i] = -1
	}
	for i, st := range p.steps {
		for _, s := range st.in {
			if s >= 0 {
				last[s] = i
			}
		}
		for _, s := range st.out {
			if s >= 0 && last[s] < i {
				last[s] = i
			}
		}
	}
	isOut := make([]bool, p.nslots)
	for _, s := range p.outputSlots {
		isOut[s] = true
	}
	for s, i := range last {
		if i >= 0 && !isOut[s] && p.consts[s] == nil {
			p.steps[i].free = append(p.steps[i].free, s)
		}
	}
	p.aliasGroups(last, isOut)
	return p, nil
}

// floatStep builds the step of a node that no pattern fused, from its
// registry entry: an arena kernel when the entry has one, and the entry's
// MAC count (QOperator ops count theirs only as integer steps, see
// fuseQOperators).
func (c *compiler) floatStep(n *graph.Node) (step, error) {
	st := step{label: n.Label(), op: n.OpType, kind: kindFloat}
	e := lookup(n)
	if e == nil {
		return st, unsupportedf("operator %s", opName(n.Domain, n.OpType))
	}
	if e.alloc != nil {
		k, err := e.alloc(n, c.opset)
		if err != nil {
			return st, err
		}
		st.run, st.runA, st.fresh = k.heap(), k, true
	} else {
		run, err := e.build(n, c.opset)
		if err != nil {
			return st, err
		}
		st.run = run
	}
	if e.qkind == kindFloat {
		st.macs = e.macs
	}
	return st, nil
}

// singleOut reports whether out[0] is the only output in use.
func singleOut(out []int) bool {
	if len(out) == 0 || out[0] < 0 {
		return false
	}
	for _, s := range out[1:] {
		if s >= 0 {
			return false
		}
	}
	return true
}

// heldAs returns the element type eightbit holds values of a declared ONNX
// type in: FLOAT16 (10) and DOUBLE (11) are held as float32, as the codec
// converts them.
func heldAs(d tensor.DType) tensor.DType {
	if d == 10 || d == 11 {
		return tensor.Float32
	}
	return d
}

// InputNames returns the names of the runtime inputs, in graph order.
func (p *Program) InputNames() []string {
	out := make([]string, len(p.inputs))
	for i, v := range p.inputs {
		out[i] = v.Name
	}
	return out
}

// OutputNames returns the graph output names, in graph order.
func (p *Program) OutputNames() []string { return append([]string(nil), p.outputs...) }

// InputInfo returns the declared type and shape of the runtime inputs.
func (p *Program) InputInfo() []graph.ValueInfo {
	out := make([]graph.ValueInfo, len(p.inputs))
	for i, v := range p.inputs {
		v.Shape = append([]graph.Dim(nil), v.Shape...)
		out[i] = v
	}
	return out
}

// Opset returns the default-domain opset of the compiled model.
func (p *Program) Opset() int64 { return p.opset }

// Stats reports how the program executes; the MAC counts are those of the
// most recent Run.
func (p *Program) Stats() Stats {
	s := p.stats
	p.mu.Lock()
	s.IntegerMACs, s.FloatMACs = p.lastInt, p.lastFlt
	p.mu.Unlock()
	return s
}

// Run executes the program. inputs maps every input name to a tensor of the
// declared element type; the batch size is whatever the tensors carry. The
// result maps every graph output name to its value. Run may be called from
// several goroutines at once. Errors name the failing node.
func (p *Program) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return p.run(inputs, nil)
}

// RunObserved is Run that also calls obs for every float32 value: first the
// graph inputs, then each node output in plan order, before its buffer is
// released. obs must not keep or modify the tensor: its memory is reused
// for later values of the same Run. A program with fused float epilogues
// runs its unfused twin here, so that every node output is seen.
func (p *Program) RunObserved(inputs map[string]*tensor.Tensor, obs func(name string, t *tensor.Tensor)) (map[string]*tensor.Tensor, error) {
	if p.source == nil {
		return p.run(inputs, obs)
	}
	o := &p.observed
	o.once.Do(func() { o.p, o.err = compile(p.source, Options{}, false) })
	if o.err != nil {
		return nil, o.err
	}
	res, err := o.p.run(inputs, obs)
	if err == nil {
		s := o.p.Stats()
		p.mu.Lock()
		p.lastInt, p.lastFlt = s.IntegerMACs, s.FloatMACs
		p.mu.Unlock()
	}
	return res, err
}

func (p *Program) run(inputs map[string]*tensor.Tensor, obs func(string, *tensor.Tensor)) (map[string]*tensor.Tensor, error) {
	var ar *arena
	if !p.noReuse {
		ar = p.arenas.get(p.ngroups)
		defer p.arenas.put(ar)
	}
	// The value slots and the argument list live in the arena between
	// Runs (cleared, so that they keep no value alive).
	var vals, args []*tensor.Tensor
	if ar != nil {
		if cap(ar.vals) < p.nslots {
			ar.vals = make([]*tensor.Tensor, p.nslots)
		}
		vals, args = ar.vals[:p.nslots], ar.args[:0]
		defer func() {
			clear(vals)
			clear(args[:cap(args)])
			ar.args = args[:0]
		}()
	} else {
		vals = make([]*tensor.Tensor, p.nslots)
	}
	copy(vals, p.consts)
	var names []string
	if obs != nil {
		names = p.names
	}
	batch := 0
	for i, info := range p.inputs {
		t, ok := inputs[info.Name]
		if !ok || t == nil {
			return nil, fmt.Errorf("infer: missing input %q", info.Name)
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("infer: input %q: %w", info.Name, err)
		}
		if want := heldAs(info.DType); want != tensor.Undefined && t.DType != want {
			return nil, fmt.Errorf("infer: input %q is %v, want %v", info.Name, t.DType, info.DType)
		}
		if info.Shape != nil && len(info.Shape) != len(t.Shape) {
			return nil, fmt.Errorf("infer: input %q has shape %v, want rank %d (%s)", info.Name, t.Shape, len(info.Shape), info.ShapeString())
		}
		if i == 0 && len(t.Shape) > 0 {
			batch = t.Shape[0]
		}
		vals[p.inputSlots[i]] = t
		if obs != nil && t.DType == tensor.Float32 {
			obs(info.Name, t)
		}
	}
	var intMACs, fltMACs int64
	for si := range p.steps {
		st := &p.steps[si]
		args = args[:0]
		for _, s := range st.in {
			if s < 0 {
				args = append(args, nil)
			} else {
				args = append(args, vals[s])
			}
		}
		var outs []*tensor.Tensor
		var err error
		if ar != nil && st.runA != nil {
			ar.owner = p.group[st.out[0]]
			outs, err = st.runA(args, ar)
			ar.owner = -1
		} else {
			outs, err = st.run(args)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.label, err)
		}
		if len(outs) < len(st.out) {
			// Trailing optional outputs that the kernel does not produce
			// must be unused.
			for _, s := range st.out[len(outs):] {
				if s >= 0 {
					return nil, fmt.Errorf("%s: optional output not produced", st.label)
				}
			}
		}
		for i, s := range st.out {
			if s < 0 || i >= len(outs) {
				continue
			}
			vals[s] = outs[i]
			if obs != nil && outs[i].DType == tensor.Float32 {
				obs(names[s], outs[i])
			}
		}
		if st.macs != nil {
			m := st.macs(args, outs)
			if st.kind == kindInteger {
				intMACs += m
			} else {
				fltMACs += m
			}
		}
		for _, s := range st.free {
			vals[s] = nil
		}
		if ar != nil {
			for _, g := range st.release {
				ar.release(g)
			}
		}
	}
	res := make(map[string]*tensor.Tensor, len(p.outputs))
	for i, name := range p.outputs {
		t := vals[p.outputSlots[i]]
		if p.consts[p.outputSlots[i]] != nil {
			t = t.Clone()
		}
		res[name] = t
	}
	if batch > 0 {
		intMACs /= int64(batch)
		fltMACs /= int64(batch)
	}
	p.mu.Lock()
	p.lastInt, p.lastFlt = intMACs, fltMACs
	p.mu.Unlock()
	return res, nil
}
