package quantize

import (
	"regexp"
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

// addedName matches the names Quantize gives to what it adds, with any
// prefix of underscores.
var addedName = regexp.MustCompile(`^_*([qdfsz][0-9]+|w[0-9]+[sdz]?|b[0-9]+[sd]?)$`)

// checkNames checks that every name of q is either a name of the prepared
// input p or a short added name with the given prefix, and that added nodes
// have no name.
func checkNames(t *testing.T, p, q *graph.Graph, prefix string) {
	t.Helper()
	orig := map[string]bool{}
	for k := range p.Initializers {
		orig[k] = true
	}
	for _, v := range append(append([]graph.ValueInfo(nil), p.Inputs...), p.Outputs...) {
		orig[v.Name] = true
	}
	origNodes := map[string]bool{}
	for _, n := range p.Nodes {
		origNodes[n.Name] = true
		for _, s := range append(append([]string(nil), n.Inputs...), n.Outputs...) {
			orig[s] = true
		}
	}
	check := func(s string) {
		if s == "" || orig[s] {
			return
		}
		if !addedName.MatchString(s) || len(s) < len(prefix) || s[:len(prefix)] != prefix || (len(s) > len(prefix) && s[len(prefix)] == '_') {
			t.Errorf("added name %q is not of the documented form with prefix %q", s, prefix)
		}
	}
	for k := range q.Initializers {
		check(k)
	}
	for _, n := range q.Nodes {
		if n.Name != "" && !origNodes[n.Name] {
			t.Errorf("added node %s has a name", n.Label())
		}
		for _, s := range append(append([]string(nil), n.Inputs...), n.Outputs...) {
			check(s)
		}
	}
	if !slices.EqualFunc(p.Inputs, q.Inputs, func(a, b graph.ValueInfo) bool { return a.Name == b.Name }) ||
		!slices.EqualFunc(p.Outputs, q.Outputs, func(a, b graph.ValueInfo) bool { return a.Name == b.Name }) {
		t.Errorf("graph inputs/outputs renamed: %v -> %v, %v -> %v", p.Inputs, q.Inputs, p.Outputs, q.Outputs)
	}
}

func TestNamePrefixAvoidsClashes(t *testing.T) {
	cases := []struct {
		inter  string // name of the Conv output before the Relu
		weight string // name of the Conv weight
		prefix string
	}{
		{"c", "w", ""},
		{"d2", "w", "_"},
		{"b1s", "w", "_"},
		{"_q1", "w", ""},    // cannot clash with names without prefix
		{"wx", "w", ""},     // a letter without a digit after it cannot clash
		{"s", "w", ""},      // nor a letter alone
		{"z7", "_w0", "__"}, // "_w0" rules out the prefix "_" as well
	}
	for _, c := range cases {
		t.Run(c.inter+","+c.weight, func(t *testing.T) {
			m, r := convModel("Relu")
			g := m.Graph
			g.Initializers[c.weight] = g.Initializers["w"]
			if c.weight != "w" {
				delete(g.Initializers, "w")
			}
			for _, n := range g.Nodes {
				for i, s := range n.Inputs {
					switch s {
					case "c":
						n.Inputs[i] = c.inter
					case "w":
						n.Inputs[i] = c.weight
					}
				}
				for i, s := range n.Outputs {
					if s == "c" {
						n.Outputs[i] = c.inter
					}
				}
			}
			q, _ := mustQuantize(t, m, r)
			p, err := Prepare(m)
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, p.Graph, q.Graph, c.prefix)
			if _, ok := q.Graph.Initializers[c.prefix+"w1"]; !ok {
				t.Errorf("no weight %q: %v", c.prefix+"w1", q.Graph.InitializerNames())
			}
			if _, err := onnx.Encode(q); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBiasScaleSharedMul: two Gemms with the same input and weight but
// their own biases share the weight DequantizeLinear and the Mul that
// computes the bias scale.
func TestBiasScaleSharedMul(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 4, 3)
	b.randInit("b1", 4)
	b.randInit("b2", 4)
	tb := map[string]*graph.Attr{"transB": graph.IntAttr(1)}
	b.node("Gemm", "g1", []string{"x", "w", "b1"}, []string{"y1"}, tb)
	b.node("Gemm", "g2", []string{"x", "w", "b2"}, []string{"y2"}, tb)
	m := b.output("y1", "y2")
	q, _ := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: -1, Max: 1}, "y1": {Min: -3, Max: 3}, "y2": {Min: -4, Max: 4}})
	g := q.Graph
	ops := g.OpCounts()
	if ops["Mul"] != 1 || ops["DequantizeLinear"] != 3+1+2 /* x, y1, y2; w; b1, b2 */ {
		t.Fatalf("ops %v", ops)
	}
	g1, g2 := nodeByName(g, "g1"), nodeByName(g, "g2")
	if g1.Inputs[1] != g2.Inputs[1] || g1.Inputs[2] == g2.Inputs[2] {
		t.Fatalf("g1 %v g2 %v", g1.Inputs, g2.Inputs)
	}
	if s1, s2 := producerOf(g, producerOf(g, g1, 2), 1), producerOf(g, producerOf(g, g2, 2), 1); s1 != s2 || s1.OpType != "Mul" {
		t.Errorf("bias scales from %v and %v", s1, s2)
	}
}

// TestCompactStructure: stale value_info is dropped, default attributes and
// a kernel_shape implied by the weight are removed, other attributes stay.
func TestCompactStructure(t *testing.T) {
	b := newBuilder(13, "x")
	b.randInit("w", 4, 2, 3, 3)
	b.randInit("b", 4)
	b.randInit("fw", 10, 4)
	b.node("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, map[string]*graph.Attr{
		"dilations": graph.IntsAttr(1, 1), "group": graph.IntAttr(1), "strides": graph.IntsAttr(2, 2),
		"pads": graph.IntsAttr(0, 0, 0, 0), "kernel_shape": graph.IntsAttr(3, 3), "auto_pad": graph.StringAttr("NOTSET")})
	b.node("Relu", "relu", []string{"c"}, []string{"r"}, nil)
	b.node("MaxPool", "pool", []string{"r"}, []string{"p"}, map[string]*graph.Attr{
		"kernel_shape": graph.IntsAttr(2, 2), "strides": graph.IntsAttr(1, 1), "pads": graph.IntsAttr(0, 0, 1, 1)})
	b.node("Flatten", "flat", []string{"p"}, []string{"f"}, map[string]*graph.Attr{"axis": graph.IntAttr(1)})
	b.node("Gemm", "fc", []string{"f", "fw"}, []string{"y"}, map[string]*graph.Attr{
		"alpha": graph.FloatAttr(1), "beta": graph.FloatAttr(1), "transA": graph.IntAttr(0), "transB": graph.IntAttr(1)})
	m := b.output("y")
	m.Graph.ValueInfo = []graph.ValueInfo{{Name: "c", DType: tensor.Float32}, {Name: "p", DType: tensor.Float32}, {Name: "y", DType: tensor.Float32}}
	q, _ := mustQuantize(t, m, map[string]qmath.Range{"x": {Min: 0, Max: 1}, "r": {Min: 0, Max: 4}, "f": {Min: 0, Max: 4}, "y": {Min: -5, Max: 5}})
	g := q.Graph
	if len(g.ValueInfo) != 1 || g.ValueInfo[0].Name != "p" {
		t.Errorf("value_info %v, want only p", g.ValueInfo)
	}
	attrs := func(name string) []string {
		var s []string
		for k := range nodeByName(g, name).Attrs {
			s = append(s, k)
		}
		slices.Sort(s)
		return s
	}
	for node, want := range map[string][]string{
		"conv": {"strides"}, "pool": {"kernel_shape", "pads"}, "flat": nil, "fc": {"transB"},
	} {
		if got := attrs(node); !slices.Equal(got, want) {
			t.Errorf("%s attributes %v, want %v", node, got, want)
		}
	}
	if m.Graph.Nodes[0].AttrInts("dilations", nil) == nil {
		t.Error("input model changed")
	}
}
