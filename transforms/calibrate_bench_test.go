package transforms

import (
	"math/rand"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

// BenchmarkCalibrationOverhead measures, on a batch of 50 CIFAR-sized
// inputs through a shared-zoo CNN, float inference alone and float
// inference that feeds every float tensor to the first pass's min/max
// observers or to the second pass's 2048-bin histograms:
//
//	go test -run XXX -bench CalibrationOverhead -benchtime 20x ./transforms
func BenchmarkCalibrationOverhead(b *testing.B) {
	for _, model := range []string{"cifar-resnet8.onnx", "cifar-mobilenetv2.onnx"} {
		m, err := onnx.Decode(zootest.ReadFile(b, "models", "trained", "cifar10", model))
		if err != nil {
			b.Fatal(err)
		}
		pm, err := quantize.Prepare(m)
		if err != nil {
			b.Fatal(err)
		}
		p, err := infer.Compile(pm, infer.Options{})
		if err != nil {
			b.Fatal(err)
		}
		in := p.InputInfo()[0]
		const batch = 50
		x := make([]float32, batch*3*32*32)
		rng := rand.New(rand.NewSource(1))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		feeds := map[string]*tensor.Tensor{in.Name: tensor.FromFloat32(tensor.Shape{batch, 3, 32, 32}, x)}
		// The first pass over this batch gives the histograms' ranges.
		pass1 := calibrate.NewRanges()
		if _, err := p.RunObserved(feeds, pass1.Observe); err != nil {
			b.Fatal(err)
		}
		b.Run(model+"/float", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := p.Run(feeds); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(model+"/minmax", func(b *testing.B) {
			r := calibrate.NewRanges()
			for i := 0; i < b.N; i++ {
				if _, err := p.RunObserved(feeds, r.Observe); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Alternating the three on every iteration keeps a loaded machine's
		// drift out of the ratios, reported as minmax/float and
		// histogram/float.
		b.Run(model+"/interleaved", func(b *testing.B) {
			r := calibrate.NewRanges()
			hs, err := calibrate.NewHistograms(pass1, calibrate.Options{Method: calibrate.MethodEntropy})
			if err != nil {
				b.Fatal(err)
			}
			var tf, tn, tm, th time.Duration
			noop := func(string, *tensor.Tensor) {}
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p.Run(feeds)
				tn0 := time.Now()
				p.RunObserved(feeds, noop)
				tn += time.Since(tn0)
				t1 := time.Now()
				p.RunObserved(feeds, r.Observe)
				t2 := time.Now()
				p.RunObserved(feeds, hs.Observe)
				th += time.Since(t2)
				tf += tn0.Sub(t0)
				tm += t2.Sub(t1)
			}
			b.ReportMetric(float64(tn)/float64(tf), "noop/float")
			b.ReportMetric(float64(tm)/float64(tf), "minmax/float")
			b.ReportMetric(float64(th)/float64(tf), "histogram/float")
		})
		b.Run(model+"/histogram", func(b *testing.B) {
			hs, err := calibrate.NewHistograms(pass1, calibrate.Options{Method: calibrate.MethodEntropy})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				if _, err := p.RunObserved(feeds, hs.Observe); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
