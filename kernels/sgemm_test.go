package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/eightbitml/eightbit/internal/cpu"
	"github.com/eightbitml/eightbit/internal/cpu/cputest"
)

// pathName names a Gemm implementation (nil: gemmGo).
func pathName(im *sgemmImpl) string {
	if im == nil {
		return "go"
	}
	return im.name
}

// gemmCase is one product with strided storage: A, B and C rows carry
// padding beyond the logical width, which Gemm must neither read into the
// result nor write.
type gemmCase struct {
	ta, tb, acc   bool
	m, n, k       int
	lda, ldb, ldc int
	a, b, c0      []float32
}

func newGemmCase(r *rand.Rand, ta, tb, acc bool, m, n, k, pad int) *gemmCase {
	g := &gemmCase{ta: ta, tb: tb, acc: acc, m: m, n: n, k: k}
	ra, ca := m, k
	if ta {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tb {
		rb, cb = n, k
	}
	g.lda, g.ldb, g.ldc = ca+pad, cb+pad, n+pad
	fill := func(rows, ld int) []float32 {
		s := make([]float32, rows*ld)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	g.a, g.b, g.c0 = fill(ra, g.lda), fill(rb, g.ldb), fill(m, g.ldc)
	return g
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("m=%d n=%d k=%d ta=%v tb=%v acc=%v ld=%d,%d,%d", g.m, g.n, g.k, g.ta, g.tb, g.acc, g.lda, g.ldb, g.ldc)
}

func (g *gemmCase) run() []float32 {
	c := append([]float32(nil), g.c0...)
	Gemm(g.ta, g.tb, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, c, g.ldc, g.acc)
	return c
}

// check compares c with the float64 definition. The bound is the classical
// one for a float32 dot product of length k (each of the k roundings of the
// accumulated value costs at most one unit roundoff u = 2⁻²⁴ of the running
// magnitude): |err| ≤ 1.2·10⁻⁷·(k+1)·(Σ|a·b| + |c0|), i.e. a relative 1e-5
// bound scaled by K/80.
func (g *gemmCase) check(t *testing.T, what string, c []float32) {
	t.Helper()
	step := 1
	if g.m*g.n*g.k > 1e7 {
		step = 7 // large products: a sample of the rows, and the last one
	}
	for i := 0; i < g.m; i++ {
		if i%step != 0 && i != g.m-1 {
			continue
		}
		for j := 0; j < g.ldc; j++ {
			got := c[i*g.ldc+j]
			if j >= g.n {
				if got != g.c0[i*g.ldc+j] {
					t.Fatalf("%s %v: C padding [%d][%d] written", what, g, i, j)
				}
				continue
			}
			var s, mag float64
			if g.acc {
				s = float64(g.c0[i*g.ldc+j])
				mag = math.Abs(s)
			}
			for p := 0; p < g.k; p++ {
				ai, bi := i*g.lda+p, p*g.ldb+j
				if g.ta {
					ai = p*g.lda + i
				}
				if g.tb {
					bi = j*g.ldb + p
				}
				av, bv := g.a[ai], g.b[bi]
				s += float64(av) * float64(bv)
				mag += math.Abs(float64(av) * float64(bv))
			}
			if d := math.Abs(float64(got) - s); d > 1.2e-7*float64(g.k+1)*mag || math.IsNaN(float64(got)) {
				t.Fatalf("%s %v: C[%d][%d] = %v, want %v (|err| %.3g, bound %.3g)", what, g, i, j, got, s, d, 1.2e-7*float64(g.k+1)*mag)
			}
		}
	}
}

var sgemmShapes = [][3]int{
	{1, 1, 1}, {1, 1, 7}, {1, 9, 1}, {7, 1, 1}, {1, 50, 33}, {2, 47, 300}, {3, 5, 2},
	{5, 9, 3}, {8, 48, 16}, {9, 49, 17}, {6, 16, 8}, {7, 17, 9}, {13, 95, 31},
	{16, 97, 257}, {67, 130, 513}, {200, 150, 260}, {33, 1600, 70}, {530, 61, 40},
}

func TestSGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	cputest.TestAllImplementations(t, sgemmFamily, func(t *testing.T) {
		for _, sz := range sgemmShapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, acc := range []bool{false, true} {
						g := newGemmCase(r, ta, tb, acc, sz[0], sz[1], sz[2], r.Intn(3)*5)
						g.check(t, pathName(sgemmActive), g.run())
					}
				}
			}
		}
	})
}

func TestSGemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large products")
	}
	r := rand.New(rand.NewSource(12))
	cputest.TestAllImplementations(t, sgemmFamily, func(t *testing.T) {
		for _, sz := range [][4]int{{64, 3136, 576, 0}, {515, 1601, 700, 0}, {300, 517, 600, 1}} {
			g := newGemmCase(r, sz[3] == 1, sz[3] == 1, sz[3] == 1, sz[0], sz[1], sz[2], 3)
			g.check(t, pathName(sgemmActive), g.run())
		}
	})
}

// TestSGemmZeroK: an empty sum sets C to 0, or leaves it when accumulating.
func TestSGemmZeroK(t *testing.T) {
	cputest.TestAllImplementations(t, sgemmFamily, func(t *testing.T) {
		c := []float32{1, 2, 3, 4}
		Gemm(false, false, 2, 2, 0, nil, 0, nil, 2, c, 2, true)
		near(t, "k=0 acc", c, []float32{1, 2, 3, 4}, 0)
		Gemm(false, false, 2, 2, 0, nil, 0, nil, 2, c, 2, false)
		near(t, "k=0", c, []float32{0, 0, 0, 0}, 0)
	})
}

// TestSGemmDeterministic: results are bit-identical for 1 and 2 goroutines
// (splits over N and over M) and, on the assembly paths, across the
// micro-kernel families, since every element is the same FMA chain.
func TestSGemmDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	oldMax := MaxThreads
	defer func() { MaxThreads = oldMax }()
	r := rand.New(rand.NewSource(13))
	shapes := [][3]int{{64, 3136, 100}, {512, 100, 300}, {97, 501, 333}, {600, 40, 50}}
	for _, sz := range shapes {
		for _, tr := range []bool{false, true} {
			g := newGemmCase(r, tr, !tr, tr, sz[0], sz[1], sz[2], 1)
			var asm []float32 // the first assembly path's result
			var asmName string
			cputest.TestAllImplementations(t, sgemmFamily, func(t *testing.T) {
				im := sgemmActive
				var one []float32
				for _, nt := range []int{1, 2} {
					MaxThreads = nt
					c := g.run()
					if nt == 1 {
						one = c
						continue
					}
					sameBits(t, fmt.Sprintf("%v: %s, 2 goroutines vs 1", g, pathName(im)), c, one)
				}
				// gemmGo rounds differently (separate multiply and add).
				if im != nil {
					if asm != nil {
						sameBits(t, fmt.Sprintf("%v: %s vs %s", g, pathName(im), asmName), one, asm)
					}
					asm, asmName = one, im.name
				}
			})
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: differs at %d: %v vs %v", what, i, got[i], want[i])
		}
	}
}

// TestSGemmFamily checks the registered Gemm implementations: the best is
// in use, the pure-Go gemmGo ("go", a nil implementation) comes last, and
// Select forces each.
func TestSGemmFamily(t *testing.T) {
	names := cpu.Implementations(sgemmFamily)
	if len(names) == 0 || names[len(names)-1] != "go" {
		t.Fatalf("implementations %v, want gemmGo last", names)
	}
	if got := pathName(sgemmActive); got != names[0] {
		t.Fatalf("Gemm uses %s, want the fastest, %s", got, names[0])
	}
	cputest.TestAllImplementations(t, sgemmFamily, func(t *testing.T) {
		if got, want := pathName(sgemmActive), t.Name()[len("TestSGemmFamily/"):]; got != want {
			t.Fatalf("selected %s, Gemm uses %s", want, got)
		}
	})
	t.Logf("Gemm uses %s; available: %v", pathName(sgemmActive), names)
}

// sgemmCPUTime is the CPU time of the process, summed over threads.
func sgemmCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSGemm reports GFLOP/s (wall clock) and cpu-GFLOP/s (per second of
// CPU time of the process): on a shared machine the first falls with the
// load, the second measures the code (per core in use).
func benchSGemm(b *testing.B, m, n, k int) {
	r := rand.New(rand.NewSource(7))
	g := newGemmCase(r, false, false, false, m, n, k, 0)
	c := make([]float32, m*n)
	defer cpu.Reset(sgemmFamily)
	for _, name := range cpu.Implementations(sgemmFamily) {
		b.Run(name, func(b *testing.B) {
			if err := cpu.Select(sgemmFamily, name); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := sgemmCPUTime()
			for i := 0; i < b.N; i++ {
				Gemm(false, false, m, n, k, g.a, g.lda, g.b, g.ldb, c, g.ldc, false)
			}
			b.StopTimer()
			flops := 2 * float64(m*n*k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpuTime := sgemmCPUTime() - c0; cpuTime > 0 {
				b.ReportMetric(flops/cpuTime.Seconds()/1e9, "cpu-GFLOP/s")
			}
		})
	}
}

func BenchmarkSGemm512(b *testing.B) { benchSGemm(b, 512, 512, 512) }

// BenchmarkSGemmConv3x3_64_56 is the GEMM inside the float 3x3 64→64 56x56
// convolution (weights 64×576 times im2col 576×3136).
func BenchmarkSGemmConv3x3_64_56(b *testing.B) { benchSGemm(b, 64, 3136, 576) }
