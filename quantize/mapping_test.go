package quantize

import (
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/qmath"
)

// TestActivations: the input and the fused Conv+Relu output (a graph
// output, written by its DequantizeLinear) map back to their float names,
// with the parameters the Q/DQ pair reads; a MaxPool output reuses its
// input's range.
func TestActivations(t *testing.T) {
	m, r := convModel("Relu")
	q, _ := mustQuantize(t, m, r)
	acts, err := Activations(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 2 {
		t.Fatalf("%d activations %+v, want x and y", len(acts), acts)
	}
	for _, a := range acts {
		p := actParamsOf(t, q.Graph, a.Float)
		if a.Scale != p.Scale || a.ZeroPoint != p.ZeroPoint || a.QMin != 0 || a.QMax != 255 || a.RangeOf != a.Float {
			t.Errorf("%+v, want params %+v", a, p)
		}
		if a.Dequantized != dqOut(t, q.Graph, a.Float) && a.Float != "y" {
			t.Errorf("%s: dequantized %s", a.Float, a.Dequantized)
		}
	}
	if acts[0].Float != "x" || acts[0].Op != "" || acts[1].Float != "y" || acts[1].Op != "Conv" || acts[1].Dequantized != "y" {
		t.Errorf("activations %+v", acts)
	}

	// Conv → MaxPool: the pool output reuses the Conv output's range.
	b := newBuilder(13, "x")
	b.randInit("w", 3, 2, 3, 3)
	b.randInit("b", 3)
	b.node("Conv", "conv", []string{"x", "w", "b"}, []string{"c"}, nil)
	b.node("MaxPool", "pool", []string{"c"}, []string{"p"}, map[string]*graph.Attr{"kernel_shape": graph.IntsAttr(2, 2)})
	b.node("Flatten", "flat", []string{"p"}, []string{"y"}, nil)
	m = b.output("y")
	q, _ = mustQuantize(t, m, map[string]qmath.Range{"x": {Min: 0, Max: 1}, "c": {Min: -4, Max: 5}, "p": {Min: -4, Max: 5}, "y": {Min: -4, Max: 5}})
	if acts, err = Activations(q); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range acts {
		if a.Float == "p" {
			found = true
			if a.RangeOf != "c" || a.Op != "MaxPool" {
				t.Errorf("pool output %+v, want its range from c", a)
			}
		}
	}
	if !found {
		t.Errorf("no activation p in %+v", acts)
	}
}
