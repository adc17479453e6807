package quantize

import (
	"fmt"
	"math"
	"sort"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/version"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// MinOpset is the lowest default-domain opset of a quantized model:
// per-axis DequantizeLinear needs opset 13.
const MinOpset = 13

// Format names an output format. The names are the values of the CLI's
// --format.
type Format string

// The output formats (see the package documentation).
const (
	// FormatQDQ (the default) keeps the float ops and brackets them with
	// QuantizeLinear/DequantizeLinear pairs.
	FormatQDQ Format = "qdq"
	// FormatQOperator replaces each quantized group by a quantized operator
	// (QLinearConv, QLinearMatMul, ...), with QuantizeLinear and
	// DequantizeLinear only where float and quantized parts meet.
	FormatQOperator Format = "qoperator"
	// FormatWeightsOnly stores the weights in 8 bits, read through
	// DequantizeLinear, and computes in float.
	FormatWeightsOnly Format = "weights-only"
)

// Formats returns the output format names, the default first.
func Formats() []string {
	return []string{string(FormatQDQ), string(FormatQOperator), string(FormatWeightsOnly)}
}

// Options configures Quantize.
type Options struct {
	// Scheme selects the quantization scheme; "" means SchemeU8S8Channel.
	Scheme Scheme
	// Format selects the output format; "" means FormatQDQ.
	Format Format
	// ExcludeNodes names nodes that stay float (a node without a name is
	// named by its first output).
	ExcludeNodes []string
	// ExcludeOpTypes lists op types whose nodes stay float.
	ExcludeOpTypes []string
	// AllowContribOps lets the QOperator format use ONNX Runtime's
	// com.microsoft operators QLinearAdd and QLinearGlobalAveragePool for
	// the quantized Add and GlobalAveragePool groups that the default
	// domain lacks; without it those ops stay float between a
	// DequantizeLinear and a QuantizeLinear. It has no effect on the other
	// formats.
	AllowContribOps bool
	// WeightRanges chooses the per-channel ranges of int8 weights (schemes
	// with per-channel weights): "" or WeightRangesMinMax keeps every
	// channel's extremes, WeightRangesMSE the symmetric range that minimizes
	// the expected squared error of the quantized channel (it may clip a
	// few outlying weights; see calibrate.WeightRanges).
	WeightRanges string
	// BiasCorrection holds, by layer (LayerTap.Node), the mean input its
	// kernel taps see on the calibration data (see LayerTaps). Each listed
	// Conv and Gemm gets its bias corrected for the expected output shift
	// of its weight quantization. Nil turns bias correction off.
	BiasCorrection map[string]*calibrate.TapMean
	// AdaRound holds, by layer (LayerTap.Node), the second moments of its
	// input patches on the calibration data. Each listed Conv and Gemm has
	// its weights rounded up or down to minimize its output error instead
	// of to nearest (see the AdaRound notes in adaround.go), in
	// AdaRoundIters optimization steps (0: DefaultAdaRoundIters). Nil
	// turns AdaRound off.
	AdaRound      map[string]*calibrate.Gram
	AdaRoundIters int
}

// Weight range methods (Options.WeightRanges).
const (
	WeightRangesMinMax = "minmax"
	WeightRangesMSE    = "mse"
)

// Summary describes what Quantize did.
type Summary struct {
	Scheme Scheme
	Format Format
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
	// BiasCorrected counts the layers whose bias was corrected.
	BiasCorrected int
	// AdaRounded counts the layers whose weights AdaRound rounded, and
	// AdaRoundFlipped the weights it rounded the other way than to nearest.
	AdaRounded, AdaRoundFlipped int
	// OpsetBefore and OpsetAfter are the default-domain opsets.
	OpsetBefore, OpsetAfter int64
}

// Quantize returns a QDQ copy of m (see the package documentation) using
// ranges, the calibrated [min, max] of the float tensors of Prepare(m) by
// name. m is not changed. The result is the same, byte for byte once
// encoded, for the same inputs.
func Quantize(m *graph.Model, ranges map[string]qmath.Range, opts Options) (*graph.Model, *Summary, error) {
	switch opts.WeightRanges {
	case "", WeightRangesMinMax, WeightRangesMSE:
	default:
		return nil, nil, fmt.Errorf("quantize: unknown weight range method %q (have %s, %s)", opts.WeightRanges, WeightRangesMinMax, WeightRangesMSE)
	}
	sch, err := schemeFor(opts.Scheme)
	if err != nil {
		return nil, nil, err
	}
	format := opts.Format
	switch format {
	case "":
		format = FormatQDQ
	case FormatQDQ, FormatQOperator, FormatWeightsOnly:
	default:
		return nil, nil, fmt.Errorf("quantize: unknown format %q (have %v)", opts.Format, Formats())
	}
	p, err := Prepare(m)
	if err != nil {
		return nil, nil, err
	}
	sum := &Summary{
		Scheme:           sch.name,
		Format:           format,
		QuantizedNodes:   map[string]int{},
		FusedActivations: map[string]int{},
		OpsetBefore:      p.Opset(),
	}
	if err := upgradeOpset(p); err != nil {
		return nil, nil, failure.Mark(err, failure.Unsupported)
	}
	sum.OpsetAfter = p.Opset()
	g := p.Graph
	sum.WeightBytesBefore = initializerBytes(g)
	sch.weightMSE = opts.WeightRanges == WeightRangesMSE
	q := &quantizer{g: g, ranges: ranges, sch: sch, sum: sum, weightsOnly: format == FormatWeightsOnly, excl: newExclusions(opts), taps: opts.BiasCorrection,
		grams: opts.AdaRound, adaIters: opts.AdaRoundIters}
	if err := q.run(); err != nil {
		return nil, nil, err
	}
	if format == FormatQDQ || format == FormatQOperator {
		removeRedundantQDQ(g)
	}
	if format == FormatQOperator {
		if err := toQOperator(p, q.names, opts.AllowContribOps); err != nil {
			return nil, nil, err
		}
	}
	if err := g.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quantize: quantized graph is invalid: %w", err)
	}
	// The file is eightbit's now; the version is the release, not the
	// build, so that every build writes the same bytes.
	p.ProducerName, p.ProducerVersion = version.Producer, version.Version
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
	g           *graph.Graph
	ranges      map[string]qmath.Range
	sch         *scheme
	sum         *Summary
	weightsOnly bool
	excl        exclusions
	// taps are the tap means of the layers whose bias is corrected.
	taps map[string]*calibrate.TapMean
	// grams are the input moments of the layers AdaRound rounds, by the
	// layer's output name when targets are found (layerOf).
	grams    map[string]*calibrate.Gram
	adaIters int
	layerOf  map[*graph.Node]string
	// quantWeights caches the quantized weights by initializer name.
	quantWeights map[string]quantWeight
	// passAct are Relu nodes that symmetric schemes keep: they share the
	// parameters of their input, which is quantized with their range.
	passAct map[*graph.Node]bool
	// satHi holds the upper bound of the Clips that symmetric schemes keep
	// as Relus: saturation at the top of the range implements it.
	satHi map[*graph.Node]float32

	names   namer
	targets map[*graph.Node]*target
	removed map[*graph.Node]bool
	params  map[string]actParams
	order   []string // quantized activations in the order they were decided
}

func (q *quantizer) rangeOf(name, why string) (qmath.Range, error) {
	r, ok := q.ranges[name]
	if !ok {
		return qmath.Range{}, fmt.Errorf("quantize: no calibrated range for tensor %q (%s)", name, why)
	}
	return r, nil
}

func isPassThrough(n *graph.Node) bool {
	return roleOf(n).role == rolePassThrough && len(n.Outputs) == 1
}

// passThrough reports whether n runs on the quantized values of its input
// with the input's parameters.
func (q *quantizer) passThrough(n *graph.Node) bool {
	return (isPassThrough(n) || q.passAct[n]) && !q.excl.has(n)
}

func (q *quantizer) run() error {
	q.names = newNamer(q.g)
	q.targets = map[*graph.Node]*target{}
	q.layerOf = map[*graph.Node]string{}
	q.quantWeights = map[string]quantWeight{}
	q.removed = map[*graph.Node]bool{}
	q.params = map[string]actParams{}
	q.passAct = map[*graph.Node]bool{}
	q.satHi = map[*graph.Node]float32{}

	if err := q.findTargets(); err != nil {
		return err
	}
	if err := q.correctBiases(); err != nil {
		return err
	}
	if q.weightsOnly {
		return q.emit()
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
		if n.Domain != "" || len(n.Outputs) != 1 || q.excl.has(n) {
			continue
		}
		in, wn := n.Input(0), n.Input(1)
		w := floatInit(g, wn)
		if in == "" || g.IsInitializer(in) || w == nil {
			continue
		}
		r := roleOf(n)
		if r.role != roleWeighted {
			continue
		}
		t := &target{node: n, actIn: in, origOp: n.OpType}
		axis, bias, ok, err := r.weight(n, w)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		t.axis, t.bias = axis, bias
		if t.bias && !q.weightsOnly {
			b := floatInit(g, n.Input(2))
			t.bias = b != nil && len(b.Shape) == 1 && b.Shape[0] == w.Shape[t.axis]
		} else {
			t.bias = false
		}
		if a, ok := weightAxis[wn]; ok && a != t.axis {
			continue // the weight is quantized along another axis for another node
		}
		weightAxis[wn] = t.axis
		q.targets[n] = t
		q.layerOf[n] = n.Outputs[0]
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
		if t == nil || !roleOf(n).fusesActivation {
			continue
		}
		out := n.Outputs[0]
		if g.IsOutput(out) || len(cons[out]) != 1 {
			continue
		}
		act := cons[out][0]
		if roleOf(act).role != roleActivation || len(act.Outputs) != 1 || act.Input(0) != out || q.excl.has(act) {
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
		if q.sch.actSigned {
			// Symmetric int8 cannot clip at 0 by saturation: the
			// activation stays, as a Relu running on the quantized values,
			// and its input is quantized with its range.
			if act.OpType == "Clip" {
				_, hi, _ := q.clipBounds(act)
				q.satHi[act] = hi
				act.OpType = "Relu"
				act.Inputs = act.Inputs[:1]
			}
			t.fused = act
			q.passAct[act] = true
			q.sum.FusedActivations[act.OpType]++
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
	lo, hi, ok := q.clipBounds(c)
	if !ok || !(lo <= 0) || (q.sch.actSigned && lo != 0) {
		return false, nil
	}
	r, err := q.rangeOf(c.Outputs[0], "output of "+c.Label())
	if err != nil {
		return false, err
	}
	return q.saturates(lo, hi, r), nil
}

// clipBounds returns the constant bounds of a Clip (±∞ where absent); ok
// is false when a bound is not a float32 scalar initializer.
func (q *quantizer) clipBounds(c *graph.Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	for i, dst := range []*float32{&lo, &hi} {
		name := c.Input(i + 1)
		if name == "" {
			continue
		}
		t := q.g.Initializers[name]
		if t == nil || t.DType != tensor.Float32 || t.Len() != 1 {
			return lo, hi, false
		}
		*dst = t.F32[0]
	}
	return lo, hi, true
}

// saturates reports whether saturating to the quantized form of range r
// clips at lo and hi to within half a step. In the symmetric schemes only
// the upper bound is saturation's (a Relu on the 8-bit values clips at 0).
func (q *quantizer) saturates(lo, hi float32, r qmath.Range) bool {
	p, dt := q.sch.activation(r)
	qmin, qmax := qrange(dt)
	half := p.Scale / 2
	if q.sch.actSigned {
		return qmath.Dequantize(qmax, p) <= hi+half
	}
	return qmath.Dequantize(qmin, p) >= lo-half && qmath.Dequantize(qmax, p) <= hi+half
}

// decideActivations chooses the activation tensors that get a Q/DQ pair and
// their parameters: inputs and outputs of targets from their calibrated
// ranges, outputs of pass-through ops with a quantized input from that
// input's parameters.
func (q *quantizer) decideActivations() error {
	g := q.g
	need := map[string]string{}      // tensor -> why
	rangeFrom := map[string]string{} // tensor -> tensor whose range it takes
	for _, n := range g.Nodes {
		if t := q.targets[n]; t != nil {
			if _, ok := need[t.actIn]; !ok {
				need[t.actIn] = "input of " + n.Label()
			}
			need[n.Outputs[0]] = "output of " + n.Label()
			if t.fused != nil {
				need[n.Outputs[0]] = "output of " + t.fused.Label() + " fused into " + n.Label()
				if q.passAct[t.fused] {
					rangeFrom[n.Outputs[0]] = t.fused.Outputs[0]
				}
			}
		}
	}
	shared, err := q.concatGroups(need, rangeFrom)
	if err != nil {
		return err
	}
	add := func(name string, p actParams) {
		q.params[name] = p
		q.order = append(q.order, name)
	}
	fromRange := func(name string) error {
		src := name
		if s, ok := rangeFrom[name]; ok {
			src = s
		}
		r, ok := shared[name]
		if !ok {
			if r, err = q.rangeOf(src, need[name]); err != nil {
				return err
			}
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
		if q.passThrough(n) {
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

// concatGroups makes the inputs and output of every Concat whose inputs
// are quantized activations share their parameters, chosen from the union
// of their ranges (a Concat of Concats joins one group), so that the
// Concat runs on the 8-bit values, as TFLite does. An input written by a
// pass-through op (which takes its input's parameters) brings that input,
// and so on up the chain of pass-through ops, into the group. It marks the
// members as needing quantization and returns their shared ranges (a
// member's range is that of rangeFrom when set). A Concat with an input
// that is not an activation stays float.
func (q *quantizer) concatGroups(need, rangeFrom map[string]string) (map[string]qmath.Range, error) {
	gr := &tensorGroups{parent: map[string]string{}}
	var concats []string
	prod := q.g.Producers()
	for _, n := range q.g.Nodes {
		if tensors := q.concatTensors(n, prod, need); tensors != nil {
			for _, v := range tensors {
				gr.join(n.Outputs[0], v)
			}
			concats = append(concats, n.Outputs[0])
		}
	}
	union := map[string]qmath.Range{}
	for _, m := range gr.members {
		src := m
		if s, ok := rangeFrom[m]; ok {
			src = s
		}
		r, err := q.rangeOf(src, "input or output of a Concat")
		if err != nil {
			return nil, err
		}
		root := gr.find(m)
		if u, ok := union[root]; ok {
			r = qmath.Range{Min: min(u.Min, r.Min), Max: max(u.Max, r.Max)}
		}
		union[root] = r
	}
	bad := q.undoFusedActivations(gr, union)
	for _, c := range concats {
		if !bad[gr.find(c)] {
			q.sum.QuantizedNodes["Concat"]++
		}
	}
	shared := map[string]qmath.Range{}
	for _, m := range gr.members {
		if bad[gr.find(m)] {
			continue
		}
		shared[m] = union[gr.find(m)]
		if _, ok := need[m]; !ok {
			need[m] = "input or output of a Concat"
		}
	}
	return shared, nil
}

// concatTensors returns the tensors that share parameters with the output
// of n when n is a Concat that concatGroups groups: its inputs and, above
// each, the inputs of the pass-through ops that write it; nil otherwise.
func (q *quantizer) concatTensors(n *graph.Node, prod map[string]*graph.Node, need map[string]string) []string {
	if roleOf(n).role != roleConcat || len(n.Outputs) != 1 || len(n.Inputs) == 0 || q.removed[n] || q.excl.has(n) {
		return nil
	}
	var tensors []string
	quantized := false
	for _, in := range n.Inputs {
		v := in
		for {
			if v == "" || q.g.IsInitializer(v) {
				return nil
			}
			tensors = append(tensors, v)
			_, needed := need[v]
			quantized = quantized || needed
			p := prod[v]
			if p == nil || !q.passThrough(p) || q.removed[p] {
				break
			}
			v = p.Input(0)
		}
	}
	if !quantized {
		return nil
	}
	return tensors
}

// undoFusedActivations returns the groups whose shared range would undo an
// activation that saturation implements: a fused Relu needs its zero point
// at the bottom of the range, a fused Clip (or, in the symmetric schemes,
// a Clip kept as a Relu) its bounds within half a step.
func (q *quantizer) undoFusedActivations(gr *tensorGroups, union map[string]qmath.Range) map[string]bool {
	bad := map[string]bool{}
	for _, t := range q.targets {
		if t.fused == nil {
			continue
		}
		lo, hi := float32(0), float32(math.Inf(1))
		switch {
		case q.passAct[t.fused]:
			if h, ok := q.satHi[t.fused]; ok {
				lo, hi = float32(math.Inf(-1)), h
			}
		case t.fused.OpType == "Clip":
			lo, hi, _ = q.clipBounds(t.fused)
		}
		for _, m := range []string{t.node.Outputs[0], t.fused.Outputs[0]} {
			if _, in := gr.parent[m]; in && !q.saturates(lo, hi, union[gr.find(m)]) {
				bad[gr.find(m)] = true
			}
		}
	}
	return bad
}

// tensorGroups is a union-find over tensor names; members lists them in
// the order they joined.
type tensorGroups struct {
	parent  map[string]string
	members []string
}

func (gr *tensorGroups) find(x string) string {
	if gr.parent[x] != x {
		gr.parent[x] = gr.find(gr.parent[x])
	}
	return gr.parent[x]
}

func (gr *tensorGroups) join(a, b string) {
	for _, x := range []string{a, b} {
		if _, ok := gr.parent[x]; !ok {
			gr.parent[x] = x
			gr.members = append(gr.members, x)
		}
	}
	if ra, rb := gr.find(a), gr.find(b); ra != rb {
		gr.parent[rb] = ra
	}
}

// weightQ is a quantized weight or bias: the value its readers read and its
// scales.
type weightQ struct {
	dqOut  string
	scales []float32
	scale  string       // name of the scale initializer (weights only)
	shape  tensor.Shape // weights only
}

// emitState holds what emit shares between the tensors it quantizes.
type emitState struct {
	actScale map[string]string    // quantized activation -> its scale initializer
	scales   map[uint32]string    // scale bits -> scalar scale initializer
	zps      map[zpKey]string     // zero point -> scalar zero-point initializer
	weights  map[string]*weightQ  // float weight name -> quantized weight
	biases   map[string]*weightQ  // float bias name -> quantized bias
	muls     map[[2]string]string // (input scale, weight scale) -> bias scale
	wzps     map[string]string    // weight zero points (printed) -> initializer
	nw, nb   int                  // weights and biases numbered so far
}

type zpKey struct {
	dt tensor.DType
	v  int32
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
	st := &emitState{
		actScale: map[string]string{},
		scales:   map[uint32]string{},
		zps:      map[zpKey]string{},
		weights:  map[string]*weightQ{},
		biases:   map[string]*weightQ{},
		muls:     map[[2]string]string{},
		wzps:     map[string]string{},
	}
	for i, name := range q.order {
		k := i + 1
		ap := q.params[name]
		src, dqOut := name, ""
		if g.IsOutput(name) && prod[name] != nil && !isGraphInput[name] {
			src = q.names.name('f', k, "")
			renameOut[name] = src
			dqOut = name
		} else {
			dqOut = q.names.name('d', k, "")
			rewire[name] = dqOut
		}
		// Tensors with equal parameters share the scale and zero-point
		// initializers, named after the first of them.
		scale, ok := st.scales[math.Float32bits(ap.p.Scale)]
		if !ok {
			scale = q.names.name('s', k, "")
			g.Initializers[scale] = tensor.ScalarFloat32(ap.p.Scale)
			st.scales[math.Float32bits(ap.p.Scale)] = scale
		}
		zk := zpKey{ap.dt, ap.p.ZeroPoint}
		zp, ok := st.zps[zk]
		if !ok {
			zp = q.names.name('z', k, "")
			switch ap.dt {
			case tensor.Uint8:
				g.Initializers[zp] = tensor.FromUint8(tensor.Shape{}, []uint8{uint8(ap.p.ZeroPoint)})
			case tensor.Int8:
				g.Initializers[zp] = tensor.FromInt8(tensor.Shape{}, []int8{int8(ap.p.ZeroPoint)})
			default:
				return fmt.Errorf("quantize: tensor %q: unsupported activation type %v", name, ap.dt)
			}
			st.zps[zk] = zp
		}
		st.actScale[name] = scale
		qOut := q.names.name('q', k, "")
		qdq[name] = []*graph.Node{
			{OpType: "QuantizeLinear", Inputs: []string{src, scale, zp}, Outputs: []string{qOut}},
			{OpType: "DequantizeLinear", Inputs: []string{qOut, scale, zp}, Outputs: []string{dqOut}},
		}
		q.sum.QuantizedTensors++
	}
	for _, in := range g.Inputs {
		nodes = append(nodes, qdq[in.Name]...)
	}

	for _, n := range g.Nodes {
		if q.removed[n] {
			continue
		}
		if t := q.targets[n]; t != nil {
			pre, err := q.quantizeParams(t, st)
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
	dropStaleValueInfo(g)
	dropDefaultAttrs(g)

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
		if n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" || q.targets[n] != nil || q.passThrough(n) && quantized[n.Input(0)] {
			continue
		}
		if n.Name == "" && n.OpType == "Mul" && len(n.Outputs) == 1 && st.isBiasScale(n.Outputs[0]) {
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

func (st *emitState) isBiasScale(name string) bool {
	for _, v := range st.muls {
		if v == name {
			return true
		}
	}
	return false
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
// target, returning the nodes to place before it (DequantizeLinear of the
// weight and bias, Mul computing the bias scale) and pointing its inputs at
// their outputs.
func (q *quantizer) quantizeParams(t *target, st *emitState) ([]*graph.Node, error) {
	g, n := q.g, t.node
	var pre []*graph.Node
	wn := n.Input(1)
	wq := st.weights[wn]
	if wq == nil {
		w := g.Initializers[wn]
		qt, params, err := q.weight(n, wn, t.axis)
		if err != nil {
			return nil, err
		}
		scales := make([]float32, len(params))
		zero := true
		for c, p := range params {
			scales[c] = p.Scale
			zero = zero && p.ZeroPoint == 0
		}
		// One scale per channel is a 1-D tensor read along the channel
		// axis; a single one is a scalar.
		sShape := tensor.Shape{len(scales)}
		if !q.sch.perChannel {
			sShape = tensor.Shape{}
		}
		st.nw++
		qName, sName := q.names.name('w', st.nw, ""), q.names.name('w', st.nw, "s")
		g.Initializers[qName] = qt
		g.Initializers[sName] = tensor.FromFloat32(sShape, scales)
		inputs := []string{qName, sName}
		// An absent zero point is 0 of the input's type, so Conv weights
		// go without. ONNX Runtime only fuses a Gemm (into QGemm) whose
		// weight DequantizeLinear has a zero-point input, so Gemm and
		// MatMul weights keep theirs, shared by all weights with the same
		// zero points.
		if !zero || t.origOp != "Conv" {
			zt := tensor.New(qt.DType, sShape)
			for c, p := range params {
				if qt.DType == tensor.Uint8 {
					zt.U8[c] = uint8(p.ZeroPoint)
				} else {
					zt.I8[c] = int8(p.ZeroPoint)
				}
			}
			key := fmt.Sprint(qt.DType, sShape, zt.I8, zt.U8)
			zName, ok := st.wzps[key]
			if !ok {
				zName = q.names.name('w', st.nw, "z")
				g.Initializers[zName] = zt
				st.wzps[key] = zName
			}
			inputs = append(inputs, zName)
		}
		wq = &weightQ{dqOut: q.names.name('w', st.nw, "d"), scales: scales, scale: sName, shape: w.Shape}
		dq := &graph.Node{OpType: "DequantizeLinear", Inputs: inputs, Outputs: []string{wq.dqOut}}
		if t.axis != 1 && q.sch.perChannel { // 1 is the default
			dq.SetAttr("axis", graph.IntAttr(int64(t.axis)))
		}
		// Later readers find it by either name: the loop below points
		// them at the dequantized weight already.
		st.weights[wn] = wq
		st.weights[wq.dqOut] = wq
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
	if n.OpType == "Conv" {
		dropRedundantKernelShape(n, wq.shape)
	}
	if !t.bias {
		return pre, nil
	}
	in, ok := q.params[t.actIn]
	if !ok {
		return nil, fmt.Errorf("quantize: %s: input %q has no quantization parameters", n.Label(), t.actIn)
	}
	// The float32 products that the Mul node below computes.
	bscales := make([]float32, len(wq.scales))
	for c, s := range wq.scales {
		bscales[c] = in.p.Scale * s
	}
	bn := n.Input(2)
	if bq := st.biases[bn]; bq != nil {
		if !equalF32(bq.scales, bscales) {
			return pre, nil // shared bias with other scales: leave it float here
		}
		n.Inputs[2] = bq.dqOut
		return pre, nil
	}
	b := g.Initializers[bn]
	qb := tensor.New(tensor.Int32, b.Shape)
	for c, v := range b.F32 {
		qb.I32[c] = qmath.QuantizeInt32(v, bscales[min(c, len(bscales)-1)])
	}
	st.nb++
	qName := q.names.name('b', st.nb, "")
	g.Initializers[qName] = qb
	// The bias scale is not stored: Mul(input scale, weight scale) computes
	// it, once per pair of scales.
	key := [2]string{st.actScale[t.actIn], wq.scale}
	sName, ok := st.muls[key]
	if !ok {
		sName = q.names.name('b', st.nb, "s")
		st.muls[key] = sName
		pre = append(pre, &graph.Node{OpType: "Mul", Inputs: []string{key[0], key[1]}, Outputs: []string{sName}})
	}
	// The int32 zero point is left out: it must be 0, which is the default.
	bq := &weightQ{dqOut: q.names.name('b', st.nb, "d"), scales: bscales}
	dq := &graph.Node{OpType: "DequantizeLinear", Inputs: []string{qName, sName}, Outputs: []string{bq.dqOut}}
	if len(bscales) > 1 {
		dq.SetAttr("axis", graph.IntAttr(0))
	}
	st.biases[bn] = bq
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
