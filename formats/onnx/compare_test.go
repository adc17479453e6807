package onnx

import (
	"fmt"
	"math"
	"reflect"
	"sort"

	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/tensor"
)

// diffModels returns "" when a and b are structurally equal, else a
// description of the first difference. Floats compare by bits, except that
// any two NaNs are equal.
func diffModels(a, b *graph.Model) string {
	if (a == nil) != (b == nil) {
		return "one model is nil"
	}
	if a == nil {
		return ""
	}
	type field struct {
		name string
		x, y any
	}
	for _, f := range []field{
		{"IRVersion", a.IRVersion, b.IRVersion},
		{"ProducerName", a.ProducerName, b.ProducerName},
		{"ProducerVersion", a.ProducerVersion, b.ProducerVersion},
		{"Domain", a.Domain, b.Domain},
		{"ModelVersion", a.ModelVersion, b.ModelVersion},
		{"DocString", a.DocString, b.DocString},
	} {
		if f.x != f.y {
			return fmt.Sprintf("%s: %v != %v", f.name, f.x, f.y)
		}
	}
	if len(a.Opsets) != len(b.Opsets) {
		return fmt.Sprintf("Opsets: %v != %v", a.Opsets, b.Opsets)
	}
	for k, v := range a.Opsets {
		if w, ok := b.Opsets[k]; !ok || w != v {
			return fmt.Sprintf("Opsets: %v != %v", a.Opsets, b.Opsets)
		}
	}
	if len(a.Metadata) != len(b.Metadata) || len(a.Metadata) > 0 && !reflect.DeepEqual(a.Metadata, b.Metadata) {
		return fmt.Sprintf("Metadata: %v != %v", a.Metadata, b.Metadata)
	}
	return diffGraphs(a.Graph, b.Graph)
}

func diffGraphs(a, b *graph.Graph) string {
	if (a == nil) != (b == nil) {
		return "one graph is nil"
	}
	if a == nil {
		return ""
	}
	if a.Name != b.Name || a.DocString != b.DocString {
		return fmt.Sprintf("graph name/doc: %q/%q != %q/%q", a.Name, a.DocString, b.Name, b.DocString)
	}
	for _, l := range []struct {
		name string
		x, y []graph.ValueInfo
	}{{"Inputs", a.Inputs, b.Inputs}, {"Outputs", a.Outputs, b.Outputs}, {"ValueInfo", a.ValueInfo, b.ValueInfo}} {
		if len(l.x) != len(l.y) {
			return fmt.Sprintf("%s: %d != %d entries", l.name, len(l.x), len(l.y))
		}
		for i := range l.x {
			if !reflect.DeepEqual(l.x[i], l.y[i]) {
				return fmt.Sprintf("%s[%d]: %+v != %+v", l.name, i, l.x[i], l.y[i])
			}
		}
	}
	an, bn := sortedKeys(a.Initializers), sortedKeys(b.Initializers)
	if !reflect.DeepEqual(an, bn) {
		return fmt.Sprintf("initializer names: %v != %v", an, bn)
	}
	for _, k := range an {
		if d := diffTensors(a.Initializers[k], b.Initializers[k]); d != "" {
			return fmt.Sprintf("initializer %q: %s", k, d)
		}
	}
	if len(a.Nodes) != len(b.Nodes) {
		return fmt.Sprintf("%d != %d nodes", len(a.Nodes), len(b.Nodes))
	}
	for i := range a.Nodes {
		if d := diffNodes(a.Nodes[i], b.Nodes[i]); d != "" {
			return fmt.Sprintf("node #%d %s: %s", i, a.Nodes[i].Label(), d)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func diffNodes(a, b *graph.Node) string {
	if a.Name != b.Name || a.OpType != b.OpType || a.Domain != b.Domain || a.DocString != b.DocString {
		return fmt.Sprintf("header %q %q %q != %q %q %q", a.Name, a.OpType, a.Domain, b.Name, b.OpType, b.Domain)
	}
	if !equalStrings(a.Inputs, b.Inputs) || !equalStrings(a.Outputs, b.Outputs) {
		return fmt.Sprintf("wiring %v->%v != %v->%v", a.Inputs, a.Outputs, b.Inputs, b.Outputs)
	}
	ak, bk := sortedKeys(a.Attrs), sortedKeys(b.Attrs)
	if !reflect.DeepEqual(ak, bk) {
		return fmt.Sprintf("attribute names %v != %v", ak, bk)
	}
	for _, k := range ak {
		if d := diffAttrs(a.Attrs[k], b.Attrs[k]); d != "" {
			return fmt.Sprintf("attribute %q: %s", k, d)
		}
	}
	return ""
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameFloat(x, y float32) bool {
	return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
}

func diffAttrs(a, b *graph.Attr) string {
	if a.Type != b.Type {
		return fmt.Sprintf("type %d != %d", a.Type, b.Type)
	}
	switch a.Type {
	case graph.AttrFloat:
		if !sameFloat(a.F, b.F) {
			return fmt.Sprintf("%v != %v", a.F, b.F)
		}
	case graph.AttrInt:
		if a.I != b.I {
			return fmt.Sprintf("%v != %v", a.I, b.I)
		}
	case graph.AttrString:
		if a.S != b.S {
			return fmt.Sprintf("%q != %q", a.S, b.S)
		}
	case graph.AttrTensor:
		return diffTensors(a.T, b.T)
	case graph.AttrFloats:
		if len(a.Floats) != len(b.Floats) {
			return fmt.Sprintf("%v != %v", a.Floats, b.Floats)
		}
		for i := range a.Floats {
			if !sameFloat(a.Floats[i], b.Floats[i]) {
				return fmt.Sprintf("%v != %v", a.Floats, b.Floats)
			}
		}
	case graph.AttrInts:
		if len(a.Ints) != len(b.Ints) || len(a.Ints) > 0 && !reflect.DeepEqual(a.Ints, b.Ints) {
			return fmt.Sprintf("%v != %v", a.Ints, b.Ints)
		}
	case graph.AttrStrings:
		if !equalStrings(a.Strings, b.Strings) {
			return fmt.Sprintf("%q != %q", a.Strings, b.Strings)
		}
	}
	return ""
}

// diffTensors compares type, shape and every element (floats by bits, NaNs
// equal), and that no backing slice other than the one of the type is used.
func diffTensors(a, b *tensor.Tensor) string {
	if (a == nil) != (b == nil) {
		return "one tensor is nil"
	}
	if a == nil {
		return ""
	}
	if a.DType != b.DType || !a.Shape.Equal(b.Shape) {
		return fmt.Sprintf("%v%v != %v%v", a.DType, a.Shape, b.DType, b.Shape)
	}
	for _, t := range []*tensor.Tensor{a, b} {
		if err := t.Validate(); err != nil {
			return err.Error()
		}
		used := 0
		for _, n := range []bool{t.F32 != nil, t.U8 != nil, t.I8 != nil, t.I32 != nil, t.I64 != nil} {
			if n {
				used++
			}
		}
		if used > 1 {
			return "more than one backing slice in use"
		}
	}
	if a.DType == tensor.Float32 {
		for i := range a.F32 {
			if !sameFloat(a.F32[i], b.F32[i]) {
				return fmt.Sprintf("element %d: %v != %v", i, a.F32[i], b.F32[i])
			}
		}
		return ""
	}
	if !a.Equal(b) {
		return "elements differ"
	}
	return ""
}
