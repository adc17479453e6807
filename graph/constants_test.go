package graph

import (
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/tensor"
)

// node builds a node from "Op in1,in2 -> out1,out2" (names may be empty).
func node(spec string) *Node {
	lhs, rhs, _ := strings.Cut(spec, "->")
	lhs, rhs = strings.TrimSpace(lhs), strings.TrimSpace(rhs)
	op, ins, _ := strings.Cut(lhs, " ")
	n := &Node{OpType: op}
	if d, o, ok := strings.Cut(op, ":"); ok {
		n.Domain, n.OpType = d, o
	}
	if ins = strings.TrimSpace(ins); ins != "" {
		n.Inputs = strings.Split(ins, ",")
	}
	if rhs != "" {
		n.Outputs = strings.Split(rhs, ",")
	}
	return n
}

// render is the inverse of node, one node per line.
func render(g *Graph) string {
	var b strings.Builder
	for _, n := range g.Nodes {
		op := n.OpType
		if n.Domain != "" {
			op = n.Domain + ":" + op
		}
		b.WriteString(op + " " + strings.Join(n.Inputs, ",") + " -> " + strings.Join(n.Outputs, ",") + "\n")
	}
	return b.String()
}

func names(vs []ValueInfo) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.Name
	}
	return strings.Join(s, ",")
}

func TestInlineConstants(t *testing.T) {
	w := tensor.FromFloat32(tensor.Shape{2, 2}, []float32{1, 2, 3, 4})
	tests := []struct {
		name  string
		attrs map[string]*Attr
		want  *tensor.Tensor
		err   string
	}{
		{"tensor", map[string]*Attr{"value": TensorAttr(w)}, w, ""},
		{"float", map[string]*Attr{"value_float": FloatAttr(0.25)}, tensor.ScalarFloat32(0.25), ""},
		{"floats", map[string]*Attr{"value_floats": {Type: AttrFloats, Floats: []float32{1, -1, 2}}},
			tensor.FromFloat32(tensor.Shape{3}, []float32{1, -1, 2}), ""},
		{"empty floats", map[string]*Attr{"value_floats": {Type: AttrFloats}}, tensor.FromFloat32(tensor.Shape{0}, nil), ""},
		{"int", map[string]*Attr{"value_int": IntAttr(-4)}, tensor.FromInt64(nil, []int64{-4}), ""},
		{"ints", map[string]*Attr{"value_ints": IntsAttr(1, 0, -1, 3)}, tensor.FromInt64(tensor.Shape{4}, []int64{1, 0, -1, 3}), ""},
		{"string", map[string]*Attr{"value_string": StringAttr("hi")}, nil, `"value_string" is not supported`},
		{"strings", map[string]*Attr{"value_strings": {Type: AttrStrings, Strings: []string{"a"}}}, nil, `"value_strings" is not supported`},
		{"sparse", map[string]*Attr{"sparse_value": {Type: 11}}, nil, `"sparse_value" is not supported`},
		{"none", nil, nil, "exactly one value attribute, have 0"},
		{"two", map[string]*Attr{"value_int": IntAttr(1), "value_float": FloatAttr(1)}, nil, "have 2"},
		{"wrong type", map[string]*Attr{"value_int": FloatAttr(1)}, nil, `"value_int" has attribute type 1, want 2`},
		{"no tensor", map[string]*Attr{"value": {Type: AttrTensor}}, nil, "holds no tensor"},
		{"bad tensor", map[string]*Attr{"value": TensorAttr(&tensor.Tensor{DType: tensor.Float32, Shape: tensor.Shape{3}})}, nil, "has 0 elements"},
		{"nil attr", map[string]*Attr{"value": nil}, nil, "is nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := node("Constant -> c")
			c.Name = "const1"
			c.Attrs = tc.attrs
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "x"}},
				Outputs: []ValueInfo{{Name: "y"}},
				Nodes:   []*Node{node("Relu x -> r"), c, node("Add r,c -> y")},
			}
			before := render(g)
			err := g.InlineConstants()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), `Constant "const1"`) {
					t.Fatalf("error %v, want one naming the node and containing %q", err, tc.err)
				}
				if render(g) != before || len(g.Initializers) != 0 {
					t.Errorf("graph changed on error:\n%s", render(g))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := render(g); got != "Relu x -> r\nAdd r,c -> y\n" {
				t.Errorf("nodes after inlining:\n%s", got)
			}
			got := g.Initializers["c"]
			if got == nil || !got.Equal(tc.want) || got.Validate() != nil {
				t.Errorf("initializer c = %+v, want %+v", got, tc.want)
			}
			if err := g.Validate(); err != nil {
				t.Errorf("graph invalid after inlining: %v", err)
			}
		})
	}
}

func TestInlineConstantsGraph(t *testing.T) {
	c1 := node("Constant -> shape")
	c1.Attrs = map[string]*Attr{"value_ints": IntsAttr(1, -1)}
	c2 := node("Constant -> k")
	c2.Attrs = map[string]*Attr{"value_float": FloatAttr(2)}
	custom := node("my.domain:Constant -> other")
	g := &Graph{
		Inputs:       []ValueInfo{{Name: "x"}},
		Outputs:      []ValueInfo{{Name: "y"}, {Name: "k"}},
		Initializers: map[string]*tensor.Tensor{"w": tensor.ScalarFloat32(1)},
		Nodes:        []*Node{c1, node("Reshape x,shape -> r"), c2, node("Mul r,k -> m"), custom, node("Add m,w -> y")},
	}
	if err := g.InlineConstants(); err != nil {
		t.Fatal(err)
	}
	if got := render(g); got != "Reshape x,shape -> r\nMul r,k -> m\nmy.domain:Constant  -> other\nAdd m,w -> y\n" {
		t.Errorf("nodes:\n%s", got)
	}
	if len(g.Initializers) != 3 || g.Initializers["shape"].I64[1] != -1 || g.Initializers["k"].F32[0] != 2 {
		t.Errorf("initializers %v", g.Initializers)
	}
	if err := g.Validate(); err != nil {
		t.Errorf("graph invalid: %v", err)
	}

	// Conflicts with existing names are errors.
	for _, existing := range []string{"initializer", "input", "constant"} {
		c := node("Constant -> v")
		c.Attrs = map[string]*Attr{"value_int": IntAttr(1)}
		g := &Graph{Nodes: []*Node{c}}
		switch existing {
		case "initializer":
			g.Initializers = map[string]*tensor.Tensor{"v": tensor.ScalarFloat32(1)}
		case "input":
			g.Inputs = []ValueInfo{{Name: "v"}}
		case "constant":
			g.Nodes = append(g.Nodes, c.Clone())
		}
		if err := g.InlineConstants(); err == nil || !strings.Contains(err.Error(), `"v"`) {
			t.Errorf("%s named like the constant: error %v", existing, err)
		}
	}
	// Outputs must be exactly one name.
	for _, spec := range []string{"Constant ->", "Constant -> a,b", "Constant -> "} {
		c := node(spec)
		c.Attrs = map[string]*Attr{"value_int": IntAttr(1)}
		if err := (&Graph{Nodes: []*Node{c}}).InlineConstants(); err == nil {
			t.Errorf("%q: no error", spec)
		}
	}
	// No constants: nothing changes, nil initializer map stays nil.
	g = &Graph{Nodes: []*Node{node("Relu x -> y")}}
	if err := g.InlineConstants(); err != nil || g.Initializers != nil {
		t.Errorf("graph without constants: %v %v", err, g.Initializers)
	}
}

func TestRemoveIdentities(t *testing.T) {
	tests := []struct {
		name      string
		inputs    string // graph inputs
		inits     string // initializer names
		outputs   string // graph outputs
		nodes     []string
		valueInfo string
		want      []string
		wantVI    string
	}{
		{
			name: "middle identity", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Identity a -> b", "Sigmoid b -> c", "Tanh b -> y2", "Add c,y2 -> y"},
			want:  []string{"Relu x -> a", "Sigmoid a -> c", "Tanh a -> y2", "Add c,y2 -> y"},
		},
		{
			name: "identity to output renames producer", inputs: "x", outputs: "y",
			nodes:     []string{"Relu x -> a", "Sigmoid a -> s", "Identity a -> y"},
			want:      []string{"Relu x -> y", "Sigmoid y -> s"},
			valueInfo: "a,s", wantVI: "y,s",
		},
		{
			name: "chain to output", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Identity a -> b", "Identity b -> c", "Identity c -> y"},
			want:  []string{"Relu x -> y"},
		},
		{
			name: "graph input to output kept", inputs: "x", outputs: "y",
			nodes: []string{"Identity x -> y"},
			want:  []string{"Identity x -> y"},
		},
		{
			name: "initializer to output kept", inputs: "x", inits: "w", outputs: "y,z",
			nodes: []string{"Identity w -> y", "Relu x -> z"},
			want:  []string{"Identity w -> y", "Relu x -> z"},
		},
		{
			name: "initializer to inner value rewired", inputs: "x", inits: "w", outputs: "y",
			nodes: []string{"Identity w -> v", "Add x,v -> y"},
			want:  []string{"Add x,w -> y"},
		},
		{
			name: "output to output kept", inputs: "x", outputs: "a,y",
			nodes: []string{"Relu x -> a", "Identity a -> y"},
			want:  []string{"Relu x -> a", "Identity a -> y"},
		},
		{
			name: "dropout without mask", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Dropout a -> d", "Sigmoid d -> y"},
			want:  []string{"Relu x -> a", "Sigmoid a -> y"},
		},
		{
			name: "dropout with unused mask", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Dropout a,ratio -> d,mask", "Sigmoid d -> y"},
			inits: "ratio",
			want:  []string{"Relu x -> a", "Sigmoid a -> y"},
		},
		{
			name: "dropout with empty mask name to output", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Dropout a -> y,"},
			want:  []string{"Relu x -> y"},
		},
		{
			name: "dropout with used mask kept", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "Dropout a -> d,mask", "Where mask,d,a -> y"},
			want:  []string{"Relu x -> a", "Dropout a -> d,mask", "Where mask,d,a -> y"},
		},
		{
			name: "dropout with mask as graph output kept", inputs: "x", outputs: "y,mask",
			nodes: []string{"Relu x -> a", "Dropout a -> d,mask", "Sigmoid d -> y"},
			want:  []string{"Relu x -> a", "Dropout a -> d,mask", "Sigmoid d -> y"},
		},
		{
			name: "multi-output producer", inputs: "x", outputs: "y,v",
			nodes: []string{"Split x -> p,q", "Identity q -> y", "Relu p -> v"},
			want:  []string{"Split x -> p,y", "Relu p -> v"},
		},
		{
			name: "custom domain identity kept", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> a", "com.example:Identity a -> b", "Sigmoid b -> y"},
			want:  []string{"Relu x -> a", "com.example:Identity a -> b", "Sigmoid b -> y"},
		},
		{
			name: "value info of removed value", inputs: "x", outputs: "y",
			nodes:     []string{"Relu x -> a", "Identity a -> b", "Sigmoid b -> y"},
			valueInfo: "a,b", wantVI: "a",
		},
		{
			name: "value info moved to input name", inputs: "x", outputs: "y",
			nodes:     []string{"Relu x -> a", "Identity a -> b", "Sigmoid b -> y"},
			valueInfo: "b", wantVI: "a",
		},
		{
			name: "no identities", inputs: "x", outputs: "y",
			nodes: []string{"Relu x -> y"},
			want:  []string{"Relu x -> y"},
		},
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{Initializers: map[string]*tensor.Tensor{}}
			for _, n := range split(tc.inputs) {
				g.Inputs = append(g.Inputs, ValueInfo{Name: n})
			}
			for _, n := range split(tc.inits) {
				g.Initializers[n] = tensor.ScalarFloat32(0.5)
			}
			for _, n := range split(tc.outputs) {
				g.Outputs = append(g.Outputs, ValueInfo{Name: n})
			}
			for _, n := range split(tc.valueInfo) {
				g.ValueInfo = append(g.ValueInfo, ValueInfo{Name: n})
			}
			for _, s := range tc.nodes {
				g.Nodes = append(g.Nodes, node(s))
			}
			if err := g.Clone().Validate(); err != nil {
				t.Fatalf("test graph invalid: %v", err)
			}
			outputs := names(g.Outputs)
			g.RemoveIdentities()
			if tc.want != nil {
				want := strings.Join(tc.want, "\n") + "\n"
				if got := render(g); got != want {
					t.Errorf("got nodes\n%swant\n%s", got, want)
				}
			}
			if got := names(g.ValueInfo); got != tc.wantVI {
				t.Errorf("value infos %q, want %q", got, tc.wantVI)
			}
			if got := names(g.Outputs); got != outputs {
				t.Errorf("graph outputs changed: %q, want %q", got, outputs)
			}
			if err := g.Validate(); err != nil {
				t.Errorf("graph invalid after removal: %v\n%s", err, render(g))
			}
		})
	}
}
