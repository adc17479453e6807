package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// HTML renders index.html: a self-contained page (inline CSS and SVG, no
// script, no fetches; a Content-Security-Policy forbids any) with the summary
// table (cells wrap, so it fits a 1280 px window; a failed model's status
// cell says only where it failed, its error is in a collapsible row under
// it, and so are a model's bad samples: count, first ids and errors) and
// three charts: top-1 against model size across the zoo (scatter,
// float and int8 point of each model joined by a line), per-layer SQNR, one
// bar chart per model (a "no per-layer data" placeholder for models without
// layers; the three likeliest culprits highlighted) and float against int8
// throughput. Chart labels are placed clear of each other, of the axis
// texts and of the points (see placer). Every string from the report is
// escaped by html/template. Like
// JSON, the output depends only on the report's content.
func (r *Report) HTML() []byte {
	c := r.sorted()
	p := htmlPage{Report: c, Title: "eightbit report", Columns: tableColumns}
	if c.Job != "" {
		p.Title += ": " + c.Job
	}
	for i := range c.Models {
		m := &c.Models[i]
		p.Rows = append(p.Rows, htmlRow(m))
		p.Layers = append(p.Layers, layerChart(m))
	}
	p.Scatter = scatterChart(c.Models)
	p.Speed = speedChart(c.Models)
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		// The template and its data are fixed by this package.
		panic(err)
	}
	return b.Bytes()
}

type htmlPage struct {
	*Report
	Title   string
	Rows    []tableRow
	Scatter *scatter
	Layers  []layerFig
	Speed   *speedFig
	Columns int
}

type tableRow struct {
	Name, Status, FloatTop1, Int8Top1, Delta, CI, Agreement   string
	FloatKiB, Int8KiB, Ratio, FloatIPS, Int8IPS, Gates, Worst string
	Failed, GateFailed                                        bool
	// Error is the full error of a failed row and ErrorHead its first
	// characters, shown in a collapsible row under the model.
	Error, ErrorHead string
	// Bad is the bad sample summary (count and first ids) of a collapsible
	// row under the model; BadList the first samples with their errors and
	// BadMore how many more report.json holds.
	Bad     string
	BadList []BadSample
	BadMore int
}

// tableColumns is the number of columns of the summary table (the span of
// its detail rows).
const tableColumns = 14

// badListed is how many bad samples the detail row of a model lists.
const badListed = 20

// errorHead is how many characters of an error a closed detail row shows.
const errorHead = 120

func htmlRow(m *Model) tableRow {
	var f Float
	var q Int8
	if m.Float != nil {
		f = *m.Float
	}
	if m.Int8 != nil {
		q = *m.Int8
	}
	ratio := m.SizeRatio
	if ratio == nil {
		ratio = Ratio(f.Bytes, q.Bytes)
	}
	row := tableRow{
		Name: m.Name, Status: m.ShortStatus(), Failed: m.Status != StatusOK,
		FloatTop1: percent(f.Top1), Int8Top1: percent(q.Top1), Delta: delta(f.Top1, q.Top1),
		CI: dash, Agreement: percent(m.Agreement), FloatKiB: kib(f.Bytes), Int8KiB: kib(q.Bytes),
		Ratio: percent(ratio), FloatIPS: rate(f.ImagesPerSec), Int8IPS: rate(q.ImagesPerSec),
		Gates: dash, Worst: dash, Bad: m.BadSamplesLine(),
	}
	if m.Error != "" {
		_, cause := m.FailureStage()
		row.Error, row.ErrorHead = m.Error, clip(oneLine(cause), errorHead)
	}
	row.BadList = m.BadSamples[:min(len(m.BadSamples), badListed)]
	row.BadMore = len(m.BadSamples) - len(row.BadList)
	if d := m.Top1Diff; d != nil {
		row.CI = fmt.Sprintf("[%+.2f, %+.2f]", d.Low*100, d.High*100)
	}
	if g := m.Gates; g != nil {
		row.Gates = "passed"
		if !g.Passed {
			row.Gates, row.GateFailed = strings.Join(g.Failures, "; "), true
		}
	}
	if ranked := RankCulprits(m.Layers); len(ranked) > 0 {
		row.Worst = ranked[0]
		if l := findLayer(m.Layers, ranked[0]); l != nil && l.SQNRDB != nil {
			row.Worst += fmt.Sprintf(" (%.1f dB)", *l.SQNRDB)
		}
	}
	return row
}

func findLayer(ls []Layer, tensor string) *Layer {
	for i := range ls {
		if ls[i].Tensor == tensor {
			return &ls[i]
		}
	}
	return nil
}

func rate(v *float64) string {
	if v == nil {
		return dash
	}
	return fmt.Sprintf("%.1f", *v)
}

// Chart geometry, in SVG user units.
const (
	chartW  = 640.0
	chartH  = 320.0
	marginL = 56.0
	marginR = 16.0
	marginT = 16.0
	marginB = 40.0
	plotW   = chartW - marginL - marginR
	plotH   = chartH - marginT - marginB
)

type tick struct {
	Pos   string // x or y coordinate
	Label string
}

func coord(v float64) string { return fmt.Sprintf("%.1f", v) }

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

type scatterPoint struct {
	Name, Label            string
	FX, FY, QX, QY, LX, LY string
	HasFloat, HasInt8      bool
	Tip                    string
	// Leader joins the point to a label that had to move away from it.
	Leader         bool
	AX, AY, BX, BY string
}

// labelChars is the longest model name a chart label shows whole; longer
// names are cut (the full name is in the label's tooltip).
const labelChars = 28

type scatter struct {
	W, H, Left, Right, Top, Bottom string
	AxisTitle                      string
	XTicks, YTicks                 []tick
	Points                         []scatterPoint
}

func scatterChart(ms []Model) *scatter {
	maxKiB, minTop1 := 0.0, 1.0
	found := false
	for i := range ms {
		m := &ms[i]
		if m.Float != nil && m.Float.Top1 != nil && m.Float.Bytes > 0 {
			maxKiB, minTop1, found = max(maxKiB, float64(m.Float.Bytes)/1024), min(minTop1, *m.Float.Top1), true
		}
		if m.Int8 != nil && m.Int8.Top1 != nil && m.Int8.Bytes > 0 {
			maxKiB, minTop1, found = max(maxKiB, float64(m.Int8.Bytes)/1024), min(minTop1, *m.Int8.Top1), true
		}
	}
	if !found {
		return nil
	}
	xMax := niceMax(maxKiB)
	yMin := math.Floor(minTop1*20) / 20 // a multiple of 5%
	if yMin >= 1 {
		yMin = 0.95
	}
	x := func(kib float64) float64 { return marginL + kib/xMax*plotW }
	y := func(top1 float64) float64 { return marginT + (1-top1)/(1-yMin)*plotH }
	s := &scatter{W: coord(chartW), H: coord(chartH), Left: coord(marginL), Right: coord(marginL + plotW),
		Top: coord(marginT), Bottom: coord(marginT + plotH), AxisTitle: sizeAxisTitle}
	for i := 0; i <= 4; i++ {
		kv := xMax * float64(i) / 4
		s.XTicks = append(s.XTicks, tick{coord(x(kv)), fmt.Sprintf("%g", kv)})
		tv := yMin + (1-yMin)*float64(i)/4
		s.YTicks = append(s.YTicks, tick{coord(y(tv)), fmt.Sprintf("%.1f%%", tv*100)})
	}
	pl := &placer{bounds: box{0, 0, chartW, chartH}}
	for _, t := range s.YTicks {
		pl.fixed(textBox(t.Label, 4, parse(t.Pos)+4, "start"))
	}
	for _, t := range s.XTicks {
		pl.fixed(textBox(t.Label, parse(t.Pos), marginT+plotH+16, "middle"))
	}
	pl.fixed(textBox(sizeAxisTitle, marginL+plotW, marginT+plotH+32, "end"))
	type anchor struct{ x, y float64 }
	var anchors []anchor
	for i := range ms {
		m := &ms[i]
		pt := scatterPoint{Name: m.Name, Label: clip(m.Name, labelChars)}
		var tips []string
		var at anchor
		if f := m.Float; f != nil && f.Top1 != nil && f.Bytes > 0 {
			fx, fy := x(float64(f.Bytes)/1024), y(*f.Top1)
			pt.FX, pt.FY, pt.HasFloat, at = coord(fx), coord(fy), true, anchor{fx, fy}
			pl.fixed(box{fx - 5, fy - 5, fx + 5, fy + 5})
			tips = append(tips, fmt.Sprintf("float %s KiB, %s", kib(f.Bytes), percent(f.Top1)))
		}
		if q := m.Int8; q != nil && q.Top1 != nil && q.Bytes > 0 {
			qx, qy := x(float64(q.Bytes)/1024), y(*q.Top1)
			pt.QX, pt.QY, pt.HasInt8, at = coord(qx), coord(qy), true, anchor{qx, qy}
			pl.fixed(box{qx - 5, qy - 5, qx + 5, qy + 5})
			tips = append(tips, fmt.Sprintf("int8 %s KiB, %s", kib(q.Bytes), percent(q.Top1)))
		}
		if pt.HasFloat || pt.HasInt8 {
			pt.Tip = m.Name + ": " + strings.Join(tips, "; ")
			s.Points = append(s.Points, pt)
			anchors = append(anchors, at)
		}
	}
	// Labels go on after every marker is known, so that none covers a
	// point of another model.
	for i := range s.Points {
		pt, at := &s.Points[i], anchors[i]
		lx, ly, moved := pl.place(pt.Label, at.x, at.y)
		pt.LX, pt.LY = coord(lx), coord(ly)
		if moved {
			bx := lx
			if lx < at.x {
				bx = lx + textWidth(pt.Label)
			}
			pt.Leader, pt.AX, pt.AY, pt.BX, pt.BY = true, coord(at.x), coord(at.y), coord(bx), coord(ly-fontPx/2+1)
		}
	}
	return s
}

// sizeAxisTitle is the x axis title of the accuracy-size chart.
const sizeAxisTitle = "model size (KiB)"

// parse reads back a coordinate formatted by coord.
func parse(c string) float64 {
	v, _ := strconv.ParseFloat(c, 64)
	return v
}

type layerBar struct {
	X, Y, W, H string
	Class, Tip string
}

type layerFig struct {
	Model                          string
	Placeholder                    string // set when there is no chart
	W, H, Left, Right, Top, Bottom string
	YTicks                         []tick
	Bars                           []layerBar
	Culprits                       []string
}

// culpritsShown is how many of the likeliest culprits a layer chart marks.
const culpritsShown = 3

func layerChart(m *Model) layerFig {
	fig := layerFig{Model: m.Name}
	if len(m.Layers) == 0 {
		fig.Placeholder = "no per-layer data"
		return fig
	}
	top := 0.0
	for _, l := range m.Layers {
		if l.SQNRDB != nil {
			top = max(top, *l.SQNRDB)
		}
	}
	yMax := niceMax(top)
	ranked := RankCulprits(m.Layers)
	culprit := map[string]bool{}
	for i := 0; i < len(ranked) && i < culpritsShown; i++ {
		culprit[ranked[i]] = true
		fig.Culprits = append(fig.Culprits, ranked[i])
	}
	fig.W, fig.H = coord(chartW), coord(chartH)
	fig.Left, fig.Right, fig.Top, fig.Bottom = coord(marginL), coord(marginL+plotW), coord(marginT), coord(marginT+plotH)
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		fig.YTicks = append(fig.YTicks, tick{coord(marginT + plotH - v/yMax*plotH), fmt.Sprintf("%g", v)})
	}
	slot := plotW / float64(len(m.Layers))
	gap := min(2, slot*0.2)
	for i, l := range m.Layers {
		h := 0.0
		cls := "bar"
		tip := l.Tensor
		if l.Op != "" {
			tip += " (" + l.Op + ")"
		}
		switch {
		case l.Exact:
			h, cls, tip = plotH, "bar exact", tip+": exact"
		case l.SQNRDB != nil:
			h = max(0, min(*l.SQNRDB, yMax)) / yMax * plotH
			tip += fmt.Sprintf(": %.2f dB", *l.SQNRDB)
		default:
			tip += ": no SQNR"
		}
		if culprit[l.Tensor] {
			cls += " culprit"
		}
		if l.Clipped > 0 {
			tip += fmt.Sprintf(", %.2f%% clipped", l.Clipped*100)
		}
		// Zero-height bars get one unit so that they stay visible.
		h = max(h, 1)
		fig.Bars = append(fig.Bars, layerBar{
			X: coord(marginL + float64(i)*slot + gap/2), Y: coord(marginT + plotH - h),
			W: coord(slot - gap), H: coord(h), Class: cls, Tip: tip,
		})
	}
	return fig
}

type speedBar struct {
	Y, W, LY, Label, Value string
	Full                   string // Label before cutting
	Int8                   bool
}

type speedFig struct {
	W, H, Left, Bottom string
	XTicks             []tick
	Bars               []speedBar
}

func speedChart(ms []Model) *speedFig {
	type pair struct {
		name string
		f, q *float64
	}
	var ps []pair
	top := 0.0
	for i := range ms {
		var p pair
		p.name = ms[i].Name
		if ms[i].Float != nil {
			p.f = ms[i].Float.ImagesPerSec
		}
		if ms[i].Int8 != nil {
			p.q = ms[i].Int8.ImagesPerSec
		}
		if p.f == nil && p.q == nil {
			continue
		}
		for _, v := range []*float64{p.f, p.q} {
			if v != nil {
				top = max(top, *v)
			}
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil
	}
	// The bar labels take a column as wide as the longest (cut to at most
	// 40% of the chart; a cut label keeps its full text in a tooltip).
	const barH, groupGap = 14.0, 12.0
	longest := 0.0
	for _, p := range ps {
		longest = max(longest, textWidth(p.name+" float"))
	}
	left := min(max(longest+12, 80), chartW*0.4)
	labelMax := int((left - 12) / charW)
	w := chartW - left - marginR
	xMax := niceMax(top)
	h := marginT + float64(len(ps))*(2*barH+groupGap) + marginB
	fig := &speedFig{W: coord(chartW), H: coord(h), Left: coord(left), Bottom: coord(h - marginB)}
	for i := 0; i <= 4; i++ {
		v := xMax * float64(i) / 4
		fig.XTicks = append(fig.XTicks, tick{coord(left + v/xMax*w), compact(v)})
	}
	y := marginT
	for _, p := range ps {
		for j, v := range []*float64{p.f, p.q} {
			b := speedBar{Y: coord(y), LY: coord(y + barH - 3), Int8: j == 1, Value: dash, W: "0"}
			if j == 0 {
				b.Full = p.name + " float"
			} else {
				b.Full = p.name + " int8"
			}
			b.Label = clip(b.Full, labelMax)
			if v != nil {
				b.W = coord(max(0, *v) / xMax * w)
				b.Value = fmt.Sprintf("%.1f images/s", *v)
			}
			fig.Bars = append(fig.Bars, b)
			y += barH
		}
		y += groupGap
	}
	return fig
}

var pageTmpl = template.Must(template.New("index.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:80em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3em .4em;text-align:right;vertical-align:top}
th{font-weight:600;vertical-align:bottom}
td{font-variant-numeric:tabular-nums}
th.text,td.text,td.gatefail{text-align:left}
td.text,td.gatefail{overflow-wrap:anywhere}
td.name{min-width:8em}
td.status{white-space:nowrap}
td.gates{min-width:7em}
tr.failed td{color:#a00}
td.gatefail{color:#a00}
tr.model:has(+ tr.detail) td{border-bottom:none}
tr.detail td{text-align:left;padding-top:0}
tr.detail summary{cursor:pointer;overflow-wrap:anywhere}
tr.detail pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0 .3em 1.2em;font-size:12px}
tr.detail ul{margin:.3em 0;padding-left:2.4em;color:#222}
tr.detail code{overflow-wrap:anywhere}
h1,figcaption,li{overflow-wrap:anywhere}
figure{margin:1em 0}
figcaption{font-weight:600;margin-bottom:.3em}
svg{max-width:100%;height:auto;background:#fafafa}
svg text{font-size:11px;fill:#333}
.axis{stroke:#888;stroke-width:1}
.grid{stroke:#e4e4e4;stroke-width:1}
.pair{stroke:#999;stroke-width:1}
.leader{stroke:#bbb;stroke-width:1}
.pfloat{fill:#fff;stroke:#1f5fa8;stroke-width:2}
.pint8{fill:#e07b00}
.bar{fill:#1f5fa8}
.bar.exact{fill:#3a9a3a}
.bar.culprit{fill:#c62828}
.sfloat{fill:#1f5fa8}
.sint8{fill:#e07b00}
.placeholder{color:#777;font-style:italic;border:1px dashed #ccc;padding:1em}
.legend{color:#555}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<ul>
{{- if .Zoo}}<li>zoo: {{.Zoo}}</li>{{end}}
{{- if .EightbitVersion}}<li>eightbit: {{.EightbitVersion}}</li>{{end}}
<li>models: {{len .Models}}</li>
</ul>

<h2>Summary</h2>
<table id="summary">
<thead><tr><th class="text">model</th><th class="text">status</th><th>float top-1</th><th>int8 top-1</th><th>Δ top-1 (pp)</th><th>95% CI (pp)</th><th>agreement</th><th>float KiB</th><th>int8 KiB</th><th>size</th><th>float img/s</th><th>int8 img/s</th><th class="text">gates</th><th class="text">worst layer</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr class="model{{if .Failed}} failed{{end}}"><td class="text name">{{.Name}}</td><td class="text status">{{.Status}}</td><td>{{.FloatTop1}}</td><td>{{.Int8Top1}}</td><td>{{.Delta}}</td><td>{{.CI}}</td><td>{{.Agreement}}</td><td>{{.FloatKiB}}</td><td>{{.Int8KiB}}</td><td>{{.Ratio}}</td><td>{{.FloatIPS}}</td><td>{{.Int8IPS}}</td><td class="gates {{if .GateFailed}}gatefail{{else}}text{{end}}">{{.Gates}}</td><td class="text">{{.Worst}}</td></tr>
{{- if .Error}}
<tr class="detail failed"><td colspan="{{$.Columns}}"><details class="error"><summary>error: {{.ErrorHead}}</summary><pre>{{.Error}}</pre></details></td></tr>
{{- end}}
{{- if .Bad}}
<tr class="detail"><td colspan="{{$.Columns}}"><details class="bad-samples"><summary>{{.Bad}}</summary><ul>
{{- range .BadList}}<li><code>{{.ID}}</code>: {{.Error}}</li>{{end}}
</ul>{{if .BadMore}}<p>and {{.BadMore}} more in report.json</p>{{end}}</details></td></tr>
{{- end}}
{{- end}}
</tbody>
</table>
<p class="legend">Δ top-1 is int8 minus float in percentage points, with its paired 95% confidence interval; agreement is the share of samples on which both models predict the same class; size is int8 bytes / float bytes; – means not measured.</p>

<h2>Accuracy against size</h2>
{{- with .Scatter}}
<figure id="accuracy-size">
<figcaption>top-1 against model size: hollow = float, filled = int8</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="top-1 against model size">
{{- range .YTicks}}
<line class="grid" x1="{{$.Scatter.Left}}" x2="{{$.Scatter.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="4" y="{{.Pos}}" dy="4">{{.Label}}</text>
{{- end}}
{{- range .XTicks}}
<text x="{{.Pos}}" y="{{$.Scatter.Bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>
{{- end}}
<line class="axis" x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}"/>
<line class="axis" x1="{{.Left}}" x2="{{.Left}}" y1="{{.Top}}" y2="{{.Bottom}}"/>
<text x="{{.Right}}" y="{{.Bottom}}" dy="32" text-anchor="end">{{.AxisTitle}}</text>
{{- range .Points}}
<g class="model"><title>{{.Tip}}</title>
{{- if and .HasFloat .HasInt8}}<line class="pair" x1="{{.FX}}" y1="{{.FY}}" x2="{{.QX}}" y2="{{.QY}}"/>{{end}}
{{- if .HasFloat}}<circle class="pfloat" cx="{{.FX}}" cy="{{.FY}}" r="4"/>{{end}}
{{- if .HasInt8}}<circle class="pint8" cx="{{.QX}}" cy="{{.QY}}" r="4"/>{{end}}
{{- if .Leader}}<line class="leader" x1="{{.AX}}" y1="{{.AY}}" x2="{{.BX}}" y2="{{.BY}}"/>{{end}}
<text class="label" x="{{.LX}}" y="{{.LY}}">{{.Label}}</text></g>
{{- end}}
</svg>
</figure>
{{- else}}
<p class="placeholder">no model has both a size and a top-1</p>
{{- end}}

<h2>Per-layer SQNR</h2>
<p class="legend">SQNR of the int8 activations against the float activations over the evaluation set, one bar per quantized tensor in graph order; red: the likeliest culprits (lowest SQNR), green: exact.</p>
{{- range .Layers}}
<figure class="layer-chart" data-model="{{.Model}}">
<figcaption>{{.Model}}{{if .Culprits}} — likeliest culprits: {{range $i, $c := .Culprits}}{{if $i}}, {{end}}{{$c}}{{end}}{{end}}</figcaption>
{{- if .Placeholder}}
<p class="placeholder">{{.Placeholder}}</p>
{{- else}}
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="per-layer SQNR of {{.Model}}">
{{- $f := .}}
{{- range .YTicks}}
<line class="grid" x1="{{$f.Left}}" x2="{{$f.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="4" y="{{.Pos}}" dy="4">{{.Label}}</text>
{{- end}}
{{- range .Bars}}
<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Tip}}</title></rect>
{{- end}}
<line class="axis" x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}"/>
<text x="{{.Left}}" y="{{.Bottom}}" dy="16">layers in graph order</text>
<text x="{{.Left}}" y="{{.Top}}" dx="4" dy="-4">dB</text>
</svg>
{{- end}}
</figure>
{{- end}}

<h2>Throughput</h2>
{{- with .Speed}}
<figure id="throughput">
<figcaption>images per second, float (blue) and int8 (orange)</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="throughput">
{{- range .Bars}}
<text x="4" y="{{.LY}}">{{if ne .Label .Full}}<title>{{.Full}}</title>{{end}}{{.Label}}</text><rect class="{{if .Int8}}sint8{{else}}sfloat{{end}}" x="{{$.Speed.Left}}" y="{{.Y}}" width="{{.W}}" height="13"><title>{{.Full}}: {{.Value}}</title></rect>
{{- end}}
{{- range .XTicks}}
<text x="{{.Pos}}" y="{{$.Speed.Bottom}}" dy="16" text-anchor="middle">{{.Label}}</text>
{{- end}}
<line class="axis" x1="{{.Left}}" x2="{{.Left}}" y1="0" y2="{{.Bottom}}"/>
</svg>
</figure>
{{- else}}
<p class="placeholder">no throughput measured</p>
{{- end}}
</body>
</html>
`))

// compact formats an axis value with a k or M suffix from 10,000 up, so
// that the last tick of a wide axis fits the chart.
func compact(v float64) string {
	switch {
	case v >= 1e7:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
