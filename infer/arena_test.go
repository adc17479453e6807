package infer

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

// randomInputs returns deterministic inputs for p with the given batch.
func randomInputs(t testing.TB, p *Program, batch int, seed int64) map[string]*tensor.Tensor {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	feeds := map[string]*tensor.Tensor{}
	for _, info := range p.InputInfo() {
		shape := make(tensor.Shape, len(info.Shape))
		for i, d := range info.Shape {
			shape[i] = int(d.Value)
			if d.Param != "" || d.Value <= 0 {
				shape[i] = batch
			}
		}
		x := tensor.New(tensor.Float32, shape)
		for i := range x.F32 {
			x.F32[i] = rng.Float32()
		}
		feeds[info.Name] = x
	}
	return feeds
}

// heapTwin compiles m again with buffer reuse turned off.
func heapTwin(t testing.TB, m *graph.Model, opts Options) *Program {
	t.Helper()
	p, err := Compile(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	p.noReuse = true
	return p
}

func mustRun(t testing.TB, p *Program, feeds map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	res, err := p.Run(feeds)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sameBits reports whether two result maps hold bit-identical tensors.
func sameBits(t testing.TB, what string, want, got map[string]*tensor.Tensor) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if g == nil || !g.Shape.Equal(w.Shape) || g.DType != w.DType {
			t.Fatalf("%s: output %q is %v, want %v %v", what, name, g, w.DType, w.Shape)
		}
		for i := range w.F32 {
			if math.Float32bits(w.F32[i]) != math.Float32bits(g.F32[i]) {
				t.Fatalf("%s: output %q differs at %d: %v, want %v", what, name, i, g.F32[i], w.F32[i])
			}
		}
		if !w.Equal(g) && w.DType != tensor.Float32 {
			t.Fatalf("%s: output %q differs", what, name)
		}
	}
}

func decodeZoo(t testing.TB, rel ...string) *graph.Model {
	t.Helper()
	m, err := onnx.Decode(zootest.ReadFile(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// quantizeForTest calibrates m on random inputs (min/max) and quantizes it.
func quantizeForTest(t testing.TB, m *graph.Model, batch int) *graph.Model {
	t.Helper()
	pm, err := quantize.Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	fp := heapTwin(t, pm, Options{})
	ranges := map[string]qmath.Range{}
	for seed := int64(0); seed < 2; seed++ {
		_, err := fp.RunObserved(randomInputs(t, fp, batch, 100+seed), func(name string, x *tensor.Tensor) {
			r, ok := ranges[name]
			if !ok {
				r = qmath.Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
			}
			for _, v := range x.F32 {
				r.Min, r.Max = min(r.Min, v), max(r.Max, v)
			}
			ranges[name] = r
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	q, _, err := quantize.Quantize(m, ranges, quantize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

var arenaZoo = []string{
	"trained/mnist/mnist-lenet.onnx",
	"trained/cifar10/cifar-resnet8.onnx",
	"trained/cifar10/cifar-mobilenetv2.onnx",
	"mnist/mnist-7.onnx",
}

// TestArenaZooBitIdentical checks that reusing buffers changes no bit of
// the results, float and integer, over several Runs (the later ones on
// recycled memory) and two batch sizes.
func TestArenaZooBitIdentical(t *testing.T) {
	for _, file := range arenaZoo {
		m := decodeZoo(t, "models", file)
		type variant struct {
			name  string
			model *graph.Model
			opts  Options
		}
		vs := []variant{{"float", m, Options{}}}
		if file != "mnist/mnist-7.onnx" && !(testing.Short() && file == "trained/cifar10/cifar-mobilenetv2.onnx") {
			q := quantizeForTest(t, m, 2)
			vs = append(vs, variant{"int8", q, Options{Integer: true}}, variant{"qdq-float", q, Options{}})
		}
		for _, v := range vs {
			t.Run(file+"/"+v.name, func(t *testing.T) {
				ref := heapTwin(t, v.model, v.opts)
				p, err := Compile(v.model, v.opts)
				if err != nil {
					t.Fatal(err)
				}
				if v.opts.Integer && p.Stats().IntegerNodes == 0 {
					t.Errorf("no integer nodes")
				}
				for i, batch := range []int{3, 3, 1, 3} {
					feeds := randomInputs(t, p, batch, int64(i))
					want := mustRun(t, ref, feeds)
					got := mustRun(t, p, feeds)
					sameBits(t, fmt.Sprintf("run %d (batch %d)", i, batch), want, got)
				}
			})
		}
	}
}

// TestArenaConcurrentRuns runs one Program from several goroutines; run it
// with -race.
func TestArenaConcurrentRuns(t *testing.T) {
	m := decodeZoo(t, "models", "trained", "mnist", "mnist-lenet.onnx")
	for _, v := range []struct {
		name  string
		model *graph.Model
		opts  Options
	}{{"float", m, Options{}}, {"int8", quantizeForTest(t, m, 2), Options{Integer: true}}} {
		t.Run(v.name, func(t *testing.T) {
			ref := heapTwin(t, v.model, v.opts)
			p, err := Compile(v.model, v.opts)
			if err != nil {
				t.Fatal(err)
			}
			const workers, runs = 4, 6
			feeds := make([]map[string]*tensor.Tensor, workers)
			want := make([]map[string]*tensor.Tensor, workers)
			for w := range feeds {
				feeds[w] = randomInputs(t, p, 1+w%3, int64(w))
				want[w] = mustRun(t, ref, feeds[w])
			}
			var wg sync.WaitGroup
			errs := make([]error, workers)
			got := make([][]map[string]*tensor.Tensor, workers)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for r := 0; r < runs; r++ {
						res, err := p.Run(feeds[w])
						if err != nil {
							errs[w] = err
							return
						}
						got[w] = append(got[w], res)
					}
				}(w)
			}
			wg.Wait()
			for w := range errs {
				if errs[w] != nil {
					t.Fatal(errs[w])
				}
				// Every result, including those of earlier Runs, is intact.
				for r, res := range got[w] {
					sameBits(t, fmt.Sprintf("worker %d run %d", w, r), want[w], res)
				}
			}
		})
	}
}

// aliasModel builds a float graph whose values are read by several
// consumers, viewed by Reshape/Flatten/Identity and returned as graph
// outputs, with many same-sized intermediates so that freed buffers are
// reused at once.
//
//	a = Relu(x)                 read by Reshape, Mul and Add
//	r = Reshape(a, [2,12])      graph output (a view of a)
//	b = Mul(a, x)
//	f = Flatten(Relu(b))        view of a dead producer's buffer, read late
//	c = Add(a, b); d = Relu(c); e = Sub(d, x); g = Clip(e)
//	h = Add(Reshape(f, [2,3,2,2]), g)
//	y = Identity(h)             graph output (Identity kept)
//	z = Add(h, x)               graph output
func aliasModel() *graph.Model {
	f32 := func(name string, dims ...int64) graph.ValueInfo {
		vi := graph.ValueInfo{Name: name, DType: tensor.Float32}
		for _, d := range dims {
			vi.Shape = append(vi.Shape, graph.Dim{Value: d})
		}
		return vi
	}
	node := func(op string, ins []string, outs ...string) *graph.Node {
		return &graph.Node{Name: outs[0], OpType: op, Inputs: ins, Outputs: outs}
	}
	g := &graph.Graph{
		Inputs:  []graph.ValueInfo{f32("x", 2, 3, 2, 2)},
		Outputs: []graph.ValueInfo{f32("r", 2, 12), f32("y", 2, 3, 2, 2), f32("z", 2, 3, 2, 2), f32("a", 2, 3, 2, 2)},
		Initializers: map[string]*tensor.Tensor{
			"s2x12": tensor.FromInt64(tensor.Shape{2}, []int64{2, 12}),
			"s4d":   tensor.FromInt64(tensor.Shape{4}, []int64{2, 3, 2, 2}),
			"lo":    tensor.ScalarFloat32(-0.25),
			"hi":    tensor.ScalarFloat32(0.75),
		},
		Nodes: []*graph.Node{
			node("Relu", []string{"x"}, "a"),
			node("Reshape", []string{"a", "s2x12"}, "r"),
			node("Mul", []string{"a", "x"}, "b"),
			node("Relu", []string{"b"}, "rb"),
			node("Flatten", []string{"rb"}, "f"),
			node("Add", []string{"a", "b"}, "c"),
			node("Relu", []string{"c"}, "d"),
			node("Sub", []string{"d", "x"}, "e"),
			node("Clip", []string{"e", "lo", "hi"}, "g"),
			node("Reshape", []string{"f", "s4d"}, "f4"),
			node("Add", []string{"f4", "g"}, "h"),
			node("Identity", []string{"h"}, "y"),
			node("Add", []string{"h", "x"}, "z"),
		},
	}
	return &graph.Model{IRVersion: 8, Opsets: map[string]int64{"": 13}, Graph: g}
}

func TestArenaAliasing(t *testing.T) {
	m := aliasModel()
	ref := heapTwin(t, m, Options{})
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	observe := func(p *Program, feeds map[string]*tensor.Tensor) (map[string]*tensor.Tensor, map[string]*tensor.Tensor) {
		seen := map[string]*tensor.Tensor{}
		res, err := p.RunObserved(feeds, func(name string, x *tensor.Tensor) {
			if seen[name] != nil {
				t.Errorf("%s observed twice", name)
			}
			seen[name] = x.Clone()
		})
		if err != nil {
			t.Fatal(err)
		}
		return res, seen
	}
	var kept []map[string]*tensor.Tensor
	var wants []map[string]*tensor.Tensor
	for i := 0; i < 4; i++ {
		feeds := randomInputs(t, p, 2, int64(i))
		for j := range feeds["x"].F32 {
			feeds["x"].F32[j] -= 0.5
		}
		want, wantSeen := observe(ref, feeds)
		got, gotSeen := observe(p, feeds)
		sameBits(t, fmt.Sprintf("run %d", i), want, got)
		sameBits(t, fmt.Sprintf("run %d observed", i), wantSeen, gotSeen)
		if len(gotSeen) != 14 { // x and the 13 node outputs
			t.Errorf("observed %d values, want 14", len(gotSeen))
		}
		// The output r is a view of the output a: same memory.
		if &got["r"].F32[0] != &got["a"].F32[0] {
			t.Errorf("r is not a view of a")
		}
		kept = append(kept, got)
		wants = append(wants, want)
	}
	// Outputs of earlier Runs were not recycled by later ones.
	for i := range kept {
		sameBits(t, fmt.Sprintf("kept run %d", i), wants[i], kept[i])
	}
}

// TestArenaGroups checks the compile-time alias groups of aliasModel.
func TestArenaGroups(t *testing.T) {
	p, err := Compile(aliasModel(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	slot := map[string]int{}
	for s, n := range p.names {
		slot[n] = s
	}
	same := func(a, b string) bool { return p.group[slot[a]] == p.group[slot[b]] }
	for _, pair := range [][2]string{{"a", "r"}, {"rb", "f"}, {"f", "f4"}} {
		if !same(pair[0], pair[1]) {
			t.Errorf("%s and %s in different alias groups", pair[0], pair[1])
		}
	}
	for _, pair := range [][2]string{{"a", "b"}, {"c", "d"}, {"rb", "b"}} {
		if same(pair[0], pair[1]) {
			t.Errorf("%s and %s in one alias group", pair[0], pair[1])
		}
	}
	released := map[int]bool{}
	for _, st := range p.steps {
		for _, g := range st.release {
			if released[g] {
				t.Errorf("group %d released twice", g)
			}
			released[g] = true
		}
	}
	for _, out := range p.outputSlots {
		if released[p.group[out]] {
			t.Errorf("the group of output %s is released", p.names[out])
		}
	}
	if !released[p.group[slot["rb"]]] || !released[p.group[slot["d"]]] {
		t.Errorf("intermediate groups are not released")
	}
}

// TestArenaReducesAllocation checks that, once warm, a Run allocates a
// small fraction of the bytes it allocates without reuse.
func TestArenaReducesAllocation(t *testing.T) {
	m := decodeZoo(t, "models", "trained", "cifar10", "cifar-resnet8.onnx")
	bytesPerRun := func(noReuse bool) uint64 {
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p.noReuse = noReuse
		feeds := randomInputs(t, p, 4, 1)
		mustRun(t, p, feeds)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 3
		for i := 0; i < runs; i++ {
			mustRun(t, p, feeds)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	heap, reuse := bytesPerRun(true), bytesPerRun(false)
	t.Logf("bytes per Run: %d without reuse, %d with", heap, reuse)
	if reuse*4 > heap {
		t.Errorf("reuse allocates %d bytes per Run, more than a quarter of %d", reuse, heap)
	}
}

// BenchmarkRunMemory compares the memory a Run allocates with buffer reuse
// (arena) and without (heap, as before reuse existed):
//
//	go test ./infer -run '^$' -bench RunMemory -benchmem
func BenchmarkRunMemory(b *testing.B) {
	for _, c := range []struct {
		file  string
		batch int
	}{
		{"trained/mnist/mnist-lenet.onnx", 50},
		{"trained/cifar10/cifar-resnet8.onnx", 16},
	} {
		m := decodeZoo(b, "models", c.file)
		for _, mode := range []string{"heap", "arena"} {
			b.Run(fmt.Sprintf("%s/batch%d/%s", c.file, c.batch, mode), func(b *testing.B) {
				p, err := Compile(m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				p.noReuse = mode == "heap"
				feeds := randomInputs(b, p, c.batch, 1)
				mustRun(b, p, feeds) // warm the arena
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := p.Run(feeds); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestArenaQLinearMatMul checks that QLinearMatMul nodes with a weight
// operand, which take their outputs from the arena, give the heap's bits:
// two chained products on a 3-D input, several Runs and batch sizes.
func TestArenaQLinearMatMul(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	weight := func(k, n int) *tensor.Tensor {
		w := tensor.New(tensor.Int8, tensor.Shape{k, n})
		for i := range w.I8 {
			w.I8[i] = int8(rng.Intn(255) - 127)
		}
		return w
	}
	f32 := func(v ...float32) *tensor.Tensor { return tensor.FromFloat32(tensor.Shape{len(v)}, v) }
	scalar := func(v float32) *tensor.Tensor { return tensor.FromFloat32(tensor.Shape{}, []float32{v}) }
	g := &graph.Graph{
		Inputs:  []graph.ValueInfo{{Name: "x", DType: tensor.Float32, Shape: []graph.Dim{{Param: "N", Value: -1}, {Value: 4}, {Value: 6}}}},
		Outputs: []graph.ValueInfo{{Name: "y", DType: tensor.Float32}},
		Initializers: map[string]*tensor.Tensor{
			"s": scalar(0.02), "z": tensor.FromUint8(tensor.Shape{}, []uint8{128}),
			"w1": weight(6, 5), "s1": f32(0.01, 0.02, 0.015, 0.03, 0.005), "z1": tensor.New(tensor.Int8, tensor.Shape{5}),
			"w2": weight(5, 3), "s2": scalar(0.02), "z2": tensor.New(tensor.Int8, tensor.Shape{}),
			"sy": scalar(0.05), "sy2": scalar(0.1),
		},
		Nodes: []*graph.Node{
			{OpType: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"q"}},
			{OpType: "QLinearMatMul", Inputs: []string{"q", "s", "z", "w1", "s1", "z1", "sy", "z"}, Outputs: []string{"m1"}},
			{OpType: "QLinearMatMul", Inputs: []string{"m1", "sy", "z", "w2", "s2", "z2", "sy2", "z"}, Outputs: []string{"m2"}},
			{OpType: "DequantizeLinear", Inputs: []string{"m2", "sy2", "z"}, Outputs: []string{"y"}},
		},
	}
	m := &graph.Model{IRVersion: 8, Opsets: map[string]int64{"": 13}, Graph: g}
	ref := heapTwin(t, m, Options{Integer: true})
	p, err := Compile(m, Options{Integer: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, batch := range []int{3, 3, 1, 5} {
		feeds := randomInputs(t, p, batch, int64(i))
		want := mustRun(t, ref, feeds)
		if y := want["y"]; y == nil || len(y.F32) != batch*4*3 || slices.Max(y.F32) == slices.Min(y.F32) {
			t.Fatalf("run %d: degenerate output %v", i, y)
		}
		sameBits(t, fmt.Sprintf("run %d (batch %d)", i, batch), want, mustRun(t, p, feeds))
	}
}

// TestIntegerCompileSkipsWeightDequantization checks that compiling a
// quantized model for integer execution does not dequantize the weights
// its fused nodes read in 8 bits: Compile allocates less than the float
// copy of the weights would take.
func TestIntegerCompileSkipsWeightDequantization(t *testing.T) {
	q := quantizeForTest(t, decodeZoo(t, "models", "trained", "mnist", "mnist-lenet.onnx"), 2)
	weights := 0
	for _, w := range q.Graph.Initializers {
		if w.DType == tensor.Int8 {
			weights += w.Len()
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Compile(q, Options{Integer: true}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc >= uint64(4*weights) {
		t.Errorf("Compile allocated %d bytes; the float weights would be %d", alloc, 4*weights)
	} else {
		t.Logf("Compile allocated %d bytes for %d int8 weights", alloc, weights)
	}
}
