package quantize

import (
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/graph"
)

// nameKinds are the letters that start the names Quantize gives to what it
// adds (see the package documentation).
const nameKinds = "qdszfwb"

// namer makes the short names of the tensors Quantize adds: prefix, a kind
// letter, a number and an optional suffix letter. The prefix is the first of
// "", "_", "__", ... such that no name already in the graph starts with the
// prefix followed by a kind letter and a digit, so the new names cannot
// collide with existing ones.
type namer struct{ prefix string }

func newNamer(g *graph.Graph) namer {
	var names []string
	add := func(s string) {
		if s != "" {
			names = append(names, s)
		}
	}
	for k := range g.Initializers {
		add(k)
	}
	for _, vs := range [][]graph.ValueInfo{g.Inputs, g.Outputs, g.ValueInfo} {
		for _, v := range vs {
			add(v.Name)
		}
	}
	for _, n := range g.Nodes {
		add(n.Name)
		for _, s := range n.Inputs {
			add(s)
		}
		for _, s := range n.Outputs {
			add(s)
		}
	}
	prefix := ""
	for clashes(names, prefix) {
		prefix += "_"
	}
	return namer{prefix: prefix}
}

// clashes reports whether some name could be one that namer makes with
// prefix.
func clashes(names []string, prefix string) bool {
	for _, s := range names {
		if len(s) >= len(prefix)+2 && strings.HasPrefix(s, prefix) &&
			strings.IndexByte(nameKinds, s[len(prefix)]) >= 0 && isDigit(s[len(prefix)+1]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// name returns prefix + kind + num + suffix, for example "q12" or "w3s".
func (n namer) name(kind byte, num int, suffix string) string {
	return n.prefix + string(kind) + strconv.Itoa(num) + suffix
}
