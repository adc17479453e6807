package infer

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

func vi(name string, dt tensor.DType, dims ...int64) graph.ValueInfo {
	v := graph.ValueInfo{Name: name, DType: dt, Shape: []graph.Dim{}}
	for _, d := range dims {
		if d < 0 {
			v.Shape = append(v.Shape, graph.Dim{Value: -1, Param: "N"})
		} else {
			v.Shape = append(v.Shape, graph.Dim{Value: d})
		}
	}
	return v
}

func node(name, op string, in, out []string, attrs map[string]*graph.Attr) *graph.Node {
	return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
}

// smallModel: x [N,1,4,4] → Conv(2 ch, 3x3, pad 1) → Identity → Relu →
// Flatten → Gemm(transB) → y [N,3]; the Gemm bias comes from a Constant.
func smallModel(r *rand.Rand) *graph.Model {
	w := tensor.New(tensor.Float32, tensor.Shape{2, 1, 3, 3})
	for i := range w.F32 {
		w.F32[i] = float32(r.NormFloat64())
	}
	fc := tensor.New(tensor.Float32, tensor.Shape{3, 32})
	for i := range fc.F32 {
		fc.F32[i] = float32(r.NormFloat64())
	}
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{vi("x", tensor.Float32, -1, 1, 4, 4)},
		Outputs:      []graph.ValueInfo{vi("y", tensor.Float32, -1, 3)},
		Initializers: map[string]*tensor.Tensor{"w": w, "fc": fc},
		Nodes: []*graph.Node{
			node("bias", "Constant", nil, []string{"b"}, map[string]*graph.Attr{"value": graph.TensorAttr(tensor.FromFloat32(tensor.Shape{3}, []float32{1, 2, 3}))}),
			node("conv1", "Conv", []string{"x", "w"}, []string{"c"}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)}),
			node("id", "Identity", []string{"c"}, []string{"ci"}, nil),
			node("relu", "Relu", []string{"ci"}, []string{"r"}, nil),
			node("flat", "Flatten", []string{"r"}, []string{"f"}, nil),
			node("fc1", "Gemm", []string{"f", "fc", "b"}, []string{"y"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)}),
		},
	}
	return &graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}
}

func TestSmallModel(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	m := smallModel(r)
	before := len(m.Graph.Nodes)
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Nodes) != before || m.Graph.Nodes[2].OpType != "Identity" {
		t.Fatal("Compile modified the caller's model")
	}
	x := tensor.New(tensor.Float32, tensor.Shape{5, 1, 4, 4})
	for i := range x.F32 {
		x.F32[i] = float32(r.NormFloat64())
	}
	var seen []string
	out, err := p.RunObserved(map[string]*tensor.Tensor{"x": x}, func(name string, _ *tensor.Tensor) { seen = append(seen, name) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "x,c,r,f,y" {
		t.Fatalf("observed %v", seen)
	}
	// Same computation with the kernels directly.
	c, _ := kernels.Conv(x, m.Graph.Initializers["w"], nil, kernels.ConvParams{Pads: []int{1, 1, 1, 1}})
	rl, _ := kernels.Relu(c)
	f, _ := kernels.Flatten(rl, 1)
	want, _ := kernels.GemmOpWith(nil, f, m.Graph.Initializers["fc"], tensor.FromFloat32(tensor.Shape{3}, []float32{1, 2, 3}), false, true, 1, 1)
	if !out["y"].Equal(want) {
		t.Fatalf("got %v, want %v", out["y"].F32, want.F32)
	}
	if s := p.Stats(); s.FloatNodes != 4 || s.FloatMACs != 2*9*16+3*32 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := p.Run(map[string]*tensor.Tensor{}); err == nil {
		t.Fatal("missing input accepted")
	}
	// Runtime errors name the node.
	_, err = p.Run(map[string]*tensor.Tensor{"x": tensor.New(tensor.Float32, tensor.Shape{1, 2, 4, 4})})
	if err == nil || !strings.Contains(err.Error(), `Conv "conv1"`) {
		t.Fatalf("error %v does not name the node", err)
	}
}

func TestUnsupported(t *testing.T) {
	m := smallModel(rand.New(rand.NewSource(1)))
	m.Graph.Nodes = append(m.Graph.Nodes,
		node("lstm1", "LSTM", []string{"y"}, []string{"l"}, nil),
		node("a", "Foo", []string{"y"}, []string{"fa"}, nil),
		node("b", "Foo", []string{"y"}, []string{"fb"}, nil))
	_, err := Compile(m, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v is not an UnsupportedError", err)
	}
	if want := `unsupported ops (opset 13): Foo ("a", "b"), LSTM ("lstm1")`; err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}
}

// qdqModel builds x(uint8) → DQ → Conv(DQ int8 per-channel w, DQ int32 bias)
// → Relu → Q → DQ → MaxPool → Q → DQ → Flatten → Gemm(DQ w, DQ bias) → Q
// → DQ → y (float).
func qdqModel(r *rand.Rand) *graph.Model {
	init := map[string]*tensor.Tensor{}
	sc := func(name string, v ...float32) string {
		init[name] = tensor.FromFloat32(tensor.Shape{len(v)}, v)
		if len(v) == 1 {
			init[name].Shape = nil
		}
		return name
	}
	zp := func(name string, v uint8) string {
		init[name] = tensor.FromUint8(nil, []uint8{v})
		return name
	}
	const cout = 4
	wq := tensor.New(tensor.Int8, tensor.Shape{cout, 2, 3, 3})
	for i := range wq.I8 {
		wq.I8[i] = int8(r.Intn(255) - 127)
	}
	init["wq"] = wq
	sw := make([]float32, cout)
	bq := make([]int32, cout)
	sb := make([]float32, cout)
	const sx = float32(0.02)
	for i := range sw {
		sw[i] = float32(0.001 + r.Float64()*0.004)
		sb[i] = sx * sw[i]
		bq[i] = int32(r.Intn(4001) - 2000)
	}
	sc("sw", sw...)
	sc("sb", sb...)
	init["bq"] = tensor.FromInt32(tensor.Shape{cout}, bq)
	fq := tensor.New(tensor.Int8, tensor.Shape{5, cout * 4})
	for i := range fq.I8 {
		fq.I8[i] = int8(r.Intn(255) - 127)
	}
	init["fq"] = fq
	const sy, sf = float32(0.05), float32(0.003)
	init["fbq"] = tensor.FromInt32(tensor.Shape{5}, []int32{100, -200, 300, 0, 50})
	sc("sx", sx)
	sc("sy", sy)
	sc("sf", sf)
	sc("sfb", sy*sf)
	sc("so", 0.1)
	zp("zx", 128)
	zp("zy", 3)
	zp("zo", 120)
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{vi("xq", tensor.Uint8, -1, 2, 8, 8)},
		Outputs:      []graph.ValueInfo{vi("y", tensor.Float32, -1, 5)},
		Initializers: init,
		Nodes: []*graph.Node{
			node("dqx", "DequantizeLinear", []string{"xq", "sx", "zx"}, []string{"x"}, nil),
			node("dqw", "DequantizeLinear", []string{"wq", "sw"}, []string{"w"}, map[string]*graph.Attr{"axis": graph.IntAttr(0)}),
			node("dqb", "DequantizeLinear", []string{"bq", "sb"}, []string{"b"}, map[string]*graph.Attr{"axis": graph.IntAttr(0)}),
			node("conv", "Conv", []string{"x", "w", "b"}, []string{"c"}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)}),
			node("relu", "Relu", []string{"c"}, []string{"r"}, nil),
			node("q1", "QuantizeLinear", []string{"r", "sy", "zy"}, []string{"rq"}, nil),
			node("dq1", "DequantizeLinear", []string{"rq", "sy", "zy"}, []string{"rd"}, nil),
			node("pool", "MaxPool", []string{"rd"}, []string{"p"}, map[string]*graph.Attr{"kernel_shape": graph.IntsAttr(2, 2), "strides": graph.IntsAttr(4, 4)}),
			node("q2", "QuantizeLinear", []string{"p", "sy", "zy"}, []string{"pq"}, nil),
			node("dq2", "DequantizeLinear", []string{"pq", "sy", "zy"}, []string{"pd"}, nil),
			node("flat", "Flatten", []string{"pd"}, []string{"f"}, nil),
			node("q3", "QuantizeLinear", []string{"f", "sy", "zy"}, []string{"fq8"}, nil),
			node("dq3", "DequantizeLinear", []string{"fq8", "sy", "zy"}, []string{"fd"}, nil),
			node("dqfw", "DequantizeLinear", []string{"fq", "sf"}, []string{"fw"}, nil),
			node("dqfb", "DequantizeLinear", []string{"fbq", "sfb"}, []string{"fb"}, nil),
			node("fc", "Gemm", []string{"fd", "fw", "fb"}, []string{"o"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)}),
			node("q4", "QuantizeLinear", []string{"o", "so", "zo"}, []string{"oq"}, nil),
			node("dq4", "DequantizeLinear", []string{"oq", "so", "zo"}, []string{"y"}, nil),
		},
	}
	return &graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}
}

func TestIntegerQDQ(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	m := qdqModel(r)
	pf, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := Compile(m, Options{Integer: true})
	if err != nil {
		t.Fatal(err)
	}
	s := pi.Stats()
	if s.IntegerNodes != 2 || s.Uint8Nodes != 2 {
		t.Fatalf("integer stats %+v", s)
	}
	x := tensor.New(tensor.Uint8, tensor.Shape{3, 2, 8, 8})
	for i := range x.U8 {
		x.U8[i] = uint8(r.Intn(256))
	}
	of, err := pf.Run(map[string]*tensor.Tensor{"xq": x})
	if err != nil {
		t.Fatal(err)
	}
	oi, err := pi.Run(map[string]*tensor.Tensor{"xq": x})
	if err != nil {
		t.Fatal(err)
	}
	// The two paths may differ by one quantization step where the float
	// product and the requantized accumulator round differently.
	so := float32(0.1)
	diff := 0
	for i := range of["y"].F32 {
		d := of["y"].F32[i] - oi["y"].F32[i]
		if d < 0 {
			d = -d
		}
		if d > 2.5*so {
			t.Fatalf("y[%d]: float %v, integer %v", i, of["y"].F32[i], oi["y"].F32[i])
		}
		if d > 0 {
			diff++
		}
	}
	t.Logf("%d of %d outputs differ by a quantization step; stats %+v", diff, of["y"].Len(), pi.Stats())
	if s := pi.Stats(); s.IntegerMACs != 4*18*64+5*16 || s.FloatMACs != 0 {
		t.Fatalf("MACs %+v", s)
	}
}

func TestIntegerConvExact(t *testing.T) {
	// With power-of-two scales the float QDQ path is exact, so both paths
	// must agree bit for bit.
	r := rand.New(rand.NewSource(3))
	m := qdqModel(r)
	in := m.Graph.Initializers
	in["sx"].F32[0] = 1.0 / 64
	for i := range in["sw"].F32 {
		in["sw"].F32[i] = 1.0 / 128
		in["sb"].F32[i] = 1.0 / 64 / 128
	}
	in["sy"].F32[0] = 1.0 / 4
	in["sf"].F32[0] = 1.0 / 256
	in["sfb"].F32[0] = 1.0 / 4 / 256
	in["so"].F32[0] = 1.0 / 2
	pf, _ := Compile(m, Options{})
	pi, _ := Compile(m, Options{Integer: true})
	x := tensor.New(tensor.Uint8, tensor.Shape{2, 2, 8, 8})
	for i := range x.U8 {
		x.U8[i] = uint8(r.Intn(256))
	}
	of, _ := pf.Run(map[string]*tensor.Tensor{"xq": x})
	oi, err := pi.Run(map[string]*tensor.Tensor{"xq": x})
	if err != nil {
		t.Fatal(err)
	}
	if !of["y"].Equal(oi["y"]) {
		t.Fatalf("float %v\ninteger %v", of["y"].F32, oi["y"].F32)
	}
	_ = qmath.Uint8Max
}

// nodeTests are ONNX backend node tests (ONNX 1.12) that must pass.
var nodeTests = []string{
	"test_conv_with_autopad_same", "test_conv_with_strides_and_asymmetric_padding",
	"test_conv_with_strides_no_padding", "test_conv_with_strides_padding",
	"test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
	"test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
	"test_gemm_default_vector_bias", "test_gemm_transposeA", "test_gemm_transposeB",
	"test_matmul_2d", "test_matmul_3d", "test_matmul_4d",
	"test_maxpool_2d_ceil", "test_maxpool_2d_default", "test_maxpool_2d_dilations", "test_maxpool_2d_pads",
	"test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_same_upper", "test_maxpool_2d_same_lower",
	"test_maxpool_2d_same_upper", "test_maxpool_2d_strides", "test_maxpool_2d_uint8", "test_maxpool_1d_default",
	"test_averagepool_2d_ceil", "test_averagepool_2d_default", "test_averagepool_2d_pads",
	"test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_precomputed_pads_count_include_pad",
	"test_averagepool_2d_precomputed_same_upper", "test_averagepool_2d_same_lower", "test_averagepool_2d_strides",
	"test_globalaveragepool", "test_batchnorm_epsilon", "test_batchnorm_example",
	"test_add", "test_add_bcast", "test_add_uint8", "test_relu",
	"test_clip", "test_clip_default_inbounds", "test_clip_splitbounds", "test_clip_outbounds",
	"test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2", "test_softmax_default_axis",
	"test_softmax_large_number", "test_softmax_negative_axis",
	"test_flatten_axis0", "test_flatten_default_axis", "test_flatten_negative_axis1",
	"test_reshape_negative_dim", "test_reshape_zero_and_negative_dim", "test_reshape_allowzero_reordered",
	"test_transpose_default", "test_transpose_all_permutations_3",
	"test_concat_3d_axis_negative_2", "test_squeeze", "test_squeeze_negative_axes",
	"test_unsqueeze_unsorted_axes", "test_unsqueeze_two_axes",
	"test_gather_0", "test_gather_1", "test_gather_2d_indices", "test_gather_negative_indices",
	"test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear", "test_dequantizelinear_axis",
}

func TestONNXNodeTests(t *testing.T) {
	root := zootest.Path(t, "onnx-node-tests", "v1.12.0")
	for _, name := range nodeTests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			read := func(f string) *tensor.Tensor {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				x, _, err := onnx.DecodeTensor(b)
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			ds := filepath.Join(dir, "test_data_set_0")
			in := map[string]*tensor.Tensor{}
			for i, n := range p.InputNames() {
				in[n] = read(filepath.Join(ds, "input_"+itoa(i)+".pb"))
			}
			out, err := p.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range p.OutputNames() {
				want := read(filepath.Join(ds, "output_"+itoa(i)+".pb"))
				got := out[n]
				if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
					t.Fatalf("output %s: %v %v, want %v %v", n, got.DType, got.Shape, want.DType, want.Shape)
				}
				for j := 0; j < want.Len(); j++ {
					g, w := got.Float64At(j), want.Float64At(j)
					d := g - w
					if d < 0 {
						d = -d
					}
					aw := w
					if aw < 0 {
						aw = -aw
					}
					if d > 1e-5+1e-3*aw {
						t.Fatalf("output %s[%d] = %v, want %v", n, j, g, w)
					}
				}
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
