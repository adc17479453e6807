package tfgraph

import (
	"fmt"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// window is the geometry of a convolution or pooling window over the two
// spatial axes, in ONNX terms.
type window struct {
	kernel, strides, dilations [2]int
	pads                       [4]int // top, left, bottom, right
	sameUpper                  bool   // SAME with unknown input size
}

// spatial returns the H and W axes of a 4-D tensor in the node's format.
func spatial(channelsFirst bool) (h, w int) {
	if channelsFirst {
		return 2, 3
	}
	return 1, 2
}

// readWindow reads strides, dilations and padding of a Conv2D-like or
// pool node. kernel is the window size; in the spatial input sizes (-1
// when unknown).
func readWindow(n *tfpb.NodeDef, channelsFirst bool, kernel [2]int, in [2]int, hasDilations bool) (window, error) {
	a := attrs{n}
	hAx, wAx := spatial(channelsFirst)
	cAx := 3
	if channelsFirst {
		cAx = 1
	}
	w := window{kernel: kernel, strides: [2]int{1, 1}, dilations: [2]int{1, 1}}
	four := func(name string) ([]int64, error) {
		v, err := a.ints(name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return []int64{1, 1, 1, 1}, nil
		}
		if len(v) != 4 {
			return nil, a.errf(name, "%w: %d values, want 4", ErrInvalid, len(v))
		}
		for _, x := range v {
			if x < 1 || x > 1<<20 {
				return nil, a.errf(name, "%w: value %d", ErrInvalid, x)
			}
		}
		if v[0] != 1 || v[cAx] != 1 {
			return nil, a.errf(name, "%w: %v along the batch or channel axis", ErrUnsupported, v)
		}
		return v, nil
	}
	s, err := four("strides")
	if err != nil {
		return w, err
	}
	w.strides = [2]int{int(s[hAx]), int(s[wAx])}
	if hasDilations {
		d, err := four("dilations")
		if err != nil {
			return w, err
		}
		w.dilations = [2]int{int(d[hAx]), int(d[wAx])}
	}
	padding, err := a.str("padding", "")
	if err != nil {
		return w, err
	}
	switch padding {
	case "VALID":
	case "SAME":
		if in[0] < 0 || in[1] < 0 {
			w.sameUpper = true
			break
		}
		for i := 0; i < 2; i++ {
			k := (w.kernel[i]-1)*w.dilations[i] + 1
			outSize := (in[i] + w.strides[i] - 1) / w.strides[i]
			total := max((outSize-1)*w.strides[i]+k-in[i], 0)
			w.pads[i] = total / 2
			w.pads[i+2] = total - total/2
		}
	case "EXPLICIT":
		p, err := a.ints("explicit_paddings")
		if err != nil {
			return w, err
		}
		if len(p) != 8 {
			return w, a.errf("explicit_paddings", "%w: %d values, want 8", ErrInvalid, len(p))
		}
		for _, x := range p {
			if x < 0 || x > 1<<20 {
				return w, a.errf("explicit_paddings", "%w: value %d", ErrInvalid, x)
			}
		}
		if p[0] != 0 || p[1] != 0 || p[2*cAx] != 0 || p[2*cAx+1] != 0 {
			return w, a.errf("explicit_paddings", "%w: padding along the batch or channel axis %v", ErrUnsupported, p)
		}
		w.pads = [4]int{int(p[2*hAx]), int(p[2*wAx]), int(p[2*hAx+1]), int(p[2*wAx+1])}
	default:
		return w, a.errf("padding", "%w: %q", ErrUnsupported, padding)
	}
	return w, nil
}

// outSize is the spatial output size along axis i (-1 when unknown).
func (w window) outSize(i, in int) int {
	if in < 0 {
		return -1
	}
	k := (w.kernel[i]-1)*w.dilations[i] + 1
	if w.sameUpper {
		return (in + w.strides[i] - 1) / w.strides[i]
	}
	padded := in + w.pads[i] + w.pads[i+2]
	if padded < k {
		return 0
	}
	return (padded-k)/w.strides[i] + 1
}

func (w window) attrs(dilations bool) map[string]*graph.Attr {
	at := map[string]*graph.Attr{
		"kernel_shape": graph.IntsAttr(int64(w.kernel[0]), int64(w.kernel[1])),
		"strides":      graph.IntsAttr(int64(w.strides[0]), int64(w.strides[1])),
	}
	if dilations {
		at["dilations"] = graph.IntsAttr(int64(w.dilations[0]), int64(w.dilations[1]))
	}
	if w.sameUpper {
		at["auto_pad"] = graph.StringAttr("SAME_UPPER")
	} else {
		at["pads"] = graph.IntsAttr(int64(w.pads[0]), int64(w.pads[1]), int64(w.pads[2]), int64(w.pads[3]))
	}
	return at
}

// layoutIn returns the IR name of a 4-D input as the IR op wants it (NCHW):
// the NCHW transpose of an NHWC tensor, or an NCHW tensor as it is.
func (im *importer) layoutIn(x *value, channelsFirst bool) (string, error) {
	if channelsFirst {
		return im.tfName(x), nil
	}
	return im.nchwName(x)
}

// spatialIn returns the input's H and W (-1 when unknown).
func spatialIn(x *value, channelsFirst bool) [2]int {
	if x.rank() != 4 {
		return [2]int{-1, -1}
	}
	h, w := spatial(channelsFirst)
	return [2]int{x.shape[h], x.shape[w]}
}

// outShape4 builds a TensorFlow 4-D shape in the node's format.
func outShape4(channelsFirst bool, n, c, h, w int) []int {
	if channelsFirst {
		return []int{n, c, h, w}
	}
	return []int{n, h, w, c}
}

func batchOf(x *value) int {
	if x.rank() == 4 {
		return x.shape[0]
	}
	return -1
}

func channelsOf(x *value, channelsFirst bool) int {
	if x.rank() != 4 {
		return -1
	}
	if channelsFirst {
		return x.shape[1]
	}
	return x.shape[3]
}

// convConv2D imports Conv2D and DepthwiseConv2dNative. Filters are HWIO
// (depthwise HWCM); the IR wants OIHW ((C·M)×1×H×W with group C).
func convConv2D(im *importer, n *tfpb.NodeDef) error {
	depthwise := n.GetOp() == "DepthwiseConv2dNative"
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	f, err := im.in(n, 1)
	if err != nil {
		return err
	}
	cf, err := dataFormat(n)
	if err != nil {
		return err
	}
	if r := x.rank(); r != 4 && r != -1 {
		return fmt.Errorf("%w: input has rank %d, want 4", ErrInvalid, r)
	}
	if f.rank() != 4 {
		return fmt.Errorf("%w: filter %q has shape %v, want 4-D of known size", ErrUnsupported, f.ref.String(), f.shape)
	}
	kh, kw, ci, co := f.shape[0], f.shape[1], f.shape[2], f.shape[3]
	if kh < 1 || kw < 1 || ci < 1 || co < 1 {
		return fmt.Errorf("%w: filter %q has shape %v", ErrInvalid, f.ref.String(), f.shape)
	}
	win, err := readWindow(n, cf, [2]int{kh, kw}, spatialIn(x, cf), true)
	if err != nil {
		return err
	}
	group, outC := 1, co
	if depthwise {
		group, outC = ci, ci*co
	} else if xc := channelsOf(x, cf); xc > 0 && xc != ci {
		if xc%ci != 0 || co%(xc/ci) != 0 {
			return fmt.Errorf("%w: input has %d channels, filter %q expects %d", ErrInvalid, xc, f.ref.String(), ci)
		}
		group = xc / ci
	}
	if xc := channelsOf(x, cf); depthwise && xc > 0 && xc != ci {
		return fmt.Errorf("%w: input has %d channels, filter %q expects %d", ErrInvalid, xc, f.ref.String(), ci)
	}
	var wname string
	switch {
	case f.c != nil && depthwise:
		t := transpose(reshaped(f.c, kh, kw, ci*co), []int64{2, 0, 1})
		wname = im.constName(f.ref.valueName()+"/oihw", reshaped(t, ci*co, 1, kh, kw))
	case f.c != nil:
		wname = im.constName(f.ref.valueName()+"/oihw", transpose(f.c, []int64{3, 2, 0, 1}))
	case depthwise:
		return fmt.Errorf("%w: depthwise filter %q is computed at run time", ErrUnsupported, f.ref.String())
	default:
		wname = im.fresh(f.ref.valueName() + "/oihw")
		im.emit("Transpose", "filter", []string{im.tfName(f)}, []string{wname}, map[string]*graph.Attr{"perm": graph.IntsAttr(3, 2, 0, 1)})
	}
	src, err := im.layoutIn(x, cf)
	if err != nil {
		return err
	}
	in := spatialIn(x, cf)
	shape := outShape4(cf, batchOf(x), outC, win.outSize(0, in[0]), win.outSize(1, in[1]))
	at := win.attrs(true)
	at["group"] = graph.IntAttr(int64(group))
	name, _ := im.out(n, 0, !cf, shape, x.dtype)
	im.emit("Conv", "", []string{src, wname}, []string{name}, at)
	return nil
}

// convPool imports MaxPool and AvgPool. TensorFlow's AvgPool leaves padding
// out of the count, as ONNX's count_include_pad=0 does.
func convPool(im *importer, n *tfpb.NodeDef) error {
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	cf, err := dataFormat(n)
	if err != nil {
		return err
	}
	if r := x.rank(); r != 4 && r != -1 {
		return fmt.Errorf("%w: input has rank %d, want 4", ErrInvalid, r)
	}
	a := attrs{n}
	k, err := a.ints("ksize")
	if err != nil {
		return err
	}
	hAx, wAx := spatial(cf)
	cAx := 3
	if cf {
		cAx = 1
	}
	if len(k) != 4 || k[0] != 1 || k[cAx] != 1 || k[hAx] < 1 || k[wAx] < 1 || k[hAx] > 1<<20 || k[wAx] > 1<<20 {
		return a.errf("ksize", "%w: %v, want 4 values with 1 along the batch and channel axes", ErrUnsupported, k)
	}
	win, err := readWindow(n, cf, [2]int{int(k[hAx]), int(k[wAx])}, spatialIn(x, cf), false)
	if err != nil {
		return err
	}
	src, err := im.layoutIn(x, cf)
	if err != nil {
		return err
	}
	in := spatialIn(x, cf)
	shape := outShape4(cf, batchOf(x), channelsOf(x, cf), win.outSize(0, in[0]), win.outSize(1, in[1]))
	at := win.attrs(false)
	op := "MaxPool"
	if n.GetOp() == "AvgPool" {
		op = "AveragePool"
		at["count_include_pad"] = graph.IntAttr(0)
	}
	name, _ := im.out(n, 0, !cf, shape, x.dtype)
	im.emit(op, "", []string{src}, []string{name}, at)
	return nil
}

// convFusedBatchNorm imports FusedBatchNorm{,V2,V3} in inference mode as
// BatchNormalization. Only output 0 (y) may be read.
func convFusedBatchNorm(im *importer, n *tfpb.NodeDef) error {
	a := attrs{n}
	training, err := a.boolean("is_training", true)
	if err != nil {
		return err
	}
	if training {
		return a.errf("is_training", "%w: training mode (batch statistics); freeze the graph for inference", ErrUnsupported)
	}
	eps, err := a.float("epsilon", 1e-4)
	if err != nil {
		return err
	}
	cf, err := dataFormat(n)
	if err != nil {
		return err
	}
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	params := make([]string, 4)
	for i := range params {
		p, err := im.in(n, i+1)
		if err != nil {
			return err
		}
		if r := p.rank(); r != 1 && r != -1 {
			return fmt.Errorf("%w: input %d has rank %d, want 1", ErrInvalid, i+1, r)
		}
		params[i] = im.tfName(p)
	}
	return im.batchNorm(n, x, cf, params, eps)
}

func (im *importer) batchNorm(n *tfpb.NodeDef, x *value, cf bool, params []string, eps float32) error {
	if r := x.rank(); r != 4 && r != -1 {
		return fmt.Errorf("%w: input has rank %d, want 4", ErrUnsupported, r)
	}
	src, err := im.layoutIn(x, cf)
	if err != nil {
		return err
	}
	name, _ := im.out(n, 0, !cf, x.shape, x.dtype)
	im.emit("BatchNormalization", "", append([]string{src}, params...), []string{name},
		map[string]*graph.Attr{"epsilon": graph.FloatAttr(eps)})
	return nil
}

// convGlobalNorm imports BatchNormWithGlobalNormalization (inputs t, m, v,
// beta, gamma; NHWC).
func convGlobalNorm(im *importer, n *tfpb.NodeDef) error {
	a := attrs{n}
	eps, err := a.float("variance_epsilon", 1e-3)
	if err != nil {
		return err
	}
	scaled, err := a.boolean("scale_after_normalization", false)
	if err != nil {
		return err
	}
	x, err := im.in(n, 0)
	if err != nil {
		return err
	}
	var vs [5]*value
	for i := 1; i < 5; i++ {
		if vs[i], err = im.in(n, i); err != nil {
			return err
		}
		if vs[i].rank() != 1 || vs[i].shape[0] < 0 {
			return fmt.Errorf("%w: input %d has shape %v, want 1-D of known size", ErrInvalid, i, vs[i].shape)
		}
	}
	var gamma string
	if scaled {
		gamma = im.tfName(vs[4])
	} else {
		if vs[1].shape[0] > maxFill {
			return fmt.Errorf("%w: %d channels", ErrUnsupported, vs[1].shape[0])
		}
		ones := tensor.New(tensor.Float32, tensor.Shape{vs[1].shape[0]})
		for i := range ones.F32 {
			ones.F32[i] = 1
		}
		gamma = im.constName(n.GetName()+"/gamma", ones)
	}
	params := []string{gamma, im.tfName(vs[3]), im.tfName(vs[1]), im.tfName(vs[2])}
	return im.batchNorm(n, x, false, params, eps)
}
