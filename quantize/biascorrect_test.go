package quantize

import (
	"math"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// tapMeans measures the tap means of every LayerTaps layer of p on inputs.
func tapMeans(t *testing.T, p *graph.Model, inputs []*tensor.Tensor) map[string]*calibrate.TapMean {
	t.Helper()
	taps := LayerTaps(p)
	byInput := map[string][]*LayerTap{}
	out := map[string]*calibrate.TapMean{}
	for i := range taps {
		tp := &taps[i]
		byInput[tp.Input] = append(byInput[tp.Input], tp)
		out[tp.Node] = calibrate.NewTapMean(tp.Channels, tp.Window)
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

// meanShift returns the mean over output elements of |E[ref − got]|, the
// expectation taken per output channel (axis 1) over samples and positions.
func meanShift(ref, got [][]float32, channels int) float64 {
	d := make([]float64, channels)
	n := make([]float64, channels)
	for s := range ref {
		per := len(ref[s]) / channels
		for i := range ref[s] {
			c := i / per
			d[c] += float64(ref[s][i]) - float64(got[s][i])
			n[c]++
		}
	}
	var sum float64
	for c := range d {
		sum += math.Abs(d[c] / n[c])
	}
	return sum / float64(channels)
}

func TestBiasCorrectionRemovesOutputShift(t *testing.T) {
	// Equalized, so that activation quantization does not drown the
	// weights' error.
	p, _, err := Equalize(skewedChain())
	if err != nil {
		t.Fatal(err)
	}
	calib := randomInputs(32, tensor.Shape{1, 3, 8, 8}, 7)
	for _, x := range calib {
		for i := range x.F32 {
			x.F32[i] += 1 // inputs with a mean: the shift shows
		}
	}
	eval := randomInputs(32, tensor.Shape{1, 3, 8, 8}, 8)
	for _, x := range eval {
		for i := range x.F32 {
			x.F32[i] += 1
		}
	}
	_, ranges := runAll(t, p, false, calib)
	taps := tapMeans(t, p, calib)
	if len(taps) != 3 {
		t.Fatalf("%d layers to correct, want 3", len(taps))
	}
	ref, _ := runAll(t, p, false, eval)
	// Weights only: the weights' error is the whole error, which the
	// correction removes on average; with 8-bit activations too it must
	// not make the output worse.
	for _, tc := range []struct {
		s Scheme
		f Format
	}{{SchemeU8S8Tensor, FormatWeightsOnly}, {SchemeU8S8Channel, FormatWeightsOnly}, {SchemeU8S8Tensor, FormatQDQ}, {SchemeU8S8Channel, FormatQDQ}} {
		s := string(tc.s) + "/" + string(tc.f)
		plain, _, err := Quantize(p, ranges, Options{Scheme: tc.s, Format: tc.f})
		if err != nil {
			t.Fatal(err)
		}
		corr, sum, err := Quantize(p, ranges, Options{Scheme: tc.s, Format: tc.f, BiasCorrection: taps})
		if err != nil {
			t.Fatal(err)
		}
		if sum.BiasCorrected != 3 {
			t.Errorf("%s: %d biases corrected, want 3", s, sum.BiasCorrected)
		}
		a, _ := runAll(t, plain, true, eval)
		b, _ := runAll(t, corr, true, eval)
		sa, sb := meanShift(ref, a, 4), meanShift(ref, b, 4)
		qa, qb := sqnr(ref, a), sqnr(ref, b)
		t.Logf("%s: mean output shift %.4g → %.4g, SQNR %.1f → %.1f dB", s, sa, sb, qa, qb)
		if tc.f == FormatWeightsOnly && sb > sa/2 {
			t.Errorf("%s: bias correction leaves a mean shift of %.4g (from %.4g)", s, sb, sa)
		}
		if qb < qa-0.5 {
			t.Errorf("%s: bias correction lowers SQNR from %.1f to %.1f dB", s, qa, qb)
		}
	}
	// Without tap means nothing changes.
	q1, _, _ := Quantize(p, ranges, Options{})
	q2, sum, _ := Quantize(p, ranges, Options{BiasCorrection: map[string]*calibrate.TapMean{}})
	if sum.BiasCorrected != 0 || len(q1.Graph.Initializers) != len(q2.Graph.Initializers) {
		t.Error("an empty tap table changed the model")
	}
}

func TestLayerTapsGeometry(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 8, 2, 3, 5)
	b.randInit("fc", 10, 8)
	b.node("Conv", "c", []string{"x", "w"}, []string{"y"}, map[string]*graph.Attr{
		"group": graph.IntAttr(2), "strides": graph.IntsAttr(2, 1), "pads": graph.IntsAttr(1, 2, 0, 2), "dilations": graph.IntsAttr(1, 2)})
	b.node("GlobalAveragePool", "", []string{"y"}, []string{"g"}, nil)
	b.node("Flatten", "", []string{"g"}, []string{"f"}, nil)
	b.node("Gemm", "fc", []string{"f", "fc"}, []string{"z"}, map[string]*graph.Attr{"transB": graph.IntAttr(1)})
	taps := LayerTaps(b.output("z"))
	want := []LayerTap{
		{Node: "y", Input: "x", Channels: 4, Groups: 2, Window: calibrate.Window{KH: 3, KW: 5, StrideH: 2, StrideW: 1, DilH: 1, DilW: 2, PadTop: 1, PadLeft: 2, PadRight: 2, AutoPad: "NOTSET"}},
		{Node: "z", Input: "f", Channels: 8, Groups: 1, Window: calibrate.Window{KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}},
	}
	if len(taps) != len(want) {
		t.Fatalf("taps %+v", taps)
	}
	for i := range want {
		if taps[i] != want[i] {
			t.Errorf("tap %d: %+v, want %+v", i, taps[i], want[i])
		}
	}
}
