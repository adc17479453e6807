package quantize

import (
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
)

// TestUpgradeOpsetKeepsResults builds small graphs in old-opset forms
// (attribute Slice and Split, Resize-10, Upsample with scales as an
// input or an attribute, Pad-11, Clip-6, ops added after opset 1), runs
// them as they are and after upgradeOpset, and requires bit-identical
// float results; each must then quantize.
func TestUpgradeOpsetKeepsResults(t *testing.T) {
	conv := func(b *builder, out string) {
		b.randInit("w", 4, 4, 3, 3)
		b.node("Conv", "conv", []string{"x", "w"}, []string{out}, map[string]*graph.Attr{"pads": graph.IntsAttr(1, 1, 1, 1)})
	}
	cases := []struct {
		name  string
		opset int64
		build func(b *builder) string // returns the output
	}{
		{"Slice-9", 9, func(b *builder) string {
			conv(b, "c")
			b.node("Slice", "slice", []string{"c"}, []string{"y"}, map[string]*graph.Attr{
				"starts": graph.IntsAttr(1, 0), "ends": graph.IntsAttr(5, -1), "axes": graph.IntsAttr(2, 3)})
			return "y"
		}},
		{"Slice-1 without axes", 1, func(b *builder) string {
			conv(b, "c")
			b.node("Slice", "slice", []string{"c"}, []string{"y"}, map[string]*graph.Attr{
				"starts": graph.IntsAttr(0, 1, 2, 0), "ends": graph.IntsAttr(1, 3, 100, 4)})
			return "y"
		}},
		{"Split-11", 11, func(b *builder) string {
			conv(b, "c")
			b.node("Split", "split", []string{"c"}, []string{"s0", "s1"}, map[string]*graph.Attr{"axis": graph.IntAttr(1), "split": graph.IntsAttr(1, 3)})
			b.node("Add", "add", []string{"s0", "s0"}, []string{"a"}, nil)
			b.node("Concat", "cat", []string{"a", "s1"}, []string{"y"}, map[string]*graph.Attr{"axis": graph.IntAttr(1)})
			return "y"
		}},
		{"Resize-10 nearest", 10, func(b *builder) string {
			conv(b, "c")
			b.init("scales", tensor.FromFloat32(tensor.Shape{4}, []float32{1, 1, 2, 1.5}))
			b.node("Resize", "resize", []string{"c", "scales"}, []string{"y"}, nil)
			return "y"
		}},
		{"Resize-10 linear", 10, func(b *builder) string {
			conv(b, "c")
			b.init("scales", tensor.FromFloat32(tensor.Shape{4}, []float32{1, 1, 2, 2}))
			b.node("Resize", "resize", []string{"c", "scales"}, []string{"y"}, map[string]*graph.Attr{"mode": graph.StringAttr("linear")})
			return "y"
		}},
		{"Upsample-9", 9, func(b *builder) string {
			conv(b, "c")
			b.init("scales", tensor.FromFloat32(tensor.Shape{4}, []float32{1, 1, 2, 2}))
			b.node("Upsample", "up", []string{"c", "scales"}, []string{"y"}, nil)
			return "y"
		}},
		{"Upsample-7 bilinear", 7, func(b *builder) string {
			conv(b, "c")
			b.node("Upsample", "up", []string{"c"}, []string{"y"}, map[string]*graph.Attr{
				"mode": graph.StringAttr("bilinear"), "scales": {Type: graph.AttrFloats, Floats: []float32{1, 1, 3, 2}}})
			return "y"
		}},
		{"Pad-11", 11, func(b *builder) string {
			conv(b, "c")
			b.init("pads", tensor.FromInt64(tensor.Shape{8}, []int64{0, 0, 1, 2, 0, 0, 2, 1}))
			b.node("Pad", "pad", []string{"c", "pads"}, []string{"y"}, nil)
			return "y"
		}},
		{"Clip-6 and Sign-9", 10, func(b *builder) string {
			conv(b, "c")
			b.node("Clip", "clip", []string{"c"}, []string{"k"}, map[string]*graph.Attr{
				"min": {Type: graph.AttrFloat, F: -0.5}, "max": {Type: graph.AttrFloat, F: 2}})
			b.node("Sign", "sign", []string{"k"}, []string{"s"}, nil)
			b.node("Mul", "mul", []string{"k", "s"}, []string{"y"}, nil)
			return "y"
		}},
	}
	x := tensor.New(tensor.Float32, tensor.Shape{1, 4, 6, 6})
	for i := range x.F32 {
		x.F32[i] = float32(i%13)/6 - 1
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(c.opset, "x")
			b.m.Graph.Inputs[0].Shape = []graph.Dim{{Value: 1}, {Value: 4}, {Value: 6}, {Value: 6}}
			m := b.output(c.build(b))
			run := func(m *graph.Model) *tensor.Tensor {
				t.Helper()
				p, err := infer.Compile(m, infer.Options{})
				if err != nil {
					t.Fatal(err)
				}
				out, err := p.Run(map[string]*tensor.Tensor{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				return out[m.Graph.Outputs[0].Name]
			}
			want := run(m)
			up := m.Clone()
			if err := upgradeOpset(up); err != nil {
				t.Fatal(err)
			}
			if up.Opset() != MinOpset {
				t.Fatalf("opset %d after the upgrade", up.Opset())
			}
			if got := run(up); !got.Equal(want) {
				t.Fatalf("results differ after the upgrade: shape %v, want %v", got.Shape, want.Shape)
			}
			ranges := observedRanges(t, m, x)
			if _, _, err := Quantize(m, ranges, Options{}); err != nil {
				t.Fatalf("quantize: %v", err)
			}
		})
	}
}

// TestUpgradeOpsetRefuses: forms without an opset-13 equivalent are errors
// naming the node.
func TestUpgradeOpsetRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		opset int64
		op    string
		attrs map[string]*graph.Attr
		want  string
	}{
		"Upsample-1 height_scale": {1, "Upsample", map[string]*graph.Attr{"height_scale": {Type: graph.AttrFloat, F: 2}, "scales": {Type: graph.AttrFloats, Floats: []float32{1, 1, 2, 2}}}, `attribute "height_scale"`},
		"Upsample without scales": {9, "Upsample", nil, "without scales"},
		"Resize-10 cubic":         {10, "Resize", map[string]*graph.Attr{"mode": graph.StringAttr("cubic")}, `mode "cubic"`},
		"Slice starts and ends":   {9, "Slice", map[string]*graph.Attr{"starts": graph.IntsAttr(0, 1), "ends": graph.IntsAttr(3)}, "2 starts and 1 ends"},
		"Pad-1":                   {1, "Pad", map[string]*graph.Attr{"paddings": graph.IntsAttr(0, 0, 0, 0)}, "op Pad of opset 1"},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBuilder(c.opset, "x")
			b.node(c.op, "n", []string{"x"}, []string{"y"}, c.attrs)
			err := upgradeOpset(b.output("y"))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"n"`) {
				t.Errorf("error %v, want one naming node n and %s", err, c.want)
			}
		})
	}
}
