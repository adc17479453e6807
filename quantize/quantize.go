package quantize

import (
	"fmt"
	"math"
	"sort"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// MinOpset is the lowest default-domain opset of a quantized model:
// per-axis DequantizeLinear needs opset 13.
const MinOpset = 13

// Options configures Quantize.
type Options struct {
	// Scheme selects the quantization scheme; "" means SchemeU8S8PerChannel.
	Scheme Scheme
}

// Summary describes what Quantize did.
type Summary struct {
	Scheme Scheme
	// QuantizedNodes counts the nodes that run on quantized inputs and
	// outputs, by op type (Conv, Gemm, MatMul and pass-through ops).
	QuantizedNodes map[string]int
	// FusedActivations counts the Relu/Clip nodes absorbed into the
	// quantization of the preceding Conv or Gemm output, by op type.
	FusedActivations map[string]int
	// QuantizedTensors is the number of activation tensors given a
	// QuantizeLinear/DequantizeLinear pair.
	QuantizedTensors int
	// WeightBytesBefore and WeightBytesAfter are the total initializer sizes
	// of the prepared float model and of the quantized model.
	WeightBytesBefore, WeightBytesAfter int64
	// FloatActivations lists, sorted, the graph inputs and node outputs of
	// the prepared model that stay float (no Q/DQ pair).
	FloatActivations []string
	// FloatInitializers lists, sorted, float initializers that stay float
	// (not counting the scales that Quantize adds).
	FloatInitializers []string
	// OpsetBefore and OpsetAfter are the default-domain opsets.
	OpsetBefore, OpsetAfter int64
}

// Quantize returns a QDQ copy of m (see the package documentation) using
// ranges, the calibrated [min, max] of the float tensors of Prepare(m) by
// name. m is not changed. The result is the same, byte for byte once
// encoded, for the same inputs.
func Quantize(m *graph.Model, ranges map[string]qmath.Range, opts Options) (*graph.Model, *Summary, error) {
	sch, err := schemeFor(opts.Scheme)
	if err != nil {
		return nil, nil, err
	}
	p, err := Prepare(m)
	if err != nil {
		return nil, nil, err
	}
	sum := &Summary{
		Scheme:           opts.Scheme,
		QuantizedNodes:   map[string]int{},
		FusedActivations: map[string]int{},
		OpsetBefore:      p.Opset(),
	}
	if sum.Scheme == "" {
		sum.Scheme = SchemeU8S8PerChannel
	}
	if err := upgradeOpset(p); err != nil {
		return nil, nil, err
	}
	sum.OpsetAfter = p.Opset()
	g := p.Graph
	sum.WeightBytesBefore = initializerBytes(g)
	q := &quantizer{g: g, ranges: ranges, sch: sch, sum: sum}
	if err := q.run(); err != nil {
		return nil, nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quantize: quantized graph is invalid: %w", err)
	}
	sum.WeightBytesAfter = initializerBytes(g)
	return p, sum, nil
}

func initializerBytes(g *graph.Graph) int64 {
	var n int64
	for _, t := range g.Initializers {
		n += int64(t.Bytes())
	}
	return n
}

// target is a Conv, Gemm or MatMul whose weight is quantized.
type target struct {
	node   *graph.Node
	axis   int  // weight channel axis
	bias   bool // input 2 is a bias that may be quantized
	actIn  string
	fused  *graph.Node // absorbed Relu/Clip, if any
	origOp string
}

type actParams struct {
	p  qmath.Params
	dt tensor.DType
}

type quantizer struct {
	g      *graph.Graph
	ranges map[string]qmath.Range
	sch    scheme
	sum    *Summary

	used    map[string]bool
	targets map[*graph.Node]*target
	removed map[*graph.Node]bool
	params  map[string]actParams
	order   []string // quantized activations in the order they were decided
}

func (q *quantizer) uniq(base string) string {
	name := base
	for i := 1; q.used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	q.used[name] = true
	return name
}

func (q *quantizer) rangeOf(name, why string) (qmath.Range, error) {
	r, ok := q.ranges[name]
	if !ok {
		return qmath.Range{}, fmt.Errorf("quantize: no calibrated range for tensor %q (%s)", name, why)
	}
	return r, nil
}

func isPassThrough(n *graph.Node) bool {
	if n.Domain != "" || len(n.Outputs) != 1 {
		return false
	}
	switch n.OpType {
	case "MaxPool", "Flatten", "Reshape", "Transpose":
		return true
	}
	return false
}

func (q *quantizer) run() error {
	g := q.g
	q.used = map[string]bool{}
	for k := range g.Initializers {
		q.used[k] = true
	}
	for _, v := range g.Inputs {
		q.used[v.Name] = true
	}
	for _, v := range g.Outputs {
		q.used[v.Name] = true
	}
	for _, n := range g.Nodes {
		q.used[n.Name] = true
		for _, o := range n.Outputs {
			q.used[o] = true
		}
		for _, in := range n.Inputs {
			q.used[in] = true
		}
	}
	q.targets = map[*graph.Node]*target{}
	q.removed = map[*graph.Node]bool{}
	q.params = map[string]actParams{}

	if err := q.findTargets(); err != nil {
		return err
	}
	if err := q.fuseActivations(); err != nil {
		return err
	}
	if err := q.decideActivations(); err != nil {
		return err
	}
	return q.emit()
}

// findTargets picks the Conv, Gemm and MatMul nodes whose weight (input 1)
// is a float initializer, and the channel axis of each weight.
func (q *quantizer) findTargets() error {
	g := q.g
	weightAxis := map[string]int{}
	for _, n := range g.Nodes {
		if n.Domain != "" || len(n.Outputs) != 1 {
			continue
		}
		in, wn := n.Input(0), n.Input(1)
		w := floatInit(g, wn)
		if in == "" || g.IsInitializer(in) || w == nil {
			continue
		}
		t := &target{node: n, actIn: in, origOp: n.OpType}
		switch n.OpType {
		case "Conv":
			if len(w.Shape) < 3 {
				return fmt.Errorf("quantize: %s: weight %q has shape %v, want [M, C/group, k...]", n.Label(), wn, w.Shape)
			}
			t.axis = 0
			t.bias = n.Input(2) != ""
		case "Gemm":
			if len(w.Shape) != 2 {
				return fmt.Errorf("quantize: %s: weight %q has shape %v, want 2-D", n.Label(), wn, w.Shape)
			}
			t.axis = 1
			if n.AttrInt("transB", 0) != 0 {
				t.axis = 0
			}
			t.bias = n.Input(2) != "" && n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1
		case "MatMul":
			if len(w.Shape) < 2 {
				continue // a vector weight has no output channels
			}
			t.axis = len(w.Shape) - 1
		default:
			continue
		}
		if t.bias {
			b := floatInit(g, n.Input(2))
			t.bias = b != nil && len(b.Shape) == 1 && b.Shape[0] == w.Shape[t.axis]
		}
		if a, ok := weightAxis[wn]; ok && a != t.axis {
			continue // the weight is quantized along another axis for another node
		}
		weightAxis[wn] = t.axis
		q.targets[n] = t
	}
	return nil
}

// fuseActivations absorbs a Relu, or a Clip whose bounds contain the
// quantized output range, that is the only reader of a Conv or Gemm output:
// the Conv/Gemm then writes the activation's output, quantized with the
// activation's calibrated range, and the activation node is dropped.
func (q *quantizer) fuseActivations() error {
	g := q.g
	cons := g.Consumers()
	for _, n := range g.Nodes {
		t := q.targets[n]
		if t == nil || (n.OpType != "Conv" && n.OpType != "Gemm") {
			continue
		}
		out := n.Outputs[0]
		if g.IsOutput(out) || len(cons[out]) != 1 {
			continue
		}
		act := cons[out][0]
		if act.Domain != "" || len(act.Outputs) != 1 || act.Input(0) != out {
			continue
		}
		switch act.OpType {
		case "Relu":
		case "Clip":
			ok, err := q.clipFusable(act)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		default:
			continue
		}
		n.Outputs[0] = act.Outputs[0]
		t.fused = act
		q.removed[act] = true
		q.sum.FusedActivations[act.OpType]++
	}
	return nil
}

// clipFusable reports whether saturating to the quantized range of the
// Clip's output implements the Clip: min bound ≤ 0 and the representable
// range within [min − scale/2, max + scale/2].
func (q *quantizer) clipFusable(c *graph.Node) (bool, error) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	for i, dst := range []*float32{&lo, &hi} {
		name := c.Input(i + 1)
		if name == "" {
			continue
		}
		t := q.g.Initializers[name]
		if t == nil || t.DType != tensor.Float32 || t.Len() != 1 {
			return false, nil
		}
		*dst = t.F32[0]
	}
	if !(lo <= 0) {
		return false, nil
	}
	r, err := q.rangeOf(c.Outputs[0], "output of "+c.Label())
	if err != nil {
		return false, err
	}
	p, dt := q.sch.activation(r)
	qmin, qmax := qmath.Uint8Min, qmath.Uint8Max
	if dt == tensor.Int8 {
		qmin, qmax = qmath.Int8Min, qmath.Int8Max
	}
	half := p.Scale / 2
	return qmath.Dequantize(int32(qmin), p) >= lo-half && qmath.Dequantize(int32(qmax), p) <= hi+half, nil
}

// decideActivations chooses the activation tensors that get a Q/DQ pair and
// their parameters: inputs and outputs of targets from their calibrated
// ranges, outputs of pass-through ops with a quantized input from that
// input's parameters.
func (q *quantizer) decideActivations() error {
	g := q.g
	need := map[string]string{} // tensor -> why
	for _, n := range g.Nodes {
		if t := q.targets[n]; t != nil {
			if _, ok := need[t.actIn]; !ok {
				need[t.actIn] = "input of " + n.Label()
			}
			need[n.Outputs[0]] = "output of " + n.Label()
			if t.fused != nil {
				need[n.Outputs[0]] = "output of " + t.fused.Label() + " fused into " + n.Label()
			}
		}
	}
	add := func(name string, p actParams) {
		q.params[name] = p
		q.order = append(q.order, name)
	}
	fromRange := func(name string) error {
		r, err := q.rangeOf(name, need[name])
		if err != nil {
			return err
		}
		p, dt := q.sch.activation(r)
		add(name, actParams{p, dt})
		return nil
	}
	for _, in := range g.Inputs {
		if _, ok := need[in.Name]; ok {
			if err := fromRange(in.Name); err != nil {
				return err
			}
		}
	}
	for _, n := range g.Nodes {
		if q.removed[n] {
			continue
		}
		if isPassThrough(n) {
			if p, ok := q.params[n.Input(0)]; ok {
				if _, done := q.params[n.Outputs[0]]; !done {
					add(n.Outputs[0], p)
					q.sum.QuantizedNodes[n.OpType]++
				}
				continue
			}
		}
		for _, o := range n.Outputs {
			if _, ok := need[o]; ok {
				if _, done := q.params[o]; !done {
					if err := fromRange(o); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

type weightQ struct {
	dqOut  string
	scales []float32
}

// emit rewrites the node list with the Q/DQ nodes and quantized
// initializers.
func (q *quantizer) emit() error {
	g := q.g
	isGraphInput := map[string]bool{}
	for _, in := range g.Inputs {
		isGraphInput[in.Name] = true
	}
	prod := g.Producers()
	rewire := map[string]string{}    // consumers read the value on the right
	renameOut := map[string]string{} // producer writes the value on the right
	var nodes []*graph.Node
	qdq := map[string][]*graph.Node{}
	for _, name := range q.order {
		ap := q.params[name]
		src, dqOut := name, ""
		if g.IsOutput(name) && prod[name] != nil && !isGraphInput[name] {
			src = q.uniq(name + "_float")
			renameOut[name] = src
			dqOut = name
		} else {
			dqOut = q.uniq(name + "_dequantized")
			rewire[name] = dqOut
		}
		scale := q.uniq(name + "_scale")
		zp := q.uniq(name + "_zero_point")
		qOut := q.uniq(name + "_quantized")
		g.Initializers[scale] = tensor.ScalarFloat32(ap.p.Scale)
		switch ap.dt {
		case tensor.Uint8:
			g.Initializers[zp] = tensor.FromUint8(tensor.Shape{}, []uint8{uint8(ap.p.ZeroPoint)})
		case tensor.Int8:
			g.Initializers[zp] = tensor.FromInt8(tensor.Shape{}, []int8{int8(ap.p.ZeroPoint)})
		default:
			return fmt.Errorf("quantize: tensor %q: unsupported activation type %v", name, ap.dt)
		}
		qdq[name] = []*graph.Node{
			{Name: q.uniq(name + "_QuantizeLinear"), OpType: "QuantizeLinear", Inputs: []string{src, scale, zp}, Outputs: []string{qOut}},
			{Name: q.uniq(name + "_DequantizeLinear"), OpType: "DequantizeLinear", Inputs: []string{qOut, scale, zp}, Outputs: []string{dqOut}},
		}
		q.sum.QuantizedTensors++
	}
	for _, in := range g.Inputs {
		nodes = append(nodes, qdq[in.Name]...)
	}

	weights := map[string]*weightQ{}
	biases := map[string]*weightQ{}
	for _, n := range g.Nodes {
		if q.removed[n] {
			continue
		}
		if t := q.targets[n]; t != nil {
			pre, err := q.quantizeParams(t, weights, biases)
			if err != nil {
				return err
			}
			nodes = append(nodes, pre...)
			q.sum.QuantizedNodes[t.origOp]++
		}
		for j, in := range n.Inputs {
			if r, ok := rewire[in]; ok {
				n.Inputs[j] = r
			}
		}
		var after []*graph.Node
		for j, o := range n.Outputs {
			if r, ok := renameOut[o]; ok {
				n.Outputs[j] = r
			}
			after = append(after, qdq[o]...)
		}
		nodes = append(nodes, n)
		nodes = append(nodes, after...)
	}
	g.Nodes = nodes
	dropUnusedInitializers(g)

	// Report what stays float.
	quantized := map[string]bool{}
	for _, name := range q.order {
		quantized[name] = true
	}
	var floats []string
	for _, in := range g.Inputs {
		if !quantized[in.Name] && in.DType != tensor.Int64 && in.DType != tensor.Int32 {
			floats = append(floats, in.Name)
		}
	}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" || q.targets[n] != nil || isPassThrough(n) && quantized[n.Input(0)] {
			continue
		}
		for _, o := range n.Outputs {
			if o != "" && !quantized[o] && !quantized[renameOrigin(renameOut, o)] {
				floats = append(floats, o)
			}
		}
	}
	sort.Strings(floats)
	q.sum.FloatActivations = floats
	made := map[string]bool{}
	for _, n := range g.Nodes {
		if n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" {
			for _, in := range n.Inputs[1:] {
				made[in] = true
			}
		}
	}
	for _, name := range g.InitializerNames() {
		if g.Initializers[name].DType == tensor.Float32 && !made[name] {
			q.sum.FloatInitializers = append(q.sum.FloatInitializers, name)
		}
	}
	return nil
}

func renameOrigin(renameOut map[string]string, o string) string {
	for k, v := range renameOut {
		if v == o {
			return k
		}
	}
	return ""
}

// quantizeParams quantizes the weight and (when possible) the bias of a
// target, returning the DequantizeLinear nodes to place before it and
// pointing its inputs at their outputs.
func (q *quantizer) quantizeParams(t *target, weights, biases map[string]*weightQ) ([]*graph.Node, error) {
	g, n := q.g, t.node
	var pre []*graph.Node
	wn := n.Input(1)
	wq := weights[wn]
	if wq == nil {
		w := g.Initializers[wn]
		qt, params := q.sch.weight(w, t.axis)
		scales := make([]float32, len(params))
		zps := make([]int8, len(params))
		for c, p := range params {
			scales[c] = p.Scale
			zps[c] = int8(p.ZeroPoint)
		}
		qName, sName, zName := q.uniq(wn+"_quantized"), q.uniq(wn+"_scale"), q.uniq(wn+"_zero_point")
		g.Initializers[qName] = qt
		g.Initializers[sName] = tensor.FromFloat32(tensor.Shape{len(scales)}, scales)
		g.Initializers[zName] = tensor.FromInt8(tensor.Shape{len(zps)}, zps)
		wq = &weightQ{dqOut: q.uniq(wn + "_dequantized"), scales: scales}
		dq := &graph.Node{Name: q.uniq(wn + "_DequantizeLinear"), OpType: "DequantizeLinear",
			Inputs: []string{qName, sName, zName}, Outputs: []string{wq.dqOut}}
		dq.SetAttr("axis", graph.IntAttr(int64(t.axis)))
		weights[wn] = wq
		pre = append(pre, dq)
		// Every reader of the float weight reads the dequantized one.
		for _, other := range g.Nodes {
			for j, in := range other.Inputs {
				if in == wn {
					other.Inputs[j] = wq.dqOut
				}
			}
		}
	}
	if !t.bias {
		return pre, nil
	}
	in, ok := q.params[t.actIn]
	if !ok {
		return nil, fmt.Errorf("quantize: %s: input %q has no quantization parameters", n.Label(), t.actIn)
	}
	bscales := make([]float32, len(wq.scales))
	for c, s := range wq.scales {
		bscales[c] = in.p.Scale * s
	}
	bn := n.Input(2)
	if bq := biases[bn]; bq != nil {
		if !equalF32(bq.scales, bscales) {
			return pre, nil // shared bias with other scales: leave it float here
		}
		n.Inputs[2] = bq.dqOut
		return pre, nil
	}
	b := g.Initializers[bn]
	qb := tensor.New(tensor.Int32, b.Shape)
	for c, v := range b.F32 {
		qb.I32[c] = qmath.QuantizeInt32(v, bscales[c])
	}
	// The int32 zero point is left out: it must be 0, which is the default.
	qName, sName := q.uniq(bn+"_quantized"), q.uniq(bn+"_scale")
	g.Initializers[qName] = qb
	g.Initializers[sName] = tensor.FromFloat32(tensor.Shape{len(bscales)}, bscales)
	bq := &weightQ{dqOut: q.uniq(bn + "_dequantized"), scales: bscales}
	dq := &graph.Node{Name: q.uniq(bn + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []string{qName, sName}, Outputs: []string{bq.dqOut}}
	dq.SetAttr("axis", graph.IntAttr(0))
	biases[bn] = bq
	n.Inputs[2] = bq.dqOut
	return append(pre, dq), nil
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
