package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Short renderings of a row's failure and bad samples, shared by the
// Markdown and HTML writers and by the command line's closing lines.

// badShown is how many bad sample ids the one-line summaries list.
const badShown = 5

// FailureStage splits the error of a failed row into the stage it failed
// in and the cause ("load: open lenet.onnx: no such file" gives "load" and
// "open lenet.onnx: no such file"). The stage is "" when the message does
// not start with one (a lower-case word and a colon).
func (m *Model) FailureStage() (stage, cause string) {
	if m.Stage != "" {
		if rest, ok := strings.CutPrefix(m.Error, m.Stage+": "); ok {
			return m.Stage, rest
		}
	}
	head, rest, ok := strings.Cut(m.Error, ": ")
	if !ok || head == "" || strings.Trim(head, "abcdefghijklmnopqrstuvwxyz-_") != "" {
		return "", m.Error
	}
	return head, rest
}

// ShortStatus is the status as a table cell shows it: "ok", or "failed",
// the stage and the failure kind ("failed in load (non-finite)"), without
// the error message.
func (m *Model) ShortStatus() string {
	if m.Status != StatusFailed {
		return string(m.Status)
	}
	s := string(m.Status)
	if stage, _ := m.FailureStage(); stage != "" {
		s += " in " + stage
	}
	if m.ErrorKind != "" {
		s += " (" + m.ErrorKind + ")"
	}
	return s
}

// FailureLine is a failed row in one line: "lenet: failed in load: open
// lenet.onnx: no such file", whitespace (newlines included) collapsed and
// the cause cut to about max characters (0: no limit). It is "" for a row
// that did not fail.
func (m *Model) FailureLine(max int) string {
	if m.Status != StatusFailed {
		return ""
	}
	_, cause := m.FailureStage()
	return m.Name + ": " + m.ShortStatus() + ": " + clip(oneLine(cause), max)
}

// BadSamplesLine summarizes a row's bad samples in one line: their count
// and the first ids ("3 bad samples left out: a, b, c"; "12 bad samples
// left out, first: a, b, c, d, e"). It is "" when there are none.
func (m *Model) BadSamplesLine() string {
	n := len(m.BadSamples)
	if n == 0 {
		return ""
	}
	ids := make([]string, 0, badShown)
	for i := 0; i < n && i < badShown; i++ {
		ids = append(ids, oneLine(m.BadSamples[i].ID))
	}
	noun := "bad samples"
	if n == 1 {
		noun = "bad sample"
	}
	if n > badShown {
		return fmt.Sprintf("%d %s left out, first: %s", n, noun, strings.Join(ids, ", "))
	}
	return fmt.Sprintf("%d %s left out: %s", n, noun, strings.Join(ids, ", "))
}

// oneLine collapses runs of white space, newlines included, into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip cuts s to max runes, ending it with "…" when it was longer; max 0
// keeps s whole.
func clip(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:max-1]), " ") + "…"
}
