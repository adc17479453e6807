package quantize

import (
	"io/fs"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/internal/demozoo"
)

// TestParamCountSurvivesQuantization checks that graph.ParamCount of a
// quantized demo model, in every format and with contrib ops, equals that
// of the prepared float model: int8 weights and int32 biases count,
// scales and zero points do not.
func TestParamCountSurvivesQuantization(t *testing.T) {
	for _, name := range []string{"mnist-lenet", "mnist-mlp", "mnist-dws", "mnist-dws-folded"} {
		raw, err := fs.ReadFile(demozoo.FS(), "mnist/"+name+".onnx")
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnx.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Prepare(m)
		if err != nil {
			t.Fatal(err)
		}
		want := p.Graph.ParamCount()
		for _, o := range []Options{{Format: FormatQDQ}, {Format: FormatQOperator}, {Format: FormatQOperator, AllowContribOps: true},
			{Format: FormatWeightsOnly}, {Scheme: SchemeTFEightBit}} {
			q, _, err := Quantize(m, fakeRanges(p.Graph), o)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Graph.ParamCount(); got != want {
				t.Errorf("%s %+v: %d parameters, want %d as in the float model", name, o, got, want)
			}
		}
	}
}
