package tfgraph

import (
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

// TensorFlow's eightbit graphs (quantize_graph --mode=eightbit) carry each
// quantized tensor as three: the 8- or 32-bit codes and the float min and
// max of their range. The importer imports such a graph as its float
// equivalent: a quantized tensor becomes the float tensor it stands for,
// each quantized op the float op it computes, and range outputs are
// dropped. Constant codes (weights, biases) are converted to float at
// import exactly as TensorFlow dequantizes them. What is not reproduced is
// the rounding of activations to 8 bits at QuantizeV2 and Requantize, so
// the imported graph computes the same function within that quantization
// error (half a step of each rounded tensor's range per rounding point),
// and rather more precisely than the quantized graph itself.

// qspec describes one quantized op: its float counterpart, which inputs
// are data (in order), the range inputs of each data input, and whether
// outputs 1 and 2 are the range of output 0.
type qspec struct {
	float     string
	data      []int
	ranges    map[int][2]int
	outRanges bool
}

func (q qspec) isData(i int) bool {
	for _, d := range q.data {
		if d == i {
			return true
		}
	}
	return false
}

var quantOps = map[string]qspec{
	"QuantizedConv2D":     {float: "Conv2D", data: []int{0, 1}, ranges: map[int][2]int{0: {2, 3}, 1: {4, 5}}, outRanges: true},
	"QuantizedMatMul":     {float: "MatMul", data: []int{0, 1}, ranges: map[int][2]int{0: {2, 3}, 1: {4, 5}}, outRanges: true},
	"QuantizedBiasAdd":    {float: "BiasAdd", data: []int{0, 1}, ranges: map[int][2]int{0: {2, 3}, 1: {4, 5}}, outRanges: true},
	"QuantizedRelu":       {float: "Relu", data: []int{0}, ranges: map[int][2]int{0: {1, 2}}, outRanges: true},
	"QuantizedRelu6":      {float: "Relu6", data: []int{0}, ranges: map[int][2]int{0: {1, 2}}, outRanges: true},
	"QuantizedMaxPool":    {float: "MaxPool", data: []int{0}, ranges: map[int][2]int{0: {1, 2}}, outRanges: true},
	"QuantizedAvgPool":    {float: "AvgPool", data: []int{0}, ranges: map[int][2]int{0: {1, 2}}, outRanges: true},
	"QuantizedReshape":    {float: "Reshape", data: []int{0, 1}, ranges: map[int][2]int{0: {2, 3}}, outRanges: true},
	"QuantizeV2":          {data: []int{0}, outRanges: true},
	"Dequantize":          {data: []int{0}, ranges: map[int][2]int{0: {1, 2}}},
	"Requantize":          {data: []int{0}, ranges: map[int][2]int{0: {1, 2}}, outRanges: true},
	"RequantizationRange": {},
	"QuantizedBatchNormWithGlobalNormalization": {float: "BatchNormWithGlobalNormalization", data: []int{0, 3, 6, 9, 12},
		ranges: map[int][2]int{0: {1, 2}, 3: {4, 5}, 6: {7, 8}, 9: {10, 11}, 12: {13, 14}}, outRanges: true},
}

// specFor returns the description of quantized op n. QuantizedConcat's
// depends on its number of inputs: concat_dim, N values, N mins, N maxes.
func specFor(n *tfpb.NodeDef) (qspec, bool) {
	if n.GetOp() == "QuantizedConcat" {
		k := (numInputs(n) - 1) / 3
		q := qspec{float: "Concat", data: []int{0}, ranges: map[int][2]int{}, outRanges: true}
		for i := 1; i <= k; i++ {
			q.data = append(q.data, i)
			q.ranges[i] = [2]int{k + i, 2*k + i}
		}
		return q, true
	}
	q, ok := quantOps[n.GetOp()]
	return q, ok
}

func addQuantized(m map[string]converter) {
	for op := range quantOps {
		switch op {
		case "QuantizeV2":
			m[op] = convQuantize(1, 2)
		case "Requantize":
			m[op] = convQuantize(3, 4)
		case "Dequantize":
			m[op] = convDequantize
		case "RequantizationRange":
			m[op] = func(im *importer, n *tfpb.NodeDef) error {
				im.rangeOutputs(n, 0, 1)
				return nil
			}
		default:
			m[op] = convQuantizedOp
		}
	}
	m["QuantizedConcat"] = convQuantizedOp
}

// rangeOutputs marks outputs of n as ranges, which only the range inputs
// of quantized ops may read.
func (im *importer) rangeOutputs(n *tfpb.NodeDef, idx ...int) {
	for _, i := range idx {
		r := tref{n.GetName(), i}
		im.vals[r] = &value{ref: r, isRange: true, shape: []int{}, dtype: tensor.Float32}
	}
}

// rawInput returns input i without the checks of in.
func (im *importer) rawInput(n *tfpb.NodeDef, i int) (*value, tref, bool) {
	k := -1
	for _, s := range n.GetInput() {
		r, control, _ := parseInput(s)
		if control {
			continue
		}
		if k++; k == i {
			v := im.vals[r]
			return v, r, v != nil
		}
	}
	return nil, tref{}, false
}

// rangeConst returns the constant scalar at input i, if there is one.
func (im *importer) rangeConst(n *tfpb.NodeDef, i int) (float64, bool, error) {
	v, _, ok := im.rawInput(n, i)
	if !ok || v.c == nil {
		return 0, false, nil
	}
	if v.c.Len() != 1 || v.c.DType != tensor.Float32 {
		return 0, false, fmt.Errorf("%w: range input %d has shape %v of %v, want a float scalar", ErrInvalid, i, v.c.Shape, v.c.DType)
	}
	return v.c.Float64At(0), true, nil
}

// realInput returns data input i of a quantized op as the float tensor it
// stands for: a run-time value as it is (the importer keeps quantized
// activations as float), a constant of codes dequantized with its
// constant range.
func (im *importer) realInput(n *tfpb.NodeDef, q qspec, i int) (*value, error) {
	v, err := im.in(n, i)
	if err != nil {
		return nil, err
	}
	rng, hasRange := q.ranges[i]
	if !hasRange || v.dtype == tensor.Float32 {
		return v, nil
	}
	if v.c == nil {
		return nil, fmt.Errorf("%w: input %d (%q) holds quantized codes computed at run time", ErrUnsupported, i, v.ref.String())
	}
	lo, ok1, err := im.rangeConst(n, rng[0])
	if err != nil {
		return nil, err
	}
	hi, ok2, err := im.rangeConst(n, rng[1])
	if err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: the range of constant input %d (%q) is computed at run time", ErrUnsupported, i, v.ref.String())
	}
	t, err := dequantize(v.c, lo, hi, "MIN_FIRST")
	if err != nil {
		return nil, fmt.Errorf("input %d (%q): %w", i, v.ref.String(), err)
	}
	r := tref{v.ref.node + "/dequantized", v.ref.index}
	return &value{ref: r, c: t, shape: intShape(t.Shape), dtype: tensor.Float32}, nil
}

// dequantize converts constant codes to float as TensorFlow does.
// MIN_FIRST (QuantizedToFloat, which the quantized kernels use for their
// operands) rounds min to a multiple of the step; MIN_COMBINED spreads
// [min, max] over the code range; SCALED maps codes symmetrically.
func dequantize(q *tensor.Tensor, lo, hi float64, mode string) (*tensor.Tensor, error) {
	var bits int
	var lowest float64
	switch q.DType {
	case tensor.Uint8:
		bits, lowest = 8, 0
	case tensor.Int8:
		bits, lowest = 8, -128
	case tensor.Int32:
		bits, lowest = 32, math.MinInt32
	default:
		return nil, fmt.Errorf("%w: codes of element type %v", ErrInvalid, q.DType)
	}
	if !(hi >= lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil, fmt.Errorf("%w: range [%v, %v]", ErrInvalid, lo, hi)
	}
	steps := math.Ldexp(1, bits)
	out := tensor.New(tensor.Float32, q.Shape)
	var f func(c float64) float64
	switch mode {
	case "MIN_FIRST":
		scale := (hi - lo) / (steps - 1)
		minRounded := lo
		if scale > 0 {
			minRounded = math.Round(lo/scale) * scale
		}
		f = func(c float64) float64 { return minRounded + (c-lowest)*scale }
	case "MIN_COMBINED":
		scale := (hi - lo) / (steps - 1)
		f = func(c float64) float64 { return lo + (c-lowest)*scale }
	case "SCALED":
		m := math.Max(math.Abs(lo), math.Abs(hi))
		den := steps/2 - 1
		if lowest == 0 {
			den = steps - 1
		}
		f = func(c float64) float64 { return c * m / den }
	default:
		return nil, fmt.Errorf("%w: mode %q", ErrUnsupported, mode)
	}
	for i := range out.F32 {
		out.F32[i] = float32(f(q.Float64At(i)))
	}
	return out, nil
}

// convQuantizedOp imports a quantized op as its float counterpart on the
// real values of its data inputs.
func convQuantizedOp(im *importer, n *tfpb.NodeDef) error {
	q, _ := specFor(n)
	if n.GetOp() == "QuantizedConcat" && (numInputs(n)-1)%3 != 0 {
		return fmt.Errorf("%w: %d inputs, want concat_dim and three per value", ErrInvalid, numInputs(n))
	}
	fn := &tfpb.NodeDef{Name: n.GetName(), Op: q.float, Attr: n.GetAttr()}
	for k, i := range q.data {
		v, err := im.realInput(n, q, i)
		if err != nil {
			return err
		}
		// A key no TensorFlow node can have (names hold no NUL).
		r := tref{fmt.Sprintf("\x00real%d/%s", k, n.GetName()), 0}
		im.vals[r] = v
		fn.Input = append(fn.Input, r.node)
	}
	if err := converters[q.float](im, fn); err != nil {
		return err
	}
	if v := im.vals[tref{n.GetName(), 0}]; v != nil {
		v.dtype = tensor.Float32
	}
	im.rangeOutputs(n, 1, 2)
	return nil
}

// convQuantize imports QuantizeV2 (range inputs 1, 2) and Requantize
// (requested range 3, 4): the float value passes through, clipped to the
// range when it is constant, as the codes would saturate there.
func convQuantize(loAt, hiAt int) converter {
	return func(im *importer, n *tfpb.NodeDef) error {
		x, err := im.in(n, 0)
		if err != nil {
			return err
		}
		if x.dtype != tensor.Float32 {
			return fmt.Errorf("%w: input of element type %v, want float", ErrUnsupported, x.dtype)
		}
		lo, ok1, err := im.rangeConst(n, loAt)
		if err != nil {
			return err
		}
		hi, ok2, err := im.rangeConst(n, hiAt)
		if err != nil {
			return err
		}
		im.rangeOutputs(n, 1, 2)
		if !ok1 || !ok2 {
			im.alias(n, 0, x)
			return nil
		}
		nchw := x.nchw != ""
		src := x.nchw
		if !nchw {
			src = im.tfName(x)
		}
		loN := im.constName(n.GetName()+"/min", tensor.ScalarFloat32(float32(lo)))
		hiN := im.constName(n.GetName()+"/max", tensor.ScalarFloat32(float32(hi)))
		name, _ := im.out(n, 0, nchw, x.shape, tensor.Float32)
		im.emit("Clip", "", []string{src, loN, hiN}, []string{name}, nil)
		return nil
	}
}

// convDequantize imports Dequantize: the identity on a value the importer
// already holds as float, or the float of constant codes.
func convDequantize(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	if x.dtype == tensor.Float32 {
		im.alias(n, 0, x)
		return nil
	}
	if x.c == nil {
		return fmt.Errorf("%w: quantized codes computed at run time (%q)", ErrUnsupported, x.ref.String())
	}
	mode, err := attrs{n}.str("mode", "MIN_COMBINED")
	if err != nil {
		return err
	}
	lo, ok1, err := im.rangeConst(n, 1)
	if err != nil {
		return err
	}
	hi, ok2, err := im.rangeConst(n, 2)
	if err != nil {
		return err
	}
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: the range of constant codes %q is computed at run time", ErrUnsupported, x.ref.String())
	}
	t, err := dequantize(x.c, lo, hi, mode)
	if err != nil {
		return err
	}
	im.constant(n, 0, t)
	return nil
}
