package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
)

// CSVColumns is the header of summary.csv, in order. Columns are only ever
// appended, so scripts may address them by position or by name.
var CSVColumns = []string{
	"name", "status", "error", "dataset", "format", "scheme", "calibration_method", "calibration_samples",
	"samples", "float_failed", "int8_failed",
	"float_top1", "int8_top1", "top1_diff", "top1_diff_low", "top1_diff_high",
	"float_top5", "int8_top5", "agreement",
	"float_bytes", "int8_bytes", "size_ratio", "params", "macs_per_image", "integer_mac_share",
	"float_ms_per_image", "int8_ms_per_image", "float_images_per_sec", "int8_images_per_sec",
	"layers", "worst_layer", "worst_layer_sqnr_db", "gates_passed",
}

// CSV renders summary.csv: a header row (CSVColumns) and one row per model,
// sorted by name, as RFC 4180 CSV with CRLF line ends. Fractions are
// fractions (not percent), sizes bytes; a cell is empty when the value was
// not measured. Numbers use the shortest representation that reads back to
// the same float64.
func (r *Report) CSV() []byte {
	c := r.sorted()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.Write(CSVColumns)
	for i := range c.Models {
		w.Write(csvRow(&c.Models[i]))
	}
	w.Flush()
	return b.Bytes()
}

func csvRow(m *Model) []string {
	var f Float
	var q Int8
	if m.Float != nil {
		f = *m.Float
	}
	if m.Int8 != nil {
		q = *m.Int8
	}
	var cal Calibration
	if m.Calibration != nil {
		cal = *m.Calibration
	}
	var d, lo, hi *float64
	if t := m.Top1Diff; t != nil {
		d, lo, hi = &t.Diff, &t.Low, &t.High
	}
	ratio := m.SizeRatio
	if ratio == nil {
		ratio = Ratio(f.Bytes, q.Bytes)
	}
	samples := max(f.Samples, q.Samples)
	var worst string
	var worstSQNR *float64
	if ranked := RankCulprits(m.Layers); len(ranked) > 0 {
		worst = ranked[0]
		for i := range m.Layers {
			if m.Layers[i].Tensor == worst {
				worstSQNR = m.Layers[i].SQNRDB
				break
			}
		}
	}
	gates := ""
	if m.Gates != nil {
		gates = strconv.FormatBool(m.Gates.Passed)
	}
	return []string{
		m.Name, string(m.Status), m.Error, m.Dataset, m.Format, m.Scheme, cal.Method, posInt(int64(cal.Samples)),
		posInt(int64(samples)), failedCount(f.Samples, f.Failed), failedCount(q.Samples, q.Failed),
		num(f.Top1), num(q.Top1), num(d), num(lo), num(hi),
		num(f.Top5), num(q.Top5), num(m.Agreement),
		posInt(f.Bytes), posInt(q.Bytes), num(ratio), posInt(m.Params), posInt(m.MACsPerImage), num(m.IntegerMACShare),
		num(f.MsPerImage), num(q.MsPerImage), num(f.ImagesPerSec), num(q.ImagesPerSec),
		posInt(int64(len(m.Layers))), worst, num(worstSQNR), gates,
	}
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// posInt renders a count or size, empty when zero (not measured).
func posInt(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// failedCount renders a failure count: empty when the model was not
// evaluated, else the count (0 included).
func failedCount(samples, failed int) string {
	if samples <= 0 && failed <= 0 {
		return ""
	}
	return strconv.Itoa(failed)
}
