package kernels

import (
	"fmt"
	"github.com/eightbitml/eightbit/internal/cpu"
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/tensor"
)

func rand8(r *rand.Rand, dt tensor.DType, shape tensor.Shape, sat bool) *tensor.Tensor {
	t := tensor.New(dt, shape)
	for i := 0; i < t.Len(); i++ {
		v := r.Intn(256)
		if sat && r.Intn(2) == 0 {
			v = []int{0, 255}[r.Intn(2)]
		}
		if dt == tensor.Uint8 {
			t.U8[i] = uint8(v)
		} else {
			t.I8[i] = int8(v - 128)
		}
	}
	return t
}

func randZP(r *rand.Rand, dt tensor.DType) int32 {
	v := []int32{0, 255, 128, int32(r.Intn(256))}[r.Intn(4)]
	if dt == tensor.Int8 {
		v -= 128
	}
	return v
}

// qconv runs the integer convolution through a QConvPlan with the fast
// kernels.
func qconv(x, w *tensor.Tensor, bias []int32, p QConvParams) (*tensor.Tensor, error) {
	plan, err := NewQConvPlan(w, bias, p)
	if err != nil {
		return nil, err
	}
	return plan.Run(x)
}

func randRequant(r *rand.Rand, channels int, signed bool) Requant {
	rq := Requant{Signed: signed}
	n := 1
	if r.Intn(2) == 0 {
		n = channels
	}
	for i := 0; i < n; i++ {
		rq.Multiplier = append(rq.Multiplier, float32(r.ExpFloat64()*0.002+1e-5))
	}
	rq.ZeroPoint = randZP(r, map[bool]tensor.DType{false: tensor.Uint8, true: tensor.Int8}[signed])
	switch r.Intn(4) {
	case 0:
		rq.Min, rq.Max = rq.ZeroPoint, 127 // ReLU (+ a cap for uint8)
		if rq.Min > rq.Max {
			rq.Max = 255
		}
	}
	return rq
}

func TestQConvImplementations(t *testing.T) {
	type tc struct {
		n, c, h, w, m, kh, kw, group int
		p                            ConvParams
	}
	cases := []tc{
		{1, 3, 7, 9, 5, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}},
		{2, 8, 11, 13, 13, 3, 3, 1, ConvParams{Pads: []int{1, 0, 2, 1}}},
		{1, 5, 10, 10, 7, 1, 1, 1, ConvParams{}},
		{1, 6, 9, 9, 8, 3, 3, 2, ConvParams{Strides: []int{2, 2}, Pads: []int{1, 1, 1, 1}}},
		{1, 4, 12, 12, 4, 3, 3, 4, ConvParams{Pads: []int{1, 1, 1, 1}}},
		{1, 6, 13, 10, 6, 3, 3, 6, ConvParams{Strides: []int{2, 1}, Pads: []int{1, 1, 1, 1}}},
		{1, 9, 12, 12, 11, 3, 2, 1, ConvParams{Dilations: []int{2, 3}, Pads: []int{2, 1, 0, 3}}},
		{1, 16, 20, 70, 17, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}},
		{1, 7, 5, 5, 3, 5, 5, 1, ConvParams{Strides: []int{3, 3}, Pads: []int{2, 2, 2, 2}}},
		{1, 64, 6, 9, 7, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}},
		{1, 6, 9, 11, 8, 3, 3, 1, ConvParams{Pads: []int{2, 0, 1, 0}}},
		{1, 40, 4, 4, 70, 1, 1, 1, ConvParams{}},
	}
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		for i, c := range cases {
			for trial := 0; trial < 4; trial++ {
				xt := []tensor.DType{tensor.Uint8, tensor.Int8}[trial%2]
				wt := []tensor.DType{tensor.Int8, tensor.Uint8}[trial/2%2]
				x := rand8(r, xt, tensor.Shape{c.n, c.c, c.h, c.w}, trial == 3)
				w := rand8(r, wt, tensor.Shape{c.m, c.c / c.group, c.kh, c.kw}, trial == 3)
				p := QConvParams{ConvParams: c.p, XZeroPoint: randZP(r, xt)}
				p.Group = c.group
				if r.Intn(2) == 0 {
					p.WZeroPoint = []int32{randZP(r, wt)}
				} else if trial > 0 {
					for m := 0; m < c.m; m++ {
						p.WZeroPoint = append(p.WZeroPoint, randZP(r, wt))
					}
				}
				var bias []int32
				if r.Intn(3) > 0 {
					for m := 0; m < c.m; m++ {
						bias = append(bias, int32(r.Intn(200001)-100000))
					}
				}
				p.Requant = randRequant(r, c.m, r.Intn(2) == 0)
				name := fmt.Sprintf("case %d trial %d (x %v, w %v)", i, trial, xt, wt)
				ref, err := qconvReference(x, w, bias, p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := qconv(x, w, bias, p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !got.Equal(ref) {
					t.Fatalf("%s: QConv differs from QConvReference: %s, params %+v", name, firstDiff(ref, got), p)
				}
				ri, _ := convIntegerReference(x, w, p)
				gi, err := ConvInteger(x, w, p)
				if err != nil || !gi.Equal(ri) {
					t.Fatalf("%s: ConvInteger differs from reference (%v)", name, err)
				}
			}
		}
	})
}

func TestQMatMulImplementations(t *testing.T) {
	// K up to 1030: the AVX2 tile widens K in chunks of 512.
	sizes := [][3]int{{1, 1, 1}, {2, 3, 4}, {7, 13, 5}, {6, 64, 64}, {13, 70, 129}, {33, 255, 67}, {5, 0, 3}, {7, 600, 70}, {3, 1030, 9}}
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		for _, sz := range sizes {
			for trial := 0; trial < 8; trial++ {
				m, k, n := sz[0], sz[1], sz[2]
				at := []tensor.DType{tensor.Uint8, tensor.Int8}[trial%2]
				bt := []tensor.DType{tensor.Int8, tensor.Uint8}[trial/2%2]
				transB := trial/4 == 1
				a := rand8(r, at, tensor.Shape{m, k}, trial%3 == 0)
				bs := tensor.Shape{k, n}
				if transB {
					bs = tensor.Shape{n, k}
				}
				b := rand8(r, bt, bs, trial%3 == 0)
				p := QGemmParams{AZeroPoint: randZP(r, at)}
				if r.Intn(2) == 0 {
					p.BZeroPoint = []int32{randZP(r, bt)}
				} else {
					for j := 0; j < n; j++ {
						p.BZeroPoint = append(p.BZeroPoint, randZP(r, bt))
					}
				}
				var bias []int32
				if r.Intn(2) == 0 {
					for j := 0; j < n; j++ {
						bias = append(bias, int32(r.Intn(20001)-10000))
					}
				}
				p.Requant = randRequant(r, n, r.Intn(2) == 0)
				name := fmt.Sprintf("%v trial %d", sz, trial)
				ref, err := qmatmulReference(a, b, transB, bias, p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := QMatMul(a, b, transB, bias, p)
				if err != nil || !got.Equal(ref) {
					t.Fatalf("%s: QMatMul differs from reference (%v): %s, params %+v bias %v", name, err, firstDiff(ref, got), p, bias)
				}
				if !transB {
					ri, _ := matmulIntegerReference(a, b, p)
					gi, err := MatMulInteger(a, b, p)
					if err != nil || !gi.Equal(ri) {
						t.Fatalf("%s: MatMulInteger differs from reference (%v)", name, err)
					}
				}
			}
		}
	})
}

func firstDiff(want, got *tensor.Tensor) string {
	if want.DType != got.DType || !want.Shape.Equal(got.Shape) {
		return fmt.Sprintf("want %v %v, got %v %v", want.DType, want.Shape, got.DType, got.Shape)
	}
	for i := 0; i < want.Len(); i++ {
		if w, g := want.Float64At(i), got.Float64At(i); w != g {
			return fmt.Sprintf("element %d: want %v, got %v", i, w, g)
		}
	}
	return "equal"
}

func TestQDepthwiseImplementations(t *testing.T) {
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(3))
		kernels := [][2]int{{3, 3}, {1, 1}, {5, 5}, {7, 7}, {2, 3}, {1, 9}, {3, 1}}
		for trial := 0; trial < 120; trial++ {
			k := kernels[trial%len(kernels)]
			c := 1 + r.Intn(9)
			n := 1 + r.Intn(2)
			h, w := 1+r.Intn(20), 1+r.Intn(75)
			p := ConvParams{Group: c,
				Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
				Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
				Pads:      []int{r.Intn(k[0]), r.Intn(k[1]), r.Intn(k[0]), r.Intn(k[1])}}
			if trial%3 == 0 {
				p.Strides, p.Dilations = []int{1, 1}, []int{1, 1}
				p.Pads = []int{k[0] / 2, k[1] / 2, k[0] / 2, k[1] / 2}
			}
			if (h+p.Pads[0]+p.Pads[2]-(k[0]-1)*p.Dilations[0]-1) < 0 || (w+p.Pads[1]+p.Pads[3]-(k[1]-1)*p.Dilations[1]-1) < 0 {
				continue
			}
			xt := []tensor.DType{tensor.Uint8, tensor.Int8}[trial%2]
			wt := []tensor.DType{tensor.Int8, tensor.Uint8}[trial/2%2]
			x := rand8(r, xt, tensor.Shape{n, c, h, w}, trial%5 == 0)
			wts := rand8(r, wt, tensor.Shape{c, 1, k[0], k[1]}, trial%5 == 0)
			qp := QConvParams{ConvParams: p, XZeroPoint: randZP(r, xt)}
			switch r.Intn(3) {
			case 0:
				qp.WZeroPoint = []int32{randZP(r, wt)}
			case 1:
				for m := 0; m < c; m++ {
					qp.WZeroPoint = append(qp.WZeroPoint, randZP(r, wt))
				}
			}
			var bias []int32
			if r.Intn(3) > 0 {
				for m := 0; m < c; m++ {
					bias = append(bias, int32(r.Intn(200001)-100000))
				}
			}
			qp.Requant = randRequant(r, c, r.Intn(2) == 0)
			name := fmt.Sprintf("trial %d: %v x %v %+v", trial, x.Shape, wts.Shape, p)
			ref, err := qconvReference(x, wts, bias, qp)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := qconv(x, wts, bias, qp)
			if err != nil || !got.Equal(ref) {
				t.Fatalf("%s: QConv differs from QConvReference (%v): %s", name, err, firstDiff(ref, got))
			}
			ri, _ := convIntegerReference(x, wts, qp)
			gi, err := ConvInteger(x, wts, qp)
			if err != nil || !gi.Equal(ri) {
				t.Fatalf("%s: ConvInteger differs from reference (%v): %s", name, err, firstDiff(ri, gi))
			}
		}
	})
}

// TestCPUDisable checks that EIGHTBIT_CPU_DISABLE selects the slower
// implementations of every kernel family: "avx512" drops the AVX-512 ones
// (the AVX2 kernels run on a CPU with AVX2), "avx512,avx2" leaves the Go
// ones alone. It runs the test binary again with the variable set.
func TestCPUDisable(t *testing.T) {
	families := []string{integerFamily, sgemmFamily, frowFamily}
	if os.Getenv("EIGHTBIT_KERNELS_PRINT") != "" {
		for _, f := range families {
			fmt.Printf("kernels %s: %s\n", f, strings.Join(cpu.Implementations(f), ","))
		}
		return
	}
	run := func(dis string) map[string][]string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCPUDisable$")
		cmd.Env = append(os.Environ(), "EIGHTBIT_KERNELS_PRINT=1", "EIGHTBIT_CPU_DISABLE="+dis)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", dis, err, out)
		}
		impls := map[string][]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if s, ok := strings.CutPrefix(line, "kernels "); ok {
				f, names, _ := strings.Cut(s, ": ")
				impls[f] = strings.Split(names, ",")
			}
		}
		if len(impls) != len(families) {
			t.Fatalf("%s: no kernel lists in\n%s", dis, out)
		}
		return impls
	}
	without512 := func(names []string) []string {
		var r []string
		for _, n := range names {
			if !strings.HasPrefix(n, "avx512") {
				r = append(r, n)
			}
		}
		return r
	}
	all := run("")
	no512 := run("avx512")
	none := run("avx512,avx2")
	for _, f := range families {
		if got, want := no512[f], without512(all[f]); !slices.Equal(got, want) {
			t.Errorf("EIGHTBIT_CPU_DISABLE=avx512: %s implementations %q, want %q", f, got, want)
		}
		if got := none[f]; !slices.Equal(got, []string{"go"}) {
			t.Errorf("EIGHTBIT_CPU_DISABLE=avx512,avx2: %s implementations %q, want [go]", f, got)
		}
	}
}

// poisonAlloc hands out output tensors filled with a nonzero byte pattern,
// so a kernel that leaves an element unwritten is caught.
type poisonAlloc struct{}

func (poisonAlloc) Tensor(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	for i := range t.U8 {
		t.U8[i] = 0xA5
	}
	for i := range t.I8 {
		t.I8[i] = -91
	}
	for i := range t.I32 {
		t.I32[i] = -0x5A5A5A5B
	}
	return t
}
func (poisonAlloc) Float32s(n int) []float32 { return make([]float32, n) }
func (poisonAlloc) PutFloat32s([]float32)    {}

// TestQConvBands runs convolutions large enough to be cut into bands of
// output rows (by thread count, and by convBandBytes on a tall image) on
// 1, 2 and 3 goroutines, and requires the reference's answer, written to
// every element of an output taken from an Alloc.
func TestQConvBands(t *testing.T) {
	type tc struct {
		n, c, h, w, m, kh, kw, group int
		p                            ConvParams
	}
	cases := []tc{
		{1, 32, 30, 30, 40, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}},
		{2, 16, 25, 31, 24, 3, 3, 2, ConvParams{Strides: []int{2, 2}, Pads: []int{1, 0, 1, 2}}},
		{1, 24, 47, 33, 18, 3, 3, 1, ConvParams{Dilations: []int{2, 2}, Pads: []int{2, 2, 2, 2}}},
		{3, 8, 17, 19, 16, 5, 5, 1, ConvParams{Pads: []int{2, 2, 2, 2}}},
		{1, 8, 300, 300, 6, 3, 3, 1, ConvParams{Pads: []int{1, 1, 1, 1}}},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	old := MaxThreads
	defer func() { MaxThreads = old }()
	cputest.TestAllImplementations(t, integerFamily, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		for i, c := range cases {
			x := rand8(r, tensor.Uint8, tensor.Shape{c.n, c.c, c.h, c.w}, false)
			w := rand8(r, tensor.Int8, tensor.Shape{c.m, c.c / c.group, c.kh, c.kw}, false)
			p := QConvParams{ConvParams: c.p, XZeroPoint: randZP(r, tensor.Uint8), WZeroPoint: []int32{int32(i % 2)}}
			p.Group = c.group
			p.Requant = Requant{Multiplier: []float32{0.0007}, ZeroPoint: 3}
			ref, err := qconvReference(x, w, nil, p)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := NewQConvPlan(w, nil, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, nt := range []int{1, 2, 3} {
				MaxThreads = nt
				got, err := plan.RunWith(poisonAlloc{}, x)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(ref) {
					t.Fatalf("case %d on %d threads: %s", i, nt, firstDiff(ref, got))
				}
			}
		}
	})
}
