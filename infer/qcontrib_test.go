package infer

import (
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// TestContribQuantOps runs com.microsoft QLinearAdd (with broadcasting) and
// QLinearGlobalAveragePool nodes and compares them with the fused QDQ
// patterns they stand for.
func TestContribQuantOps(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	a := tensor.New(tensor.Uint8, tensor.Shape{2, 3, 4, 4})
	b := tensor.New(tensor.Uint8, tensor.Shape{2, 3, 4, 4})
	for i := range a.U8 {
		a.U8[i], b.U8[i] = uint8(rng.Intn(256)), uint8(rng.Intn(256))
	}
	pa := qmath.Params{Scale: 0.058266256, ZeroPoint: 130}
	pb := qmath.Params{Scale: 0.062411766, ZeroPoint: 115}
	pc := qmath.Params{Scale: 0.08745084, ZeroPoint: 117}
	u8 := func(v uint8) *tensor.Tensor {
		z := tensor.New(tensor.Uint8, tensor.Shape{})
		z.U8[0] = v
		return z
	}
	init := map[string]*tensor.Tensor{
		"sa": tensor.ScalarFloat32(pa.Scale), "za": u8(uint8(pa.ZeroPoint)),
		"sb": tensor.ScalarFloat32(pb.Scale), "zb": u8(uint8(pb.ZeroPoint)),
		"sc": tensor.ScalarFloat32(pc.Scale), "zc": u8(uint8(pc.ZeroPoint)),
	}
	vi := func(n string) graph.ValueInfo { return graph.ValueInfo{Name: n, DType: tensor.Uint8} }
	model := func(nodes []*graph.Node, opsets map[string]int64, outs ...string) *graph.Model {
		g := &graph.Graph{Name: "t", Inputs: []graph.ValueInfo{vi("a"), vi("b")}, Initializers: map[string]*tensor.Tensor{}, Nodes: nodes}
		for k, v := range init {
			g.Initializers[k] = v
		}
		for _, o := range outs {
			g.Outputs = append(g.Outputs, vi(o))
		}
		return &graph.Model{IRVersion: 8, Opsets: opsets, Graph: g}
	}
	contrib := model([]*graph.Node{
		{OpType: "QLinearAdd", Domain: msDomain, Inputs: []string{"a", "sa", "za", "b", "sb", "zb", "sc", "zc"}, Outputs: []string{"y"}},
		{OpType: "QLinearGlobalAveragePool", Domain: msDomain, Inputs: []string{"y", "sc", "zc", "sa", "za"}, Outputs: []string{"p"}},
	}, map[string]int64{"": 13, msDomain: 1}, "y", "p")
	qdq := model([]*graph.Node{
		{OpType: "DequantizeLinear", Inputs: []string{"a", "sa", "za"}, Outputs: []string{"da"}},
		{OpType: "DequantizeLinear", Inputs: []string{"b", "sb", "zb"}, Outputs: []string{"db"}},
		{OpType: "Add", Inputs: []string{"da", "db"}, Outputs: []string{"s"}},
		{OpType: "QuantizeLinear", Inputs: []string{"s", "sc", "zc"}, Outputs: []string{"y"}},
		{OpType: "DequantizeLinear", Inputs: []string{"y", "sc", "zc"}, Outputs: []string{"dy"}},
		{OpType: "GlobalAveragePool", Inputs: []string{"dy"}, Outputs: []string{"g"}},
		{OpType: "QuantizeLinear", Inputs: []string{"g", "sa", "za"}, Outputs: []string{"p"}},
	}, map[string]int64{"": 13}, "y", "p")
	in := map[string]*tensor.Tensor{"a": a, "b": b}
	run := func(m *graph.Model) map[string]*tensor.Tensor {
		t.Helper()
		p, err := Compile(m, Options{Integer: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	got, want := run(contrib), run(qdq)
	for _, o := range []string{"y", "p"} {
		if !got[o].Shape.Equal(want[o].Shape) || string(got[o].U8) != string(want[o].U8) {
			t.Errorf("%s: contrib op gives %v %v, fused QDQ %v %v", o, got[o].Shape, got[o].U8[:8], want[o].Shape, want[o].U8[:8])
		}
	}
	// Broadcasting: b of shape [3,1,1] against a.
	bb := tensor.New(tensor.Uint8, tensor.Shape{3, 1, 1})
	bb.U8 = []uint8{140, 0, 255}
	in["b"] = bb
	res := run(contrib)
	add := kernels.NewQAdd(pa, pb, pc, 0, 255, false).At
	for i, v := range res["y"].U8 {
		c := (i / 16) % 3
		if w := uint8(add(int32(a.U8[i]), int32(bb.U8[c]))); v != w {
			t.Fatalf("broadcast QLinearAdd element %d = %d, want %d", i, v, w)
		}
	}
}

// TestQAdd checks the quantized Add of fused and contrib nodes against
// the element function on random uint8 and int8 tensors, with and without
// broadcasting index maps, below and above the table size.
func TestQAdd(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, dt := range []tensor.DType{tensor.Uint8, tensor.Int8} {
		pa := qmath.Params{Scale: 0.031, ZeroPoint: 17}
		pb := qmath.Params{Scale: 0.0123, ZeroPoint: 200}
		pc := qmath.Params{Scale: 0.05, ZeroPoint: 128}
		lo, hi := int32(0), int32(255)
		if dt == tensor.Int8 {
			pa.ZeroPoint, pb.ZeroPoint, pc.ZeroPoint = -11, 72, 0
			lo, hi = -128, 127
		}
		q := kernels.NewQAdd(pa, pb, pc, lo, hi, dt == tensor.Int8)
		for _, n := range []int{3000, qaddTableMin + 5} {
			a, b := tensor.New(dt, tensor.Shape{n}), tensor.New(dt, tensor.Shape{n})
			ia, ib := make([]int, n), make([]int, n)
			for i := 0; i < n; i++ {
				if dt == tensor.Int8 {
					a.I8[i], b.I8[i] = int8(r.Intn(256)-128), int8(r.Intn(256)-128)
				} else {
					a.U8[i], b.U8[i] = uint8(r.Intn(256)), uint8(r.Intn(256))
				}
				ia[i], ib[i] = r.Intn(n), r.Intn(n)
			}
			for _, maps := range [][2][]int{{nil, nil}, {ia, ib}, {nil, ib}} {
				got := qadd(a, b, a.Shape, maps[0], maps[1], q)
				for i := 0; i < n; i++ {
					j, k := i, i
					if maps[0] != nil {
						j = maps[0][i]
					}
					if maps[1] != nil {
						k = maps[1][i]
					}
					var av, bv, g int32
					if dt == tensor.Int8 {
						av, bv, g = int32(a.I8[j]), int32(b.I8[k]), int32(got.I8[i])
					} else {
						av, bv, g = int32(a.U8[j]), int32(b.U8[k]), int32(got.U8[i])
					}
					if w := q.At(av, bv); g != w {
						t.Fatalf("%v element %d of %d: qadd gives %d, function %d", dt, i, n, g, w)
					}
				}
			}
		}
	}
}
