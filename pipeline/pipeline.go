// Package pipeline runs eightbit's Beam pipelines: it picks the runner
// (prism, Beam's embedded local runner, by default; direct, universal,
// dataflow, flink and spark through Beam's standard flags), and reads
// metrics back after a run.
//
// Runner options are Beam's own flags (--runner, --endpoint,
// --environment_type, --project, --region, --staging_location, ...). They
// must be parsed before Init is called.
package pipeline

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"

	// The reflection-optimized runtime and every Beam runner.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/exec/optimized"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// DefaultRunner runs pipelines in-process.
const DefaultRunner = "prism"

// Runners lists the runner names eightbit accepts.
var Runners = []string{"prism", "direct", "universal", "dataflow", "flink", "spark"}

// Init must be called after flags are parsed and before a pipeline is built.
// When the binary was started as a Beam worker, Init runs the worker and
// never returns. Beam's log lines below level ("debug", "info", "warn" or
// "error") are dropped.
func Init(level string) {
	if level != "" {
		beamlog.LogLevel = level
	}
	beam.Init()
}

// RunnerName returns the runner chosen by name, or by Beam's --runner flag
// when name is empty, or DefaultRunner.
func RunnerName(name string) string {
	if name != "" {
		return name
	}
	if r := *runners.Runner; r != "" {
		return r
	}
	return DefaultRunner
}

// CheckRunner reports an unknown runner name.
func CheckRunner(name string) error {
	name = RunnerName(name)
	for _, r := range Runners {
		if r == name {
			return nil
		}
	}
	return fmt.Errorf("unknown runner %q (runners: %v; names are case-sensitive)", name, Runners)
}

// Run executes p on the named runner (see RunnerName) and waits for it.
func Run(ctx context.Context, runner string, p *beam.Pipeline) (beam.PipelineResult, error) {
	runner = RunnerName(runner)
	if err := CheckRunner(runner); err != nil {
		return nil, err
	}
	res, err := beam.Run(ctx, runner, p)
	if err != nil {
		return res, fmt.Errorf("pipeline on %s: %w", runner, err)
	}
	return res, nil
}
