package report

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// dash marks a value that was not measured.
const dash = "–"

// Markdown renders the report as a GitHub-flavoured Markdown document: a
// title, the job's zoo and version, a summary line, one table row per model
// (sorted by name; failed rows carry their error in the status cell), the
// bad samples of each model that has any (count and first ids) and a legend. Like JSON, the output depends only on the report's content.
func (r *Report) Markdown() []byte {
	c := r.sorted()
	var b bytes.Buffer
	title := "eightbit report"
	if c.Job != "" {
		title += ": " + inline(c.Job)
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	if c.Zoo != "" {
		fmt.Fprintf(&b, "- zoo: %s\n", inline(c.Zoo))
	}
	if c.EightbitVersion != "" {
		fmt.Fprintf(&b, "- eightbit: %s\n", inline(c.EightbitVersion))
	}
	ok, failed := 0, 0
	for _, m := range c.Models {
		if m.Status == StatusOK {
			ok++
		} else {
			failed++
		}
	}
	fmt.Fprintf(&b, "- models: %d (%d ok, %d failed)\n", len(c.Models), ok, failed)
	if lim := calibLimits(c.Models); lim != "" {
		fmt.Fprintf(&b, "- calibration: at most %s samples per model, chosen class by class by a hash of their ids (`--calib-samples all` for the whole split)\n", lim)
	}
	b.WriteString("\n")

	b.WriteString("| model | status | float top-1 | int8 top-1 | Δ top-1 | agreement | float KiB | int8 KiB | size |\n")
	b.WriteString("|:--|:--|--:|--:|--:|--:|--:|--:|--:|\n")
	for i := range c.Models {
		m := &c.Models[i]
		var f Float
		var q Int8
		if m.Float != nil {
			f = *m.Float
		}
		if m.Int8 != nil {
			q = *m.Int8
		}
		status := m.ShortStatus()
		if m.Error != "" {
			_, cause := m.FailureStage()
			status += ": " + cause
		}
		ratio := m.SizeRatio
		if ratio == nil {
			ratio = Ratio(f.Bytes, q.Bytes)
		}
		cells := []string{
			inline(m.Name),
			inline(status),
			percent(f.Top1),
			percent(q.Top1),
			delta(f.Top1, q.Top1),
			percent(m.Agreement),
			kib(f.Bytes),
			kib(q.Bytes),
			percent(ratio),
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	bad := false
	for i := range c.Models {
		if line := c.Models[i].BadSamplesLine(); line != "" {
			if !bad {
				b.WriteString("\nBad samples, left out of the evaluation (report.json lists every one with its error):\n\n")
				bad = true
			}
			fmt.Fprintf(&b, "- %s: %s\n", inline(c.Models[i].Name), inline(line))
		}
	}
	b.WriteString(`
Legend: top-1 is the share of evaluation samples whose highest-scoring class
is the label; Δ top-1 is int8 minus float in percentage points; agreement is
the share of samples on which int8 and float predict the same class; KiB is
the model file size (1 KiB = 1024 bytes); size is int8 bytes / float bytes.
` + dash + ` means not measured.
`)
	return b.Bytes()
}

// inline makes s safe inside a single-line Markdown table cell.
func inline(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	return strings.TrimSpace(s)
}

func percent(v *float64) string {
	if v == nil {
		return dash
	}
	return fmt.Sprintf("%.2f%%", *v*100)
}

func delta(float, int8 *float64) string {
	if float == nil || int8 == nil {
		return dash
	}
	d := (*int8 - *float) * 100
	if math.Abs(d) < 0.005 {
		return "0.00"
	}
	return fmt.Sprintf("%+.2f", d)
}

func kib(n int64) string {
	if n <= 0 {
		return dash
	}
	return fmt.Sprintf("%.1f", float64(n)/1024)
}

// calibLimits lists the distinct calibration sample caps of the models
// ("1000", "200, 1000"), "" when none is capped.
func calibLimits(models []Model) string {
	var lims []int
	for i := range models {
		if c := models[i].Calibration; c != nil && c.Limit > 0 && !slices.Contains(lims, c.Limit) {
			lims = append(lims, c.Limit)
		}
	}
	slices.Sort(lims)
	parts := make([]string, len(lims))
	for i, l := range lims {
		parts[i] = strconv.Itoa(l)
	}
	return strings.Join(parts, ", ")
}
