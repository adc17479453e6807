package quantize

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// The shared-zoo tests calibrate on a split disjoint from the one they
// evaluate on:
//
//   - MNIST, Fashion-MNIST: calibration = the first zooCalib images of the
//     train split; evaluation = the first zooEval images of t10k.
//   - CIFAR-10 (JPEG image folder, classes in sorted folder order):
//     calibration = files 0000-0019 of every class (200 images);
//     evaluation = files 0100 onwards of every class, zooEval/10 per class.
const zooCalib = 200

// zooEval is the evaluation subsample size; EIGHTBIT_QZOO_EVAL overrides it.
func zooEval() int {
	if v, err := strconv.Atoi(os.Getenv("EIGHTBIT_QZOO_EVAL")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return 200
	}
	return 1000
}

// zooModel is a classifier of the shared zoo with its dataset and
// preprocessing (zoo README).
type zooModel struct {
	rel  string // under models/
	data string // "mnist", "fashion" or "cifar"
	pre  dataset.Preprocess
	// batch, when set, is the only batch size ONNX Runtime runs the model
	// (and its quantized versions) with: the declared one.
	batch int
}

func (z zooModel) name() string {
	return filepath.Base(z.rel[:len(z.rel)-len(filepath.Ext(z.rel))])
}

var (
	preMNIST   = dataset.Preprocess{Scale: 1}
	preDiv     = dataset.Preprocess{Divide: 255}
	preFlat    = dataset.Preprocess{Divide: 255, Shape: []int{784, 1}}
	preMadry   = dataset.Preprocess{Divide: 255, Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2471, 0.2435, 0.2616}}
	preKW      = dataset.Preprocess{Divide: 255, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.225}}
	preTF      = dataset.Preprocess{Divide: 255, Layout: dataset.NHWC}
	preTrained = dataset.Preprocess{Divide: 255, Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}
	preShah    = dataset.Preprocess{Divide: 255, Mean: []float32{0.5}, Std: []float32{0.5}}
)

// zooModels lists every model of models/ except structure/ (and the
// TensorFlow GraphDef in tf/, which is not ONNX).
var zooModels = []zooModel{
	{"mnist/mnist-7.onnx", "mnist", preMNIST, 0},
	{"mnist/opt-mnist.onnx", "mnist", preMNIST, 0},
	{"mnist/convnet_avgpool.onnx", "mnist", preDiv, 0},
	{"mnist/convnet_maxpool.onnx", "mnist", preDiv, 0},
	{"mnist/mnist-net_256x2.onnx", "mnist", preFlat, 0},
	{"mnist/mnist-net_256x4.onnx", "mnist", preFlat, 0},
	{"mnist/mnist-net_256x6.onnx", "mnist", preFlat, 0},
	{"mnist/mnist_relu_9_200.onnx", "mnist", preDiv, 0},
	{"trained/mnist/mnist-lenet.onnx", "mnist", preDiv, 0},
	{"trained/mnist/mnist-mlp.onnx", "mnist", preDiv, 0},
	{"trained/mnist/mnist-dws.onnx", "mnist", preDiv, 0},
	{"trained/mnist/mnist-dws-folded.onnx", "mnist", preDiv, 0},
	{"fashion/fashion_mnist_edwin19.onnx", "fashion", preDiv, 128},
	{"fashion/fashion_mnist_shahjahan.onnx", "fashion", preShah, 0},
	{"cifar10/resnet_2b.onnx", "cifar", preMadry, 0},
	{"cifar10/resnet_4b.onnx", "cifar", preMadry, 0},
	{"cifar10/cifar_base_kw.onnx", "cifar", preKW, 0},
	{"cifar10/cifar_wide_kw.onnx", "cifar", preKW, 0},
	{"cifar10/cifar_deep_kw.onnx", "cifar", preKW, 0},
	{"cifar10/cifar10_small.onnx", "cifar", preTF, 0},
	{"cifar10/cifar10_medium.onnx", "cifar", preTF, 0},
	{"cifar10/cifar10_large.onnx", "cifar", preTF, 0},
	{"trained/cifar10/cifar-mobilenetv2.onnx", "cifar", preTrained, 0},
	{"trained/cifar10/cifar-mobilenetv2-folded.onnx", "cifar", preTrained, 0},
	{"trained/cifar10/cifar-resnet8.onnx", "cifar", preTrained, 0},
	{"trained/cifar10/cifar-resnet8-folded.onnx", "cifar", preTrained, 0},
}

// split is a block of equally sized images with labels.
type split struct {
	im     *dataset.Images
	labels []int
}

var (
	splitMu    sync.Mutex
	splitCache = map[string]*split{}
)

// zooSplit returns the calibration ("calib") or evaluation ("eval") images
// of a dataset (see zooCalib).
func zooSplit(t testing.TB, data, which string) *split {
	t.Helper()
	key := data + "/" + which + "/" + strconv.Itoa(zooEval())
	splitMu.Lock()
	defer splitMu.Unlock()
	if s := splitCache[key]; s != nil {
		return s
	}
	var s *split
	switch data {
	case "mnist", "fashion":
		dir := map[string]string{"mnist": "mnist", "fashion": "fashion-mnist"}[data]
		part, n := "train", zooCalib
		if which == "eval" {
			part, n = "t10k", zooEval()
		}
		im, err := dataset.DecodeIDXImages(zootest.ReadFile(t, "data", dir, part+"-images-idx3-ubyte.gz"))
		if err != nil {
			t.Fatal(err)
		}
		lb, err := dataset.DecodeIDXLabels(zootest.ReadFile(t, "data", dir, part+"-labels-idx1-ubyte.gz"))
		if err != nil {
			t.Fatal(err)
		}
		n = min(n, im.N)
		im.N = n
		im.Pix = im.Pix[:n*im.H*im.W*im.C]
		s = &split{im, lb[:n]}
	case "cifar":
		first, per := 0, zooCalib/10
		if which == "eval" {
			first, per = 100, (zooEval()+9)/10
		}
		s = loadCIFARFiles(t, first, per)
	default:
		t.Fatalf("unknown dataset %q", data)
	}
	splitCache[key] = s
	return s
}

var cifarClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// loadCIFARFiles decodes files first .. first+per-1 of every class of the
// CIFAR-10 test image folder, class by class, as NHWC RGB.
func loadCIFARFiles(t testing.TB, first, per int) *split {
	root := zootest.Path(t, "data", "cifar10", "test")
	var paths []string
	var labels []int
	for c, name := range cifarClasses {
		for i := first; i < first+per; i++ {
			paths = append(paths, filepath.Join(root, name, fmt.Sprintf("%04d.jpg", i)))
			labels = append(labels, c)
		}
	}
	im := &dataset.Images{N: len(paths), H: 32, W: 32, C: 3, Pix: make([]uint8, len(paths)*32*32*3)}
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(paths); i += workers {
				errs[i] = decodeJPEG(paths[i], im.Pix[i*3072:(i+1)*3072])
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return &split{im, labels}
}

// decodeJPEG decodes a 32×32 JPEG into interleaved RGB (YCbCr converted
// with color.YCbCrToRGB).
func decodeJPEG(path string, dst []uint8) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() != 32 || b.Dy() != 32 {
		return fmt.Errorf("%s: %dx%d image, want 32x32", path, b.Dx(), b.Dy())
	}
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			var r, g, bl uint8
			switch src := img.(type) {
			case *image.YCbCr:
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl = color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
			case *image.Gray:
				v := src.GrayAt(b.Min.X+x, b.Min.Y+y).Y
				r, g, bl = v, v, v
			default:
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				r, g, bl = c.R, c.G, c.B
			}
			o := (y*32 + x) * 3
			dst[o], dst[o+1], dst[o+2] = r, g, bl
		}
	}
	return nil
}

// zooRun is a zoo model loaded, prepared and calibrated.
type zooRun struct {
	zm       zooModel
	raw      []byte
	model    *graph.Model
	float    *infer.Program // the prepared float model
	ranges   map[string]qmath.Range
	batch    int // 1 when the model's batch dimension is fixed
	in, out  string
	calib    *split
	eval     *split
	evalBase []float32 // float outputs on the evaluation split
}

// loadZoo decodes, prepares and calibrates a zoo model.
func loadZoo(t testing.TB, zm zooModel) *zooRun {
	t.Helper()
	raw := zootest.ReadFile(t, append([]string{"models"}, strings.Split(zm.rel, "/")...)...)
	m, err := onnx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := infer.Compile(p, infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	z := &zooRun{zm: zm, raw: raw, model: m, float: fp, in: fp.InputNames()[0], out: fp.OutputNames()[0]}
	z.calib = zooSplit(t, zm.data, "calib")
	z.eval = zooSplit(t, zm.data, "eval")
	// Batch 50 when the graph allows another batch size than the declared
	// one, else one image at a time.
	z.batch = 50
	x, err := zm.pre.Tensor(z.calib.im, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := fp.Run(map[string]*tensor.Tensor{z.in: x}); err != nil || len(res[z.out].Shape) == 0 || res[z.out].Shape[0] != 2 {
		z.batch = 1
	}
	// ONNX Runtime holds the model to a declared batch size of 1.
	if info := fp.InputInfo()[0]; len(info.Shape) > 0 && info.Shape[0].Param == "" && info.Shape[0].Value == 1 {
		z.batch = 1
	}
	if zm.batch > 0 {
		z.batch = zm.batch
	}
	r := calibrate.NewRanges()
	z.runAll(t, fp, z.calib, r.Observe)
	z.ranges = r.Result()
	return z
}

// runAll runs p over all images of s and returns the concatenated first
// output.
func (z *zooRun) runAll(t testing.TB, p *infer.Program, s *split, obs func(string, *tensor.Tensor)) []float32 {
	t.Helper()
	var out []float32
	for start := 0; start < s.im.N; start += z.batch {
		end := min(start+z.batch, s.im.N)
		x, err := z.zm.pre.Tensor(s.im, start, end)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*tensor.Tensor{z.in: x}
		var res map[string]*tensor.Tensor
		if obs != nil {
			res, err = p.RunObserved(in, obs)
		} else {
			res, err = p.Run(in)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res[z.out].F32...)
	}
	return out
}

// top1s returns the argmax of each of n rows of y.
func top1s(y []float32, n int) []int {
	k := len(y) / n
	p := make([]int, n)
	for i := range p {
		p[i] = tensor.ArgMax(y[i*k : (i+1)*k])
	}
	return p
}

// quantizeEnc quantizes and encodes.
func (z *zooRun) quantizeEnc(t testing.TB, o Options) ([]byte, *graph.Model, *Summary) {
	t.Helper()
	q, sum, err := Quantize(z.model, z.ranges, o)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := onnx.Encode(q)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := onnx.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	return enc, dec, sum
}
