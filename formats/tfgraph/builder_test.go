package tfgraph

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

// builder assembles a GraphDef in code.
type builder struct {
	g *tfpb.GraphDef
}

func newBuilder() *builder {
	return &builder{g: &tfpb.GraphDef{Versions: &tfpb.VersionDef{Producer: 27}}}
}

type attrMap map[string]*tfpb.AttrValue

func (b *builder) node(op, name string, inputs []string, at attrMap) string {
	if at == nil {
		at = attrMap{}
	}
	if _, ok := at["T"]; !ok && op != "Const" && op != "Placeholder" {
		at["T"] = aType(tfpb.DataType_DT_FLOAT)
	}
	b.g.Node = append(b.g.Node, &tfpb.NodeDef{Name: name, Op: op, Input: inputs, Attr: at})
	return name
}

func (b *builder) placeholder(name string, shape ...int) string {
	return b.node("Placeholder", name, nil, attrMap{"dtype": aType(tfpb.DataType_DT_FLOAT), "shape": aShape(shape...)})
}

// constF adds a float constant stored as tensor_content.
func (b *builder) constF(name string, shape []int, v []float32) string {
	content := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(content[4*i:], math.Float32bits(x))
	}
	tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shapeProto(shape...), TensorContent: content}
	return b.node("Const", name, nil, attrMap{"dtype": aType(tfpb.DataType_DT_FLOAT), "value": aTensor(tp)})
}

// constI adds a 1-D int32 constant stored in int_val (a scalar when scalar
// is set).
func (b *builder) constI(name string, scalar bool, v ...int32) string {
	sh := shapeProto(len(v))
	if scalar {
		sh = shapeProto()
	}
	tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: sh, IntVal: v}
	return b.node("Const", name, nil, attrMap{"dtype": aType(tfpb.DataType_DT_INT32), "value": aTensor(tp)})
}

// randConst adds a float constant of random values in [-scale, scale).
func (b *builder) randConst(r *rand.Rand, name string, scale float64, shape ...int) (string, []float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return b.constF(name, shape, v), v
}

func (b *builder) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(b.g)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func shapeProto(dims ...int) *tfpb.TensorShapeProto {
	s := &tfpb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tfpb.TensorShapeProto_Dim{Size: int64(d)})
	}
	return s
}

func aType(t tfpb.DataType) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: t}}
}
func aShape(d ...int) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Shape{Shape: shapeProto(d...)}}
}
func aTensor(tp *tfpb.TensorProto) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Tensor{Tensor: tp}}
}
func aS(s string) *tfpb.AttrValue  { return &tfpb.AttrValue{Value: &tfpb.AttrValue_S{S: []byte(s)}} }
func aI(i int64) *tfpb.AttrValue   { return &tfpb.AttrValue{Value: &tfpb.AttrValue_I{I: i}} }
func aF(f float32) *tfpb.AttrValue { return &tfpb.AttrValue{Value: &tfpb.AttrValue_F{F: f}} }
func aB(v bool) *tfpb.AttrValue    { return &tfpb.AttrValue{Value: &tfpb.AttrValue_B{B: v}} }
func aInts(v ...int64) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{I: v}}}
}

// run decodes a graph, compiles it with infer and runs it on one input.
func run(t *testing.T, data []byte, opt Options, inputs map[string]*tensor.Tensor) (*graph.Model, map[string]*tensor.Tensor) {
	t.Helper()
	m, err := Decode(data, opt)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, err := infer.Compile(m, infer.Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	out, err := p.Run(inputs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return m, out
}

// nd is a float64 reference tensor.
type nd struct {
	shape []int
	d     []float64
}

func newND(shape ...int) *nd {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &nd{shape: shape, d: make([]float64, n)}
}

func fromF32(shape []int, v []float32) *nd {
	a := newND(shape...)
	for i, x := range v {
		a.d[i] = float64(x)
	}
	return a
}

func (a *nd) at4(n, h, w, c int) *float64 {
	s := a.shape
	return &a.d[((n*s[1]+h)*s[2]+w)*s[3]+c]
}

func (a *nd) tensor() *tensor.Tensor {
	v := make([]float32, len(a.d))
	for i, x := range a.d {
		v[i] = float32(x)
	}
	return tensor.FromFloat32(tensor.Shape(a.shape), v)
}

func (a *nd) mapf(f func(float64) float64) *nd {
	out := newND(a.shape...)
	for i, x := range a.d {
		out.d[i] = f(x)
	}
	return out
}

// transpose4 permutes a 4-D tensor.
func (a *nd) transpose4(perm ...int) *nd {
	out := make([]int, 4)
	for i, p := range perm {
		out[i] = a.shape[p]
	}
	r := newND(out...)
	idx := make([]int, 4)
	for idx[0] = 0; idx[0] < a.shape[0]; idx[0]++ {
		for idx[1] = 0; idx[1] < a.shape[1]; idx[1]++ {
			for idx[2] = 0; idx[2] < a.shape[2]; idx[2]++ {
				for idx[3] = 0; idx[3] < a.shape[3]; idx[3]++ {
					*r.at4(idx[perm[0]], idx[perm[1]], idx[perm[2]], idx[perm[3]]) = *a.at4(idx[0], idx[1], idx[2], idx[3])
				}
			}
		}
	}
	return r
}

func randND(r *rand.Rand, shape ...int) *nd {
	a := newND(shape...)
	for i := range a.d {
		a.d[i] = float64(float32(r.Float64()*2 - 1))
	}
	return a
}

// samePads computes TensorFlow's SAME padding for one axis.
func samePads(in, k, s, d int) (int, int) {
	ke := (k-1)*d + 1
	out := (in + s - 1) / s
	total := max((out-1)*s+ke-in, 0)
	return total / 2, total - total/2
}

// refConv is an NHWC convolution with an HWIO filter (or, for depthwise, an
// HWCM one) and pads top, left, bottom, right.
func refConv(x *nd, f *nd, sh, sw, dh, dw int, pads [4]int, depthwise bool) *nd {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	kh, kw, ci, co := f.shape[0], f.shape[1], f.shape[2], f.shape[3]
	oh := (h+pads[0]+pads[2]-((kh-1)*dh+1))/sh + 1
	ow := (w+pads[1]+pads[3]-((kw-1)*dw+1))/sw + 1
	outC := co
	if depthwise {
		outC = ci * co
	}
	y := newND(n, oh, ow, outC)
	for b := 0; b < n; b++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for oc := 0; oc < outC; oc++ {
					s := 0.0
					for p := 0; p < kh; p++ {
						for q := 0; q < kw; q++ {
							yi, xj := i*sh+p*dh-pads[0], j*sw+q*dw-pads[1]
							if yi < 0 || yi >= h || xj < 0 || xj >= w {
								continue
							}
							if depthwise {
								cc, m := oc/co, oc%co
								s += *x.at4(b, yi, xj, cc) * *f.at4(p, q, cc, m)
								continue
							}
							for cc := 0; cc < c; cc++ {
								s += *x.at4(b, yi, xj, cc) * *f.at4(p, q, cc, oc)
							}
						}
					}
					*y.at4(b, i, j, oc) = s
				}
			}
		}
	}
	return y
}

// refPool is an NHWC max or average pool; the average leaves padding out.
func refPool(x *nd, kh, kw, sh, sw int, pads [4]int, avg bool) *nd {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh := (h+pads[0]+pads[2]-kh)/sh + 1
	ow := (w+pads[1]+pads[3]-kw)/sw + 1
	y := newND(n, oh, ow, c)
	for b := 0; b < n; b++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for cc := 0; cc < c; cc++ {
					s, cnt, mx := 0.0, 0, math.Inf(-1)
					for p := 0; p < kh; p++ {
						for q := 0; q < kw; q++ {
							yi, xj := i*sh+p-pads[0], j*sw+q-pads[1]
							if yi < 0 || yi >= h || xj < 0 || xj >= w {
								continue
							}
							v := *x.at4(b, yi, xj, cc)
							s += v
							cnt++
							mx = math.Max(mx, v)
						}
					}
					if avg {
						*y.at4(b, i, j, cc) = s / float64(cnt)
					} else {
						*y.at4(b, i, j, cc) = mx
					}
				}
			}
		}
	}
	return y
}

// refChannel applies f(value, channel) to an NHWC tensor.
func refChannel(x *nd, f func(v float64, c int) float64) *nd {
	c := x.shape[len(x.shape)-1]
	out := newND(x.shape...)
	for i, v := range x.d {
		out.d[i] = f(v, i%c)
	}
	return out
}

// refSpatialMean averages an NHWC tensor over H and W, giving [N, C].
func refSpatialMean(x *nd) *nd {
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	y := newND(n, c)
	for b := 0; b < n; b++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				for cc := 0; cc < c; cc++ {
					y.d[b*c+cc] += *x.at4(b, i, j, cc) / float64(h*w)
				}
			}
		}
	}
	return y
}

// refMatMul multiplies [M,K] by [K,N].
func refMatMul(a, b *nd) *nd {
	m, k, n := a.shape[0], a.shape[1], b.shape[1]
	y := newND(m, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				y.d[i*n+j] += a.d[i*k+p] * b.d[p*n+j]
			}
		}
	}
	return y
}

func refSoftmax(a *nd) *nd {
	c := a.shape[len(a.shape)-1]
	y := newND(a.shape...)
	for r := 0; r < len(a.d)/c; r++ {
		row := a.d[r*c : (r+1)*c]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		s := 0.0
		for j, v := range row {
			y.d[r*c+j] = math.Exp(v - mx)
			s += y.d[r*c+j]
		}
		for j := range row {
			y.d[r*c+j] /= s
		}
	}
	return y
}

// compare checks shape, closeness and the top-1 of every row.
func compare(t *testing.T, what string, got *tensor.Tensor, want *nd, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no output", what)
	}
	if !got.Shape.Equal(tensor.Shape(want.shape)) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, want.shape)
	}
	worst := 0.0
	for i, w := range want.d {
		d := math.Abs(float64(got.F32[i]) - w)
		if d > tol*(1+math.Abs(w)) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, got.F32[i], w)
		}
		worst = max(worst, d)
	}
	if len(want.shape) == 2 {
		c := want.shape[1]
		for r := 0; r < want.shape[0]; r++ {
			wv := want.tensor().F32[r*c : (r+1)*c]
			if tensor.ArgMax(got.F32[r*c:(r+1)*c]) != tensor.ArgMax(wv) {
				t.Fatalf("%s: row %d top-1 differs", what, r)
			}
		}
	}
	t.Logf("%s: max abs difference %.2g", what, worst)
}

func countOps(m *graph.Model, op string) int {
	k := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == op {
			k++
		}
	}
	return k
}
