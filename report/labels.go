package report

import "unicode/utf8"

// Chart text layout. The charts are static SVG without script, so the
// writer places every text label itself from an estimate of its size: 11px
// text (the charts' font size) is assumed at most charW units per
// character and lineH units tall. Labels that would overlap are moved
// (see placer).

const (
	fontPx = 11.0
	// charW bounds the advance of one character of 11px sans-serif text
	// (digits and lower case are about 6, capitals up to 7.5).
	charW = 7.0
	// lineH bounds the height of the box of one line of 11px text.
	lineH = 14.0
)

// box is a rectangle in SVG user units.
type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

func (a box) inside(b box) bool {
	return a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 >= b.y0 && a.y1 <= b.y1
}

// textWidth estimates the width of s in 11px text.
func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charW }

// textBox estimates the box of s drawn at x, baseline y, with text-anchor
// anchor ("start", "middle" or "end").
func textBox(s string, x, y float64, anchor string) box {
	w := textWidth(s)
	switch anchor {
	case "middle":
		x -= w / 2
	case "end":
		x -= w
	}
	// The box spans the ascent above the baseline and the descent below.
	return box{x, y - fontPx, x + w, y - fontPx + lineH}
}

// placer lays out labels without overlaps: every text drawn at a fixed
// position and every marker is an obstacle, and each movable label takes
// the first free position among candidates around its point.
type placer struct {
	bounds box
	taken  []box
}

// fixed records a text or marker that does not move.
func (p *placer) fixed(b box) { p.taken = append(p.taken, b) }

// free reports whether b lies within the bounds and clear of every taken
// box.
func (p *placer) free(b box) bool {
	if !b.inside(p.bounds) {
		return false
	}
	for _, t := range p.taken {
		if b.overlaps(t) {
			return false
		}
	}
	return true
}

// place finds a position for label s next to the point (x, y): above right
// of it, else below right, above left or below left, else at growing
// vertical offsets on either side. It returns the baseline start (lx, ly)
// and whether the label had to move away from the point (then a leader
// line should join them). When no candidate is free it keeps the first.
func (p *placer) place(s string, x, y float64) (lx, ly float64, moved bool) {
	w := textWidth(s)
	const gap = 6.0
	type cand struct {
		x, y  float64
		moved bool
	}
	right, left := x+gap, x-gap-w
	cands := []cand{{right, y - gap, false}, {right, y + gap + fontPx, false}, {left, y - gap, false}, {left, y + gap + fontPx, false}}
	for k := 1; k <= 20; k++ {
		d := float64(k) * lineH
		for _, lxx := range []float64{right, left} {
			cands = append(cands, cand{lxx, y - gap - d, true}, cand{lxx, y + gap + fontPx + d, true})
		}
	}
	for _, c := range cands {
		if b := textBox(s, c.x, c.y, "start"); p.free(b) {
			p.taken = append(p.taken, b)
			return c.x, c.y, c.moved
		}
	}
	c := cands[0]
	p.taken = append(p.taken, textBox(s, c.x, c.y, "start"))
	return c.x, c.y, false
}
