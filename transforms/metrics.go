package transforms

import (
	"context"
	"encoding/json"
	"path"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/storage"
)

// Beam metrics of the jobs, in namespace MetricsNamespace. The runner
// aggregates them across workers; the jobs read them back after the run
// (CollectMetrics) into runs/<run id>/run.json and the closing summary.
// Times are measured, so they live there and never in report.json.
const MetricsNamespace = "eightbit"

var (
	// Counters.
	metricEvalImages  = beam.NewCounter(MetricsNamespace, "evaluation_images")
	metricCalibImages = beam.NewCounter(MetricsNamespace, "calibration_images")
	metricFailedItems = beam.NewCounter(MetricsNamespace, "failed_work_items")
	metricFailedLoads = beam.NewCounter(MetricsNamespace, "failed_models")
	metricBadSamples  = beam.NewCounter(MetricsNamespace, "bad_samples")
	metricReused      = beam.NewCounter(MetricsNamespace, "reused_models")
	// Distributions (integers: microseconds, bytes).
	metricInt8BatchUS = beam.NewDistribution(MetricsNamespace, "int8_batch_us")
	metricLoadUS      = beam.NewDistribution(MetricsNamespace, "model_load_us")
	metricModelBytes  = beam.NewDistribution(MetricsNamespace, "model_bytes")
)

// Metric is one metric read back from a run: a counter's Value, or a
// distribution's Count, Sum, Min and Max (Mean = Sum / Count).
type Metric struct {
	Value int64   `json:"value,omitempty"`
	Count int64   `json:"count,omitempty"`
	Sum   int64   `json:"sum,omitempty"`
	Min   int64   `json:"min,omitempty"`
	Max   int64   `json:"max,omitempty"`
	Mean  float64 `json:"mean,omitempty"`
}

// CollectMetrics reads the eightbit metrics of a finished pipeline,
// summing over the steps that report each (step names differ between
// runners); nil when the runner gives none.
func CollectMetrics(res beam.PipelineResult) map[string]Metric {
	if res == nil {
		return nil
	}
	out := map[string]Metric{}
	q := res.Metrics().Query(func(r beam.MetricResult) bool { return r.Namespace() == MetricsNamespace })
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

// MetricNames returns the names of ms, sorted.
func MetricNames(ms map[string]Metric) []string {
	names := make([]string, 0, len(ms))
	for k := range ms {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// AddRunMetrics adds the metrics and wall time of a finished run to its
// runs/<runID>/run.json.
func AddRunMetrics(ctx context.Context, out, runID string, ms map[string]Metric, seconds float64) error {
	info, err := ReadRunInfo(ctx, out, runID)
	if err != nil {
		return err
	}
	info.Metrics, info.Seconds = ms, seconds
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	b, err := storage.Open(ctx, out)
	if err != nil {
		return err
	}
	defer b.Close()
	return b.WriteAtomic(ctx, path.Join(RunsDir, runID, RunJSON), append(data, '\n'), "application/json")
}
