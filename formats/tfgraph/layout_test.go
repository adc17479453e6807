package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eightbitml/eightbit/tensor"
)

// TestLayoutOps checks the axis remapping of ops that read a tensor the
// importer holds as NCHW: Mean over channels (ReduceMean), Mean over the
// batch (falls back to TensorFlow layout), Mean over H and W with keep_dims
// then Squeeze of every unit axis, Softmax of a 4-D tensor, PadV2 with a
// non-zero value, ExpandDims, and ConcatV2 with a constant.
func TestLayoutOps(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	b := newBuilder()
	b.placeholder("X", 2, 4, 5, 6)
	w, wv := b.randConst(r, "w", 0.5, 1, 1, 6, 4)
	k, kv := b.randConst(r, "k", 1, 2, 4, 5, 2)
	b.node("Conv2D", "c", []string{"X", w}, attrMap{"strides": nhwc(1, 1), "padding": aS("VALID")})
	b.node("Mean", "mean_c", []string{"c", b.constI("ax_c", true, 3)}, attrMap{"keep_dims": aB(true)})
	b.node("Mean", "mean_n", []string{"c", b.constI("ax_n", false, 0)}, attrMap{"keep_dims": aB(false)})
	b.node("Mean", "mean_hw", []string{"c", b.constI("ax_hw", false, 2, -3)}, attrMap{"keep_dims": aB(true)})
	b.node("Squeeze", "sq", []string{"mean_hw"}, nil)
	b.node("Softmax", "sm", []string{"c"}, nil)
	b.node("PadV2", "pv", []string{"c", b.constI("pads", false, 0, 0, 1, 0, 0, 2, 1, 1), b.constF("pv/value", nil, []float32{0.5})}, nil)
	b.node("ExpandDims", "ed", []string{"c", b.constI("ed/dim", true, 1)}, nil)
	b.node("ConcatV2", "cc", []string{"c", k, b.constI("cc/axis", true, 3)}, nil)
	outs := []string{"mean_c", "mean_n", "sq", "sm", "pv", "ed", "cc"}

	x := randND(r, 2, 4, 5, 6)
	_, out := run(t, b.bytes(t), Options{Outputs: outs}, map[string]*tensor.Tensor{"X": x.tensor()})
	c := refConv(x, fromF32([]int{1, 1, 6, 4}, wv), 1, 1, 1, 1, [4]int{}, false)
	at := func(n, h, w, ch int) float64 { return *c.at4(n, h, w, ch) }

	meanC := newND(2, 4, 5, 1)
	meanN := newND(4, 5, 4)
	sm := newND(2, 4, 5, 4)
	pv := newND(2, 5, 7, 6)
	for i := range pv.d {
		pv.d[i] = 0.5
	}
	cc := newND(2, 4, 5, 6)
	for n := 0; n < 2; n++ {
		for h := 0; h < 4; h++ {
			for w := 0; w < 5; w++ {
				sum, mx := 0.0, math.Inf(-1)
				for ch := 0; ch < 4; ch++ {
					v := at(n, h, w, ch)
					sum += v
					mx = math.Max(mx, v)
					meanN.d[(h*5+w)*4+ch] += v / 2
					*pv.at4(n, h+1, w, ch+1) = v
					*cc.at4(n, h, w, ch) = v
				}
				meanC.d[(n*4+h)*5+w] = sum / 4
				e := 0.0
				for ch := 0; ch < 4; ch++ {
					e += math.Exp(at(n, h, w, ch) - mx)
				}
				for ch := 0; ch < 4; ch++ {
					*sm.at4(n, h, w, ch) = math.Exp(at(n, h, w, ch)-mx) / e
				}
				for ch := 0; ch < 2; ch++ {
					*cc.at4(n, h, w, 4+ch) = float64(kv[((n*4+h)*5+w)*2+ch])
				}
			}
		}
	}
	compare(t, "mean_c", out["mean_c"], meanC, 1e-5)
	compare(t, "mean_n", out["mean_n"], meanN, 1e-5)
	compare(t, "sm", out["sm"], sm, 1e-5)
	compare(t, "pv", out["pv"], pv, 1e-6)
	compare(t, "ed", out["ed"], &nd{shape: []int{2, 1, 4, 5, 4}, d: c.d}, 1e-6)
	compare(t, "cc", out["cc"], cc, 1e-6)
	// mean_hw is [2,1,1,4]; squeezing every unit axis leaves [2,4].
	compare(t, "sq", out["sq"], refSpatialMean(c), 1e-5)
}
