package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	"github.com/eightbitml/eightbit/internal/zootest"
)

func idxBytes(dims []uint32, payload []byte, gz bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		b.Write([]byte{byte(d >> 24), byte(d >> 16), byte(d >> 8), byte(d)})
	}
	b.Write(payload)
	if !gz {
		return b.Bytes()
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b.Bytes())
	w.Close()
	return z.Bytes()
}

func TestDecodeIDX(t *testing.T) {
	for _, gz := range []bool{false, true} {
		im, err := DecodeIDXImages(idxBytes([]uint32{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, gz))
		if err != nil {
			t.Fatal(err)
		}
		if im.N != 2 || im.H != 2 || im.W != 3 || im.C != 1 || im.Image(1)[0] != 7 {
			t.Fatalf("%+v", im)
		}
		labels, err := DecodeIDXLabels(idxBytes([]uint32{3}, []byte{7, 0, 9}, gz))
		if err != nil || len(labels) != 3 || labels[2] != 9 {
			t.Fatalf("%v %v", labels, err)
		}
	}
}

func TestDecodeIDXErrors(t *testing.T) {
	bad := [][]byte{
		nil,
		{0, 0, 8},
		{1, 2, 3, 4},
		{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0},
		idxBytes([]uint32{2, 2, 2}, []byte{1, 2, 3}, false),
		{0x1f, 0x8b, 0, 0},
	}
	for i, b := range bad {
		if _, err := DecodeIDXImages(b); !errors.Is(err, ErrFormat) {
			t.Errorf("case %d: err = %v, want ErrFormat", i, err)
		}
	}
}

func TestPreprocess(t *testing.T) {
	im := &Images{N: 1, H: 1, W: 2, C: 3, Pix: []uint8{0, 51, 255, 255, 102, 0}}
	p := Preprocess{Scale: 1.0 / 255, Mean: []float32{0, 0.2, 0}, Std: []float32{1, 0.5, 1}}
	x, err := p.Tensor(im, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !x.Shape.Equal([]int{1, 3, 1, 2}) {
		t.Fatalf("shape %v", x.Shape)
	}
	want := []float32{0, 1, (51.0/255 - 0.2) / 0.5, (102.0/255 - 0.2) / 0.5, 1, 0}
	for i := range want {
		if d := x.F32[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("x[%d] = %v, want %v", i, x.F32[i], want[i])
		}
	}
	p.Layout = NHWC
	x, _ = p.Tensor(im, 0, 1)
	if !x.Shape.Equal([]int{1, 1, 2, 3}) || x.F32[2] != 1 {
		t.Fatalf("NHWC %v %v", x.Shape, x.F32)
	}
	p.Shape = []int{6, 1}
	x, err = p.Tensor(im, 0, 1)
	if err != nil || !x.Shape.Equal([]int{1, 6, 1}) {
		t.Fatalf("flat %v %v", x, err)
	}
	if _, err := (Preprocess{Std: []float32{0}}).Tensor(im, 0, 1); err == nil {
		t.Fatal("want std error")
	}
}

func TestDemoSubset(t *testing.T) {
	im, err := DecodeIDXImages(zootest.ReadFile(t, "models", "trained", "demo-data", "demo-t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := DecodeIDXLabels(zootest.ReadFile(t, "models", "trained", "demo-data", "demo-t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if im.N != 2000 || im.H != 28 || im.W != 28 || len(labels) != 2000 {
		t.Fatalf("%d images %dx%d, %d labels", im.N, im.H, im.W, len(labels))
	}
	// The first MNIST t10k label is a 7.
	if labels[0] != 7 {
		t.Fatalf("first label %d", labels[0])
	}
}

func FuzzDecodeIDX(f *testing.F) {
	f.Add(idxBytes([]uint32{1, 2, 2}, []byte{1, 2, 3, 4}, false))
	f.Add(idxBytes([]uint32{3}, []byte{1, 2, 3}, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeIDXImages(b)
		DecodeIDXLabels(b)
	})
}

func TestPreprocessDivide(t *testing.T) {
	pix := make([]uint8, 256)
	for i := range pix {
		pix[i] = uint8(i)
	}
	im := &Images{N: 1, H: 16, W: 16, C: 1, Pix: pix}
	x, err := Preprocess{Divide: 255}.Tensor(im, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.F32 {
		if v != float32(i)/255 {
			t.Fatalf("pixel %d: %v, want %v", i, v, float32(i)/255)
		}
	}
	if _, err := (Preprocess{Divide: 255, Scale: 2}).Tensor(im, 0, 1); err == nil {
		t.Fatal("want error for both divide and scale")
	}
}
