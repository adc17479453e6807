package zoo

import (
	"errors"
	"strings"
	"testing"
)

const good = `
name: demo
datasets:
  mnist:
    format: idx
    classes: 10
    calibration: {images: d/train-images.gz, labels: d/train-labels.gz}
    evaluation: {images: d/t10k-images.gz, labels: d/t10k-labels.gz}
models:
  - name: lenet
    file: m/lenet.onnx
    dataset: mnist
    preprocess: {scale: 0.00392156862745098}
  - name: mlp
    file: m/mlp.onnx
    format: onnx
    dataset: mnist
    input: input
    preprocess: {scale: 1, mean: [0.5], std: [0.5], layout: NCHW, shape: [784, 1]}
`

func TestParse(t *testing.T) {
	m, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Models) != 2 || m.Models[0].Format != "onnx" || m.Models[1].Preprocess.Shape[0] != 784 {
		t.Fatalf("%+v", m.Models[1])
	}
	if m.Datasets["mnist"].Evaluation.Labels != "d/t10k-labels.gz" {
		t.Fatal("dataset")
	}
}

func TestParseErrors(t *testing.T) {
	table := []struct {
		name, from, to, want string
	}{
		{"unknown field", "    dataset: mnist\n    preprocess: {scale: 0.00392156862745098}", "    dataset: mnist\n    colour: red", "colour"},
		{"escape", "file: m/lenet.onnx", "file: ../lenet.onnx", "escapes the zoo"},
		{"absolute", "file: m/lenet.onnx", "file: /etc/lenet.onnx", "relative"},
		{"url", "file: m/lenet.onnx", "file: s3://other/lenet.onnx", "relative"},
		{"dup", "name: mlp", "name: lenet", "duplicate"},
		{"dataset", "    file: m/mlp.onnx\n    format: onnx\n    dataset: mnist", "    file: m/mlp.onnx\n    format: onnx\n    dataset: cifar", `"cifar" is not listed`},
		{"format", "format: idx", "format: parquet", "not supported"},
		{"model format", "format: onnx", "format: tflite", "not supported"},
		{"classes", "classes: 10", "classes: 0", "classes"},
		{"layout", "layout: NCHW", "layout: CHW", "layout"},
		{"std", "std: [0.5]", "std: [0]", "std"},
		{"name", "name: lenet", "name: 'a b'", "name"},
		{"split", "    evaluation: {images: d/t10k-images.gz, labels: d/t10k-labels.gz}\n", "", "evaluation: missing"},
	}
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(good, c.from, c.to, 1)
			if src == good {
				t.Fatalf("replacement %q not applied", c.from)
			}
			_, err := Parse([]byte(src))
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrManifest mentioning %q", err, c.want)
			}
		})
	}
	if _, err := Parse(nil); !errors.Is(err, ErrManifest) {
		t.Fatalf("empty: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("models: []"))
	// Typos and validation errors, which look fields and lines up.
	f.Add([]byte("datasets:\n  mnist:\n    fromat: idx\nmodels: []\n"))
	f.Add([]byte("datasets:\n  m.x:\n    format: idx\n    classes: -3\nmodels:\n  - name: a (b).c\n    file: a.onnx\n    dataset: m.x\n    preprocess: {mena: [1]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Parse(b)
	})
}
