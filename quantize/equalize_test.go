package quantize

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// skewedChain builds x → Conv a (3→8) → Clip(0,6) → depthwise Conv b →
// Relu → Conv c (8→4) → y whose channel ranges differ by up to 1000x: the
// float function of an equalized chain, rescaled channel by channel as
// training can leave it.
func skewedChain() *graph.Model {
	b := newBuilder(13, "x")
	wa := b.randInit("wa", 8, 3, 3, 3)
	ba := b.randInit("ba", 8)
	wb := b.randInit("wb", 8, 1, 3, 3)
	b.randInit("bb", 8)
	wc := b.randInit("wc", 4, 8, 1, 1)
	b.randInit("bc", 4)
	// Channel i of a scaled by f_i and b's input channel i by 1/f_i;
	// the same between b and c.
	for i := 0; i < 8; i++ {
		f := math.Pow(10, float64(i%4)-1.5)
		scaleOutChannel(wa, i, f)
		ba.F32[i] *= float32(f)
		scaleInChannel(wb, 8, i, 1/f)
		g := math.Pow(10, float64((i+2)%4)-1.5)
		scaleOutChannel(wb, i, g)
		b.m.Graph.Initializers["bb"].F32[i] *= float32(g)
		scaleInChannel(wc, 1, i, 1/g)
	}
	// The Clip bound follows a's scale so that the function is that of a
	// plain Relu6 chain on the unscaled weights only where f = 1; it does
	// not matter for equalization, which keeps any function.
	b.init("lo", tensor.ScalarFloat32(0))
	b.init("hi", tensor.ScalarFloat32(6))
	pads := map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)}
	b.node("Conv", "a", []string{"x", "wa", "ba"}, []string{"ya"}, pads)
	b.node("Clip", "clip", []string{"ya", "lo", "hi"}, []string{"za"}, nil)
	b.node("Conv", "b", []string{"za", "wb", "bb"}, []string{"yb"}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1), "group": graph.IntAttr(8)})
	b.node("Relu", "relu", []string{"yb"}, []string{"zb"}, nil)
	b.node("Conv", "c", []string{"zb", "wc", "bc"}, []string{"y"}, nil)
	m := b.output("y")
	m.Graph.Inputs[0].Shape = []graph.Dim{{Value: 1}, {Value: 3}, {Value: 8}, {Value: 8}}
	return m
}

func randomInputs(n int, shape tensor.Shape, seed int64) []*tensor.Tensor {
	rng := rand.New(rand.NewSource(seed))
	out := make([]*tensor.Tensor, n)
	for i := range out {
		t := tensor.New(tensor.Float32, shape)
		for j := range t.F32 {
			t.F32[j] = float32(rng.NormFloat64())
		}
		out[i] = t
	}
	return out
}

// runAll runs m on every input and returns the outputs of its first
// graph output, and the min/max of every float tensor seen.
func runAll(t *testing.T, m *graph.Model, integer bool, inputs []*tensor.Tensor) ([][]float32, map[string]qmath.Range) {
	t.Helper()
	p, err := infer.Compile(m, infer.Options{Integer: integer})
	if err != nil {
		t.Fatal(err)
	}
	in, out := m.Graph.Inputs[0].Name, m.Graph.Outputs[0].Name
	ranges := map[string]qmath.Range{}
	var res [][]float32
	for _, x := range inputs {
		got, err := p.RunObserved(map[string]*tensor.Tensor{in: x}, func(name string, v *tensor.Tensor) {
			if v.DType != tensor.Float32 {
				return
			}
			r, ok := ranges[name]
			for _, f := range v.F32 {
				if !ok {
					r, ok = qmath.Range{Min: f, Max: f}, true
				}
				r.Min, r.Max = min(r.Min, f), max(r.Max, f)
			}
			ranges[name] = r
		})
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, slices.Clone(got[out].F32))
	}
	return res, ranges
}

// sqnr returns 10·log10(Σref² / Σ(ref−got)²) over all outputs.
func sqnr(ref, got [][]float32) float64 {
	var s, e float64
	for i := range ref {
		for j, r := range ref[i] {
			d := float64(r) - float64(got[i][j])
			s += float64(r) * float64(r)
			e += d * d
		}
	}
	return 10 * math.Log10(s/e)
}

func maxRelDiff(a, b [][]float32) float64 {
	var worst, scale float64
	for i := range a {
		for j := range a[i] {
			worst = math.Max(worst, math.Abs(float64(a[i][j])-float64(b[i][j])))
			scale = math.Max(scale, math.Abs(float64(a[i][j])))
		}
	}
	return worst / scale
}

func TestEqualizeKeepsFunctionAndEqualizesRanges(t *testing.T) {
	m := skewedChain()
	eq, sum, err := Equalize(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`Conv "a" → Conv "b"`, `Conv "b" → Conv "c"`}; !slices.Equal(sum.Pairs, want) {
		t.Errorf("pairs %q, want %q", sum.Pairs, want)
	}
	if sum.Clips != 1 || !slices.Equal(opTypes(eq.Graph), []string{"Conv", "Relu", "Min", "Conv", "Relu", "Conv"}) {
		t.Errorf("clips %d, ops %v", sum.Clips, opTypes(eq.Graph))
	}
	// m is not changed.
	if !slices.Equal(opTypes(m.Graph), []string{"Conv", "Clip", "Conv", "Relu", "Conv"}) {
		t.Errorf("input model changed: %v", opTypes(m.Graph))
	}
	inputs := randomInputs(8, tensor.Shape{1, 3, 8, 8}, 2)
	before, _ := runAll(t, m, false, inputs)
	after, _ := runAll(t, eq, false, inputs)
	if d := maxRelDiff(before, after); d > 1e-5 {
		t.Errorf("equalized float outputs differ by %.2g of the output range", d)
	}
	// After equalization both sides of every pair have the same range per
	// channel.
	g := eq.Graph
	for _, pair := range [][2]string{{"a", "b"}, {"b", "c"}} {
		a, b := nodeByName(g, pair[0]), nodeByName(g, pair[1])
		r1 := outChannelRanges(g.Initializers[a.Input(1)])
		r2 := inChannelRanges(g.Initializers[b.Input(1)], int(b.AttrInt("group", 1)))
		for i := range r1 {
			if math.Abs(r1[i]-r2[i]) > 1e-3*r1[i] {
				t.Errorf("%s→%s channel %d: ranges %.4g and %.4g", pair[0], pair[1], i, r1[i], r2[i])
			}
		}
	}
	// Deterministic.
	again, _, err := Equalize(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range g.InitializerNames() {
		if !slices.Equal(g.Initializers[name].F32, again.Graph.Initializers[name].F32) {
			t.Errorf("initializer %s differs between two runs", name)
		}
	}
}

// Per-tensor weights fail on channels of very different ranges; equalized,
// the same scheme is close to per-channel weights.
func TestEqualizeRescuesPerTensorWeights(t *testing.T) {
	m := skewedChain()
	eq, _, err := Equalize(m)
	if err != nil {
		t.Fatal(err)
	}
	calib := randomInputs(16, tensor.Shape{1, 3, 8, 8}, 3)
	eval := randomInputs(16, tensor.Shape{1, 3, 8, 8}, 4)
	ref, _ := runAll(t, m, false, eval)
	score := func(m *graph.Model, s Scheme) float64 {
		_, r := runAll(t, m, false, calib)
		q, _, err := Quantize(m, r, Options{Scheme: s})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := runAll(t, q, true, eval)
		return sqnr(ref, got)
	}
	plain, equalized := score(m, SchemeU8S8Tensor), score(eq, SchemeU8S8Tensor)
	channel := score(m, SchemeU8S8Channel)
	t.Logf("SQNR per-tensor %.1f dB, equalized per-tensor %.1f dB, per-channel %.1f dB", plain, equalized, channel)
	if equalized < plain+10 {
		t.Errorf("equalization gains %.1f dB on per-tensor weights, want at least 10", equalized-plain)
	}
}

func TestEqualizeLeavesIneligibleChains(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(b *builder)
	}{
		{"sigmoid between", func(b *builder) {
			b.node("Sigmoid", "s", []string{"ya"}, []string{"za"}, nil)
		}},
		{"clip from -1", func(b *builder) {
			b.init("lo", tensor.ScalarFloat32(-1))
			b.init("hi", tensor.ScalarFloat32(6))
			b.node("Clip", "clip", []string{"ya", "lo", "hi"}, []string{"za"}, nil)
		}},
		{"branch", func(b *builder) {
			b.node("Relu", "r", []string{"ya"}, []string{"za"}, nil)
			b.node("Relu", "r2", []string{"ya"}, []string{"extra"}, nil)
			b.m.Graph.Outputs = append(b.m.Graph.Outputs, graph.ValueInfo{Name: "extra", DType: tensor.Float32})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(13, "x")
			b.randInit("wa", 4, 3, 1, 1)
			b.randInit("wb", 2, 4, 1, 1)
			b.node("Conv", "a", []string{"x", "wa"}, []string{"ya"}, nil)
			tc.edit(b)
			b.node("Conv", "b", []string{"za", "wb"}, []string{"y"}, nil)
			m := b.output("y")
			eq, sum, err := Equalize(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Pairs) != 0 || !slices.Equal(eq.Graph.Initializers["wa"].F32, m.Graph.Initializers["wa"].F32) {
				t.Errorf("equalized %v", sum.Pairs)
			}
		})
	}
}

// The shared zoo's MobileNetV2 (depthwise, Clip(0,6), residual adds):
// every Conv → Clip → Conv pair is equalized and the float outputs stay.
func TestEqualizeMobileNetV2(t *testing.T) {
	data := zootest.ReadFile(t, "models", "trained", "cifar10", "cifar-mobilenetv2.onnx")
	m, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	eq, sum, err := Equalize(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d pairs, %d clips, %d sweeps", len(sum.Pairs), sum.Clips, sum.Sweeps)
	if len(sum.Pairs) < 30 || sum.Clips < 30 {
		t.Errorf("%d pairs and %d clips equalized, want at least 30 of each", len(sum.Pairs), sum.Clips)
	}
	inputs := randomInputs(4, tensor.Shape{1, 3, 32, 32}, 5)
	before, _ := runAll(t, p, false, inputs)
	after, _ := runAll(t, eq, false, inputs)
	if d := maxRelDiff(before, after); d > 1e-4 {
		t.Errorf("equalized float outputs differ by %.2g of the output range", d)
	}
}
