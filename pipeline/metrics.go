package pipeline

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/report"
)

// CollectMetrics reads the metrics in namespace of a finished pipeline,
// summing over the steps that report each (step names differ between
// runners); nil when res is nil or the runner gives none.
func CollectMetrics(res beam.PipelineResult, namespace string) map[string]report.Metric {
	if res == nil {
		return nil
	}
	out := map[string]report.Metric{}
	q := res.Metrics().Query(func(r beam.MetricResult) bool { return r.Namespace() == namespace })
	for _, c := range q.Counters() {
		m := out[c.Name()]
		m.Value += c.Result()
		out[c.Name()] = m
	}
	for _, d := range q.Distributions() {
		v := d.Result()
		m, seen := out[d.Name()]
		if !seen || m.Count == 0 {
			m.Min, m.Max = v.Min, v.Max
		} else {
			m.Min, m.Max = min(m.Min, v.Min), max(m.Max, v.Max)
		}
		m.Count += v.Count
		m.Sum += v.Sum
		if m.Count > 0 {
			m.Mean = float64(m.Sum) / float64(m.Count)
		}
		out[d.Name()] = m
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
