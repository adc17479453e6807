package report

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
)

// DiffReport is what changed between two reports of the same zoo, model by
// model; Diff builds it. Models whose rendered values are all unchanged are
// not listed.
type DiffReport struct {
	Old, New  string // job and version of each side, for the heading
	Unchanged int    // models present in both reports without a change
	Models    []ModelDiff
}

// ModelDiff lists the changes of one model.
type ModelDiff struct {
	Name string
	// Kind is "added", "removed" or "changed".
	Kind    string
	Changes []Change
	// Layers are per-layer changes, largest |ΔSQNR| first.
	Layers []LayerChange
}

// Change is one field of a model that changed, rendered as in report.md.
type Change struct {
	Field, Old, New string
}

// LayerChange is one tensor whose per-layer statistics changed; an empty Old
// or New means the layer is new or gone.
type LayerChange struct {
	Tensor, Old, New string
	delta            float64
}

// SpeedTolerance is the relative change of latency or throughput below which
// Diff does not list it: speed is measured, so it varies between identical
// runs.
const SpeedTolerance = 0.10

// Diff compares two reports model by model: status and error, calibration,
// scheme, top-1, top-5, agreement, sizes, parameters and MACs, speed (changes
// under SpeedTolerance ignored), gates and per-layer SQNR, clipped share and
// quantization parameters. A value counts as changed when its rendering
// changes (percentages to 0.01, SQNR to 0.01 dB), so rounding noise is not
// reported.
func Diff(before, after *Report) *DiffReport {
	o, n := before.sorted(), after.sorted()
	d := &DiffReport{Old: sideName(o), New: sideName(n)}
	byName := map[string]*Model{}
	for i := range o.Models {
		byName[o.Models[i].Name] = &o.Models[i]
	}
	seen := map[string]bool{}
	for i := range n.Models {
		nm := &n.Models[i]
		seen[nm.Name] = true
		om := byName[nm.Name]
		if om == nil {
			d.Models = append(d.Models, ModelDiff{Name: nm.Name, Kind: "added", Changes: fieldChanges(&Model{}, nm)})
			continue
		}
		md := ModelDiff{Name: nm.Name, Kind: "changed", Changes: fieldChanges(om, nm), Layers: layerChanges(om.Layers, nm.Layers)}
		if len(md.Changes) == 0 && len(md.Layers) == 0 {
			d.Unchanged++
			continue
		}
		d.Models = append(d.Models, md)
	}
	for i := range o.Models {
		if !seen[o.Models[i].Name] {
			d.Models = append(d.Models, ModelDiff{Name: o.Models[i].Name, Kind: "removed"})
		}
	}
	slices.SortStableFunc(d.Models, func(a, b ModelDiff) int { return cmp.Compare(a.Name, b.Name) })
	return d
}

func sideName(r *Report) string {
	s := r.Job
	if s == "" {
		s = "(unnamed job)"
	}
	if r.EightbitVersion != "" {
		s += " (eightbit " + r.EightbitVersion + ")"
	}
	return s
}

func fieldChanges(o, n *Model) []Change {
	var cs []Change
	add := func(field, a, b string) {
		if a != b {
			cs = append(cs, Change{field, a, b})
		}
	}
	str := func(s string) string {
		if s == "" {
			return dash
		}
		return inline(s)
	}
	add("status", str(string(o.Status)), str(string(n.Status)))
	add("error", str(o.Error), str(n.Error))
	add("scheme", str(o.Scheme), str(n.Scheme))
	add("calibration", calText(o.Calibration), calText(n.Calibration))
	of, nf := floatOf(o), floatOf(n)
	oq, nq := int8Of(o), int8Of(n)
	add("float top-1", percent(of.Top1), percent(nf.Top1))
	add("int8 top-1", percent(oq.Top1), percent(nq.Top1))
	add("Δ top-1 (pp)", delta(of.Top1, oq.Top1), delta(nf.Top1, nq.Top1))
	add("float top-5", percent(of.Top5), percent(nf.Top5))
	add("int8 top-5", percent(oq.Top5), percent(nq.Top5))
	add("agreement", percent(o.Agreement), percent(n.Agreement))
	add("float KiB", kib(of.Bytes), kib(nf.Bytes))
	add("int8 KiB", kib(oq.Bytes), kib(nq.Bytes))
	add("params", count(o.Params), count(n.Params))
	add("MACs per image", count(o.MACsPerImage), count(n.MACsPerImage))
	add("integer MAC share", percent(o.IntegerMACShare), percent(n.IntegerMACShare))
	speed := func(field string, a, b *float64) {
		if a != nil && b != nil && math.Abs(*b-*a) <= SpeedTolerance*math.Abs(*a) {
			return
		}
		add(field, rate(a), rate(b))
	}
	speed("float ms/image", of.MsPerImage, nf.MsPerImage)
	speed("int8 ms/image", oq.MsPerImage, nq.MsPerImage)
	speed("float images/s", of.ImagesPerSec, nf.ImagesPerSec)
	speed("int8 images/s", oq.ImagesPerSec, nq.ImagesPerSec)
	add("gates", gateText(o.Gates), gateText(n.Gates))
	add("worst layer", first(RankCulprits(o.Layers)), first(RankCulprits(n.Layers)))
	return cs
}

func floatOf(m *Model) Float {
	if m.Float == nil {
		return Float{}
	}
	return *m.Float
}

func int8Of(m *Model) Int8 {
	if m.Int8 == nil {
		return Int8{}
	}
	return *m.Int8
}

func count(n int64) string {
	if n <= 0 {
		return dash
	}
	return fmt.Sprint(n)
}

func first(s []string) string {
	if len(s) == 0 {
		return dash
	}
	return inline(s[0])
}

func calText(c *Calibration) string {
	if c == nil {
		return dash
	}
	s := fmt.Sprintf("%s, %d samples", c.Method, c.Samples)
	if c.Percentile != 0 {
		s += fmt.Sprintf(", percentile %g", c.Percentile)
	}
	if c.Bins != 0 {
		s += fmt.Sprintf(", %d bins", c.Bins)
	}
	if c.Symmetric {
		s += ", symmetric"
	}
	return inline(s)
}

func gateText(g *GateResult) string {
	switch {
	case g == nil:
		return dash
	case g.Passed:
		return "passed"
	default:
		return "failed"
	}
}

func layerText(l *Layer) string {
	s := "no SQNR"
	switch {
	case l.Exact:
		s = "exact"
	case l.SQNRDB != nil:
		s = fmt.Sprintf("%.2f dB", *l.SQNRDB)
	}
	return fmt.Sprintf("%s, %.2f%% clipped, scale %.6g, zp %d", s, l.Clipped*100, l.Scale, l.ZeroPoint)
}

func sqnrOf(l *Layer) float64 {
	switch {
	case l == nil:
		return 0
	case l.SQNRDB != nil:
		return *l.SQNRDB
	case l.Exact:
		return 200 // stands in for +Inf when ordering changes
	}
	return 0
}

func layerChanges(o, n []Layer) []LayerChange {
	old := map[string]*Layer{}
	for i := range o {
		old[o[i].Tensor] = &o[i]
	}
	var cs []LayerChange
	seen := map[string]bool{}
	for i := range n {
		nl := &n[i]
		seen[nl.Tensor] = true
		ol := old[nl.Tensor]
		a, b := "", layerText(nl)
		if ol != nil {
			a = layerText(ol)
		}
		if a != b {
			cs = append(cs, LayerChange{Tensor: nl.Tensor, Old: a, New: b, delta: math.Abs(sqnrOf(nl) - sqnrOf(ol))})
		}
	}
	for i := range o {
		if !seen[o[i].Tensor] {
			cs = append(cs, LayerChange{Tensor: o[i].Tensor, Old: layerText(&o[i]), delta: sqnrOf(&o[i])})
		}
	}
	slices.SortStableFunc(cs, func(a, b LayerChange) int {
		if c := cmp.Compare(b.delta, a.delta); c != 0 {
			return c
		}
		return cmp.Compare(a.Tensor, b.Tensor)
	})
	return cs
}

// diffLayersShown caps the per-layer rows of one model in Markdown.
const diffLayersShown = 10

// Markdown renders the diff: a heading naming both runs, a summary line, and
// for each added, removed or changed model a table of its changed fields and
// up to ten changed layers (largest SQNR change first). Unchanged models are
// only counted.
func (d *DiffReport) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# eightbit report diff\n\n")
	fmt.Fprintf(&b, "- old: %s\n- new: %s\n", inline(d.Old), inline(d.New))
	var added, removed, changed int
	for _, m := range d.Models {
		switch m.Kind {
		case "added":
			added++
		case "removed":
			removed++
		default:
			changed++
		}
	}
	fmt.Fprintf(&b, "- models: %d changed, %d added, %d removed, %d unchanged\n", changed, added, removed, d.Unchanged)
	if len(d.Models) == 0 {
		b.WriteString("\nNo changes.\n")
		return b.Bytes()
	}
	for _, m := range d.Models {
		fmt.Fprintf(&b, "\n## %s (%s)\n", inline(m.Name), m.Kind)
		if len(m.Changes) > 0 {
			b.WriteString("\n| field | old | new |\n|:--|:--|:--|\n")
			for _, c := range m.Changes {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Field, c.Old, c.New)
			}
		}
		if len(m.Layers) > 0 {
			b.WriteString("\n| layer | old | new |\n|:--|:--|:--|\n")
			for i, l := range m.Layers {
				if i == diffLayersShown {
					fmt.Fprintf(&b, "| … %d more | | |\n", len(m.Layers)-i)
					break
				}
				o, n := l.Old, l.New
				if o == "" {
					o = dash
				}
				if n == "" {
					n = dash
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", inline(l.Tensor), o, n)
			}
		}
	}
	return b.Bytes()
}
