package tfgraph

import (
	"fmt"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// converter imports one TensorFlow node into the IR.
type converter func(im *importer, n *tfpb.NodeDef) error

// converters lists every op type the importer reads.
var converters map[string]converter

func init() {
	converters = map[string]converter{
		"Placeholder":                      convPlaceholder,
		"PlaceholderWithDefault":           convIdentity,
		"Const":                            convConst,
		"Identity":                         convIdentity,
		"StopGradient":                     convIdentity,
		"NoOp":                             func(*importer, *tfpb.NodeDef) error { return nil },
		"MatMul":                           convMatMul,
		"BiasAdd":                          convBiasAdd,
		"Add":                              binaryOp("Add"),
		"AddV2":                            binaryOp("Add"),
		"Sub":                              binaryOp("Sub"),
		"Mul":                              binaryOp("Mul"),
		"RealDiv":                          binaryOp("Div"),
		"Maximum":                          binaryOp("Max"),
		"Minimum":                          binaryOp("Min"),
		"Relu":                             unary("Relu", nil),
		"Tanh":                             unary("Tanh", nil),
		"Sigmoid":                          unary("Sigmoid", nil),
		"Relu6":                            convRelu6,
		"Softmax":                          convSoftmax,
		"Conv2D":                           convConv2D,
		"DepthwiseConv2dNative":            convConv2D,
		"MaxPool":                          convPool,
		"AvgPool":                          convPool,
		"Mean":                             convMean,
		"ConcatV2":                         convConcat,
		"Concat":                           convConcat,
		"Reshape":                          convReshape,
		"Squeeze":                          convSqueeze,
		"ExpandDims":                       convExpandDims,
		"Pad":                              convPad,
		"PadV2":                            convPad,
		"FusedBatchNorm":                   convFusedBatchNorm,
		"FusedBatchNormV2":                 convFusedBatchNorm,
		"FusedBatchNormV3":                 convFusedBatchNorm,
		"BatchNormWithGlobalNormalization": convGlobalNorm,
		"Shape":                            convShape,
		"StridedSlice":                     convStridedSlice,
		"Pack":                             convPack,
	}
	addQuantized(converters)
}

func convPlaceholder(im *importer, n *tfpb.NodeDef) error {
	// Reached only when the caller cut the graph at a tensor below it.
	return fmt.Errorf("%w: placeholder is not an input", ErrInvalid)
}

func convConst(im *importer, n *tfpb.NodeDef) error {
	t, err := attrs{n}.tensor("value")
	if err != nil {
		return err
	}
	im.constant(n, 0, t)
	return nil
}

func convIdentity(im *importer, n *tfpb.NodeDef) error {
	v, err := im.in(n, 0)
	if err != nil {
		return err
	}
	im.alias(n, 0, v)
	return nil
}

// unary imports an elementwise op of one input, in whichever layout the
// input already has.
func unary(op string, at map[string]*graph.Attr) converter {
	return func(im *importer, n *tfpb.NodeDef) error {
		x, err := im.in(n, 0)
		if err != nil {
			return err
		}
		nchw := x.nchw != ""
		src := x.nchw
		if !nchw {
			src = im.tfName(x)
		}
		name, _ := im.out(n, 0, nchw, x.shape, x.dtype)
		im.emit(op, "", []string{src}, []string{name}, at)
		return nil
	}
}

func convRelu6(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	nchw := x.nchw != ""
	src := x.nchw
	if !nchw {
		src = im.tfName(x)
	}
	lo := im.constName(n.GetName()+"/min", tensor.ScalarFloat32(0))
	hi := im.constName(n.GetName()+"/max", tensor.ScalarFloat32(6))
	name, _ := im.out(n, 0, nchw, x.shape, x.dtype)
	im.emit("Clip", "", []string{src, lo, hi}, []string{name}, nil)
	return nil
}

// broadcastShape is the NumPy broadcast of two shapes (nil if unknown).
func broadcastShape(a, b []int) ([]int, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da == -1 || db == -1:
			out[i] = max(da, db)
		default:
			return nil, fmt.Errorf("%w: shapes %v and %v do not broadcast", ErrInvalid, a, b)
		}
	}
	return out, nil
}

// constToNCHW lays a constant that broadcasts against a 4-D NHWC tensor out
// for the NCHW one: padded to rank 4 with leading ones, then transposed.
func constToNCHW(t *tensor.Tensor) *tensor.Tensor {
	s := make([]int, 4)
	for i := range s {
		s[i] = 1
	}
	copy(s[4-len(t.Shape):], t.Shape)
	return transpose(reshaped(t, s...), toNCHW)
}

// elementwise imports an op whose inputs broadcast against each other. It
// works on NCHW data when an input already is NCHW and every other input
// is 4-D or a constant of rank up to 4; otherwise in TensorFlow layout.
func (im *importer) elementwise(n *tfpb.NodeDef, op string, xs []*value, at map[string]*graph.Attr) error {
	var shape []int
	var err error
	shape = xs[0].shape
	for _, x := range xs[1:] {
		if shape, err = broadcastShape(shape, x.shape); err != nil {
			return err
		}
	}
	nchw := false
	for _, x := range xs {
		if x.nchw != "" {
			nchw = true
		}
	}
	if nchw && len(shape) != 4 {
		nchw = false
	}
	for _, x := range xs {
		if x.nchw == "" && (x.c != nil && len(x.c.Shape) > 4 || x.c == nil && x.rank() != 4) {
			nchw = false
		}
	}
	names := make([]string, len(xs))
	for i, x := range xs {
		switch {
		case !nchw:
			names[i] = im.tfName(x)
		case x.nchw != "":
			names[i] = x.nchw
		case x.c != nil && len(x.c.Shape) < 4:
			names[i] = im.constName(x.ref.valueName()+"/nchw", constToNCHW(x.c))
		default:
			if names[i], err = im.nchwName(x); err != nil {
				return err
			}
		}
	}
	dt := xs[0].dtype
	name, _ := im.out(n, 0, nchw, shape, dt)
	im.emit(op, "", names, []string{name}, at)
	return nil
}

func binaryOp(op string) converter {
	return func(im *importer, n *tfpb.NodeDef) error {
		a, err := im.in(n, 0)
		if err != nil {
			return err
		}
		b, err := im.in(n, 1)
		if err != nil {
			return err
		}
		return im.elementwise(n, op, []*value{a, b}, nil)
	}
}

func dataFormat(n *tfpb.NodeDef) (nchw bool, err error) {
	f, err := attrs{n}.str("data_format", "NHWC")
	if err != nil {
		return false, err
	}
	switch f {
	case "NHWC":
		return false, nil
	case "NCHW":
		return true, nil
	}
	return false, fmt.Errorf("%w: data_format %q", ErrUnsupported, f)
}

func convBiasAdd(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	b, err := im.in(n, 1)
	if err != nil {
		return err
	}
	channelsFirst, err := dataFormat(n)
	if err != nil {
		return err
	}
	if b.rank() != 1 && b.rank() != -1 {
		return fmt.Errorf("%w: bias has rank %d, want 1", ErrInvalid, b.rank())
	}
	if !channelsFirst {
		return im.elementwise(n, "Add", []*value{x, b}, nil)
	}
	// NCHW: the bias runs along axis 1.
	r := x.rank()
	if r < 2 {
		return fmt.Errorf("%w: NCHW BiasAdd needs an input of known rank of at least 2, has %v", ErrUnsupported, x.shape)
	}
	shape := make([]int64, r-1)
	shape[0] = -1
	for i := 1; i < len(shape); i++ {
		shape[i] = 1
	}
	var bn string
	if b.c != nil {
		s := make([]int, len(shape))
		s[0] = b.c.Len()
		for i := 1; i < len(s); i++ {
			s[i] = 1
		}
		bn = im.constName(b.ref.valueName()+"/channels", reshaped(b.c, s...))
	} else {
		bn = im.fresh(n.GetName() + "/bias")
		im.emit("Reshape", "bias", []string{im.tfName(b), im.int64s(n.GetName()+"/bias_shape", shape...)}, []string{bn}, nil)
	}
	xs := im.tfName(x)
	name, _ := im.out(n, 0, false, x.shape, x.dtype)
	im.emit("Add", "", []string{xs, bn}, []string{name}, nil)
	return nil
}

func convMatMul(im *importer, n *tfpb.NodeDef) error {
	a, err := im.in(n, 0)
	if err != nil {
		return err
	}
	b, err := im.in(n, 1)
	if err != nil {
		return err
	}
	ta, err := attrs{n}.boolean("transpose_a", false)
	if err != nil {
		return err
	}
	tb, err := attrs{n}.boolean("transpose_b", false)
	if err != nil {
		return err
	}
	for _, v := range []*value{a, b} {
		if r := v.rank(); r != 2 && r != -1 {
			return fmt.Errorf("%w: MatMul input %q has rank %d, want 2", ErrInvalid, v.ref.String(), r)
		}
	}
	var shape []int
	if a.shape != nil && b.shape != nil {
		m, k1 := a.shape[0], a.shape[1]
		if ta {
			m, k1 = k1, m
		}
		k2, nn := b.shape[0], b.shape[1]
		if tb {
			k2, nn = nn, k2
		}
		if k1 >= 0 && k2 >= 0 && k1 != k2 {
			return fmt.Errorf("%w: MatMul of %v and %v (transpose_a=%v, transpose_b=%v)", ErrInvalid, a.shape, b.shape, ta, tb)
		}
		shape = []int{m, nn}
	}
	operand := func(v *value, t bool) (string, bool) {
		if t && v.c != nil {
			return im.constName(v.ref.valueName()+"/transposed", transpose(v.c, []int64{1, 0})), false
		}
		return im.tfName(v), t
	}
	an, ta := operand(a, ta)
	bn, tb := operand(b, tb)
	name, _ := im.out(n, 0, false, shape, a.dtype)
	if !ta && !tb {
		im.emit("MatMul", "", []string{an, bn}, []string{name}, nil)
		return nil
	}
	at := map[string]*graph.Attr{}
	if ta {
		at["transA"] = graph.IntAttr(1)
	}
	if tb {
		at["transB"] = graph.IntAttr(1)
	}
	im.emit("Gemm", "", []string{an, bn}, []string{name}, at)
	return nil
}

func convSoftmax(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	if x.nchw != "" && x.rank() == 4 {
		name, _ := im.out(n, 0, true, x.shape, x.dtype)
		im.emit("Softmax", "", []string{x.nchw}, []string{name}, map[string]*graph.Attr{"axis": graph.IntAttr(1)})
		return nil
	}
	src := im.tfName(x)
	name, _ := im.out(n, 0, false, x.shape, x.dtype)
	im.emit("Softmax", "", []string{src}, []string{name}, map[string]*graph.Attr{"axis": graph.IntAttr(-1)})
	return nil
}
