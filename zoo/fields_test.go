package zoo

import (
	"errors"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
)

// TestUnknownFields: a typo is named by its manifest path and line, with
// the field that was probably meant; every manifest error is config.
func TestUnknownFields(t *testing.T) {
	const head = "datasets:\n  mnist:\n    format: idx\n    classes: 10\n    images: i.gz\n    labels: l.gz\n    split: {calibration: 10}\nmodels:\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"preprocess typo", head + "  - name: a\n    file: a.onnx\n    dataset: mnist\n  - name: b\n    file: b.onnx\n    dataset: mnist\n  - name: resnet\n    file: r.onnx\n    dataset: mnist\n    preprocess:\n      mena: [0.5]\n",
			"line 19: models[2] (resnet).preprocess.mena: unknown field, did you mean mean?"},
		{"model field", head + "  - name: a\n    fiel: a.onnx\n    dataset: mnist\n", "line 10: models[0] (a).fiel: unknown field, did you mean file?"},
		{"dataset field", "datasets:\n  mnist:\n    fromat: idx\nmodels: []\n", "line 3: datasets.mnist.fromat: unknown field, did you mean format?"},
		{"inline split files", "datasets:\n  mnist:\n    format: idx\n    imgaes: x\nmodels: []\n", "datasets.mnist.imgaes: unknown field, did you mean images?"},
		{"top level, far from anything", "name: z\nzebra: 1\n", "line 2: zebra: unknown field (known: datasets, models, name)"},
		{"swapped letters", "naem: z\n", "naem: unknown field, did you mean name?"},
		{"validation error gets its line", "datasets:\n  mnist:\n    format: idx\n    classes: -3\nmodels:\n  - name: a\n    file: a.onnx\n    dataset: mnist\n",
			"line 4: datasets.mnist.classes: must be positive"},
		{"model validation line", head + "  - name: a\n    file: a.onnx\n    dataset: mnist\n  - name: b.v2\n    file: b.onnx\n    dataset: nope\n",
			"line 14: models[1] (b.v2).dataset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrManifest) || failure.KindOf(err) != failure.Config {
				t.Errorf("kind %s", failure.KindOf(err))
			}
		})
	}
}
