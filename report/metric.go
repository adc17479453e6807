package report

import "sort"

// Metric is one Beam metric read back from a finished run (see
// pipeline.CollectMetrics): a counter's Value, or a distribution's Count,
// Sum, Min and Max (Mean = Sum / Count). Metrics are measured, so they are
// kept in runs/<run id>/run.json and the closing summary, never in
// report.json.
type Metric struct {
	Value int64   `json:"value,omitempty"`
	Count int64   `json:"count,omitempty"`
	Sum   int64   `json:"sum,omitempty"`
	Min   int64   `json:"min,omitempty"`
	Max   int64   `json:"max,omitempty"`
	Mean  float64 `json:"mean,omitempty"`
}

// MetricNames returns the names of ms, sorted.
func MetricNames(ms map[string]Metric) []string {
	names := make([]string, 0, len(ms))
	for k := range ms {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
