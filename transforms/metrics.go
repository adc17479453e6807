package transforms

import (
	"context"
	"encoding/json"
	"path"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
)

// Beam metrics of the jobs, in namespace MetricsNamespace. The runner
// aggregates them across workers; the jobs read them back after the run
// (pipeline.CollectMetrics) into runs/<run id>/run.json and the closing
// summary. Times are measured, so they live there and never in report.json.
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

// AddRunMetrics adds the metrics and wall time of a finished run to its
// runs/<runID>/run.json.
func AddRunMetrics(ctx context.Context, out, runID string, ms map[string]report.Metric, seconds float64) error {
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
