package quantize

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// grams measures the input moments of every LayerTaps layer of p.
func grams(t *testing.T, p *graph.Model, inputs []*tensor.Tensor) map[string]*calibrate.Gram {
	t.Helper()
	taps := LayerTaps(p)
	byInput := map[string][]*LayerTap{}
	out := map[string]*calibrate.Gram{}
	for i := range taps {
		tp := &taps[i]
		byInput[tp.Input] = append(byInput[tp.Input], tp)
		g, err := calibrate.NewGram(tp.Channels, tp.Groups, tp.Window, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[tp.Node] = g
	}
	prog, err := infer.Compile(p, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := p.Graph.Inputs[0].Name
	for _, x := range inputs {
		_, err := prog.RunObserved(map[string]*tensor.Tensor{in: x}, func(name string, v *tensor.Tensor) {
			for _, tp := range byInput[name] {
				h, w := 1, 1
				if len(v.Shape) == 4 {
					h, w = v.Shape[2], v.Shape[3]
				}
				if err := out[tp.Node].Add(v.F32, v.Shape[0], h, w); err != nil {
					t.Fatal(err)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// correlatedInputs are images whose channels and neighbouring pixels are
// correlated, as natural images and activations are: that is where
// rounding to nearest is not the best rounding of a layer.
func correlatedInputs(n int, shape tensor.Shape, seed int64) []*tensor.Tensor {
	rng := rand.New(rand.NewSource(seed))
	out := make([]*tensor.Tensor, n)
	c, h, w := shape[1], shape[2], shape[3]
	for i := range out {
		t := tensor.New(tensor.Float32, shape)
		base := make([]float64, h*w)
		for j := range base {
			base[j] = rng.NormFloat64()
		}
		for y := 0; y < h; y++ {
			for x := 1; x < w; x++ {
				base[y*w+x] = 0.8*base[y*w+x-1] + 0.6*base[y*w+x]
			}
		}
		for ch := 0; ch < c; ch++ {
			for j := range base {
				t.F32[ch*h*w+j] = float32(base[j] + 0.3*rng.NormFloat64() + 0.5)
			}
		}
		out[i] = t
	}
	return out
}

// AdaRound minimizes each layer's output error: on held-out inputs a
// Conv's and a Gemm's outputs are closer to float than with rounding to
// nearest, for every weight scheme.
func TestAdaRoundLowersLayerError(t *testing.T) {
	conv := newBuilder(13, "x")
	conv.randInit("w", 16, 8, 3, 3)
	conv.randInit("b", 16)
	conv.node("Conv", "conv", []string{"x", "w", "b"}, []string{"y"}, nil)
	gemm := newBuilder(13, "x")
	gemm.randInit("fc", 12, 128)
	gemm.node("Flatten", "", []string{"x"}, []string{"f"}, nil)
	gemm.node("Gemm", "fc", []string{"f", "fc"}, []string{"y"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
	for _, layer := range []struct {
		name  string
		m     *graph.Model
		shape tensor.Shape
	}{{"conv", conv.output("y"), tensor.Shape{1, 8, 8, 8}}, {"gemm", gemm.output("y"), tensor.Shape{1, 2, 8, 8}}} {
		p, err := Prepare(layer.m)
		if err != nil {
			t.Fatal(err)
		}
		calib := correlatedInputs(32, layer.shape, 1)
		eval := correlatedInputs(32, layer.shape, 2)
		_, ranges := runAll(t, p, false, calib)
		gr := grams(t, p, calib)
		ref, _ := runAll(t, p, false, eval)
		for _, s := range []Scheme{SchemeU8S8Tensor, SchemeU8S8Channel, SchemeTFEightBit} {
			t.Run(layer.name+"/"+string(s), func(t *testing.T) {
				opts := Options{Scheme: s, Format: FormatWeightsOnly}
				plain, _, err := Quantize(p, ranges, opts)
				if err != nil {
					t.Fatal(err)
				}
				opts.AdaRound, opts.AdaRoundIters = gr, 300
				ada, sum, err := Quantize(p, ranges, opts)
				if err != nil {
					t.Fatal(err)
				}
				a, _ := runAll(t, plain, true, eval)
				d, _ := runAll(t, ada, true, eval)
				qa, qd := sqnr(ref, a), sqnr(ref, d)
				t.Logf("%d weights flipped; output SQNR on held-out inputs %.2f → %.2f dB", sum.AdaRoundFlipped, qa, qd)
				if sum.AdaRounded != 1 || sum.AdaRoundFlipped == 0 {
					t.Errorf("AdaRound rounded %d layers, flipped %d weights", sum.AdaRounded, sum.AdaRoundFlipped)
				}
				if qd < qa+0.5 {
					t.Errorf("AdaRound gains %.2f dB, want at least 0.5", qd-qa)
				}
				again, _, err := Quantize(p, ranges, opts)
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range ada.Graph.InitializerNames() {
					x, y := ada.Graph.Initializers[name], again.Graph.Initializers[name]
					if !slices.Equal(x.I8, y.I8) || !slices.Equal(x.U8, y.U8) {
						t.Errorf("%s differs between two runs", name)
					}
				}
			})
		}
	}
}

func TestAdaRoundSolverNeverWorseThanNearest(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	const k = 12
	for trial := 0; trial < 20; trial++ {
		// A random positive semi-definite G.
		a := make([]float64, k*k)
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		g := make([]float64, k*k)
		for r := 0; r < k; r++ {
			for c := 0; c < k; c++ {
				for j := 0; j < k; j++ {
					g[r*k+c] += a[r*k+j] * a[c*k+j]
				}
			}
		}
		sol := newAdaSolver(k)
		for j := range sol.w {
			sol.w[j] = rng.NormFloat64()
		}
		_, before, after := sol.solve(g, 0.05, 0, -128, 127, 200)
		if after > before {
			t.Fatalf("trial %d: %.6g after, %.6g before", trial, after, before)
		}
	}
}

func TestDetExpAndLog(t *testing.T) {
	for _, x := range []float64{0, -1e-9, -0.3, -1, -2.5, -10, -40, -700, -745, -800} {
		got, want := detExp(x), math.Exp(x)
		if want != 0 && math.Abs(got-want) > 4e-16*want || want == 0 && got != 0 {
			t.Errorf("detExp(%g) = %.17g, math.Exp %.17g", x, got, want)
		}
	}
	for _, x := range []float64{1e-6, 0.09, 0.5, 1, 2, 11, 1e6} {
		if got, want := detLog(x), math.Log(x); math.Abs(got-want) > 1e-14*(1+math.Abs(want)) {
			t.Errorf("detLog(%g) = %.17g, math.Log %.17g", x, got, want)
		}
	}
}
