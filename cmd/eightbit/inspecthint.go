package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/eightbitml/eightbit/graph"
)

// manifestEntry drafts the zoo.yaml entry a model needs (docs/zoo-manifest.md),
// from its inputs and outputs: which input gets the images, their
// channels, size and layout, the per-sample shape of a flat input, which
// output holds the class scores and how many classes the dataset needs.
// Comments say what inspect cannot know (mean/std, label offset).
func manifestEntry(loc string, g *graph.Graph) string {
	var b strings.Builder
	name := strings.TrimSuffix(path.Base(strings.ReplaceAll(loc, "\\", "/")), path.Ext(loc))
	fmt.Fprintf(&b, "- name: %s\n  file: %s\n", name, path.Base(strings.ReplaceAll(loc, "\\", "/")))
	var ins []graph.ValueInfo
	for _, v := range g.Inputs {
		if !g.IsInitializer(v.Name) {
			ins = append(ins, v)
		}
	}
	if len(ins) == 0 {
		b.WriteString("  # the model has no inputs to feed\n")
		return b.String()
	}
	in := ins[0]
	pre := []string{}
	dataset := "a dataset"
	known := func(d graph.Dim) bool { return d.Param == "" && d.Value > 0 }
	channels := func(c int64) string {
		if c == 1 {
			return "gray images (1 channel)"
		}
		return fmt.Sprintf("images of %d channels", c)
	}
	s := in.Shape
	isChannels := func(d graph.Dim) bool { return known(d) && (d.Value == 1 || d.Value == 3) }
	// image describes an NCHW or NHWC image input: channels at c, height
	// and width at h and h+1.
	image := func(c, h int, layout string) {
		pre = append(pre, fmt.Sprintf("channels: %d", s[c].Value))
		dataset = channels(s[c].Value)
		if known(s[h]) && known(s[h+1]) {
			pre = append(pre, fmt.Sprintf("resize: {width: %d, height: %d}", s[h+1].Value, s[h].Value))
			dataset += fmt.Sprintf(", resized to %d×%d", s[h+1].Value, s[h].Value)
		}
		pre = append(pre, "layout: "+layout)
	}
	switch {
	case len(s) == 4 && isChannels(s[1]):
		image(1, 2, "NCHW")
	case len(s) == 4 && isChannels(s[3]):
		image(3, 1, "NHWC")
	case len(s) >= 2 && graph.Static(s[1:]):
		var dims []string
		for _, d := range s[1:] {
			dims = append(dims, fmt.Sprint(d.Value))
		}
		pre = append(pre, "shape: ["+strings.Join(dims, ", ")+"]")
		dataset = "images whose pixels (after resize/crop) number " + strings.Join(dims, "×")
	default:
		dataset = "inputs of shape " + in.ShapeString()
	}
	pre = append(pre, "divide: 255")
	fmt.Fprintf(&b, "  dataset: <name>   # %s\n", dataset)
	if len(ins) > 1 {
		fmt.Fprintf(&b, "  input: %s   # the image input; the model has %d inputs\n", in.Name, len(ins))
	}
	if len(g.Outputs) > 1 {
		fmt.Fprintf(&b, "  output: %s   # the class scores; the model has %d outputs\n", g.Outputs[0].Name, len(g.Outputs))
	}
	fmt.Fprintf(&b, "  preprocess: {%s}   # add mean/std as the model was trained\n", strings.Join(pre, ", "))
	if o := g.Outputs[0].Shape; len(o) == 2 && o[1].Param == "" && o[1].Value > 1 {
		k := o[1].Value
		fmt.Fprintf(&b, "  # %d class scores: the dataset needs classes: %d", k, k)
		if k == 1001 {
			b.WriteString(" (or 1000 with label_offset: 1 when class 0 is background)")
		}
		b.WriteString("\n")
	}
	return b.String()
}
