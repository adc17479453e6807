package infer

import (
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
)

func loadProgram(t testing.TB, opts Options, rel ...string) *Program {
	t.Helper()
	m, err := onnx.Decode(zootest.ReadFile(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// countCorrect runs images [0, n) through p in batches (1 when the batch
// dimension is fixed) on all cores and returns the number of correct top-1
// predictions.
func countCorrect(t *testing.T, p *Program, im *dataset.Images, labels []int, pre dataset.Preprocess, n int) int {
	t.Helper()
	info := p.InputInfo()[0]
	batch := 100
	if len(info.Shape) > 0 && info.Shape[0].Value > 0 && info.Shape[0].Param == "" {
		batch = 1
	}
	in, out := p.InputNames()[0], p.OutputNames()[0]
	var mu sync.Mutex
	correct := 0
	var firstErr error
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for start := w * batch; start < n; start += workers * batch {
				end := min(start+batch, n)
				x, err := pre.Tensor(im, start, end)
				if err == nil {
					var res map[string]*tensor.Tensor
					res, err = p.Run(map[string]*tensor.Tensor{in: x})
					if err == nil {
						y := res[out]
						classes := y.Len() / (end - start)
						c := 0
						for i := start; i < end; i++ {
							if tensor.ArgMax(y.F32[(i-start)*classes:(i-start+1)*classes]) == labels[i] {
								c++
							}
						}
						mu.Lock()
						correct += c
						mu.Unlock()
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return correct
}

func loadMNIST(t testing.TB) (*dataset.Images, []int) {
	im, err := dataset.DecodeIDXImages(zootest.ReadFile(t, "data", "mnist", "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := dataset.DecodeIDXLabels(zootest.ReadFile(t, "data", "mnist", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return im, labels
}

// TestMNISTMatchesORT checks that the float executor gets exactly ONNX
// Runtime's top-1 count on the full MNIST t10k for every MNIST model of the
// zoo (figures from the zoo README).
func TestMNISTMatchesORT(t *testing.T) {
	im, labels := loadMNIST(t)
	flat := []int{784, 1}
	cases := []struct {
		file  string
		scale float32
		shape []int
		want  int
		// want2000 is the README's count on the first 2000 images, used
		// with -short for the slower trained models (0: always full).
		want2000 int
	}{
		{"mnist/mnist-7.onnx", 1, nil, 9891, 0},
		{"mnist/opt-mnist.onnx", 1, nil, 9891, 0},
		{"mnist/convnet_avgpool.onnx", 1.0 / 255, nil, 9795, 0},
		{"mnist/convnet_maxpool.onnx", 1.0 / 255, nil, 9792, 0},
		{"mnist/mnist-net_256x2.onnx", 1.0 / 255, flat, 9808, 0},
		{"mnist/mnist-net_256x4.onnx", 1.0 / 255, flat, 9764, 0},
		{"mnist/mnist-net_256x6.onnx", 1.0 / 255, flat, 9689, 0},
		{"mnist/mnist_relu_9_200.onnx", 1.0 / 255, nil, 9495, 0},
		{"trained/mnist/mnist-lenet.onnx", 1.0 / 255, nil, 9937, 1978},
		{"trained/mnist/mnist-mlp.onnx", 1.0 / 255, nil, 9819, 1951},
		{"trained/mnist/mnist-dws.onnx", 1.0 / 255, nil, 9905, 1976},
		{"trained/mnist/mnist-dws-folded.onnx", 1.0 / 255, nil, 9905, 1976},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			p := loadProgram(t, Options{}, append([]string{"models"}, filepath.SplitList(tc.file)...)...)
			pre := dataset.Preprocess{Scale: tc.scale, Shape: tc.shape}
			start := time.Now()
			n, want := im.N, tc.want
			if testing.Short() && tc.want2000 > 0 {
				n, want = 2000, tc.want2000
			}
			got := countCorrect(t, p, im, labels, pre, n)
			t.Logf("%s: %d/%d correct (ORT %d) in %v", tc.file, got, n, want, time.Since(start).Round(time.Millisecond))
			if got != want {
				t.Errorf("%s: %d correct, ONNX Runtime %d", tc.file, got, want)
			}
		})
	}
}
