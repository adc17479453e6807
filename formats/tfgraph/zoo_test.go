package tfgraph

import (
	"testing"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
)

// TestZooMNIST imports the frozen 784-256-256-10 MLP of the shared zoo and
// checks its float top-1 on MNIST t10k (pixels x/255): exactly 95.48%.
func TestZooMNIST(t *testing.T) {
	pb := zootest.ReadFile(t, "models", "tf", "fc-layers-frozen.pb")
	im, err := dataset.DecodeIDXImages(zootest.ReadFile(t, "data", "mnist", "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := dataset.DecodeIDXLabels(zootest.ReadFile(t, "data", "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(pb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "X" || len(g.Outputs) != 1 || g.Outputs[0].Name != "output" {
		t.Fatalf("inputs %v, outputs %v; want X and output", g.Inputs, g.Outputs)
	}
	p, err := infer.Compile(m, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const batch = 500
	pix := im.H * im.W
	correct := 0
	for start := 0; start < im.N; start += batch {
		end := min(start+batch, im.N)
		x := tensor.New(tensor.Float32, tensor.Shape{end - start, pix})
		for i := range x.F32 {
			x.F32[i] = float32(im.Pix[start*pix+i]) / 255
		}
		out, err := p.Run(map[string]*tensor.Tensor{"X": x})
		if err != nil {
			t.Fatal(err)
		}
		y := out["output"]
		classes := y.Shape[1]
		for i := 0; i < end-start; i++ {
			if tensor.ArgMax(y.F32[i*classes:(i+1)*classes]) == labels[start+i] {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(im.N) * 100
	t.Logf("MNIST t10k float top-1: %d/%d = %.2f%%", correct, im.N, acc)
	if correct != 9548 {
		t.Errorf("top-1 %d/%d (%.2f%%), want 9548 (95.48%%)", correct, im.N, acc)
	}
}
