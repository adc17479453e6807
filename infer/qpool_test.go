package infer

import (
	"math/rand"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// TestIntegerAveragePoolExact runs DequantizeLinear → AveragePool →
// QuantizeLinear fused on 8-bit values (Options.Integer) and as three
// float operators: the fused step repeats their float32 arithmetic, so the
// outputs agree bit for bit.
func TestIntegerAveragePoolExact(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	init := map[string]*tensor.Tensor{
		"sx": tensor.FromFloat32(nil, []float32{0.0371}), "zx": tensor.FromUint8(nil, []uint8{119}),
		"sy": tensor.FromFloat32(nil, []float32{0.0213}), "zy": tensor.FromUint8(nil, []uint8{7}),
	}
	g := &graph.Graph{
		Inputs:       []graph.ValueInfo{vi("xq", tensor.Uint8, -1, 3, 13, 11)},
		Outputs:      []graph.ValueInfo{vi("yq", tensor.Uint8, -1, 3, 7, 6)},
		Initializers: init,
		Nodes: []*graph.Node{
			node("dq", "DequantizeLinear", []string{"xq", "sx", "zx"}, []string{"x"}, nil),
			node("pool", "AveragePool", []string{"x"}, []string{"p"}, map[string]*graph.Attr{
				"kernel_shape": graph.IntsAttr(3, 3), "strides": graph.IntsAttr(2, 2), "pads": graph.IntsAttr(1, 1, 1, 1)}),
			node("q", "QuantizeLinear", []string{"p", "sy", "zy"}, []string{"yq"}, nil),
		},
	}
	m := &graph.Model{Opsets: map[string]int64{"": 13}, Graph: g}
	pf, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := Compile(m, Options{Integer: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := pi.Stats(); s.Uint8Nodes != 1 || s.FloatNodes != 0 {
		t.Fatalf("AveragePool not fused: %+v", s)
	}
	x := tensor.New(tensor.Uint8, tensor.Shape{2, 3, 13, 11})
	for i := range x.U8 {
		x.U8[i] = uint8(r.Intn(256))
	}
	feeds := map[string]*tensor.Tensor{"xq": x}
	sameBits(t, "AveragePool", mustRun(t, pf, feeds), mustRun(t, pi, feeds))
}
