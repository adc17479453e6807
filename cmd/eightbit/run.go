package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
)

// specFlags binds the command-line flags that override a spec file; their
// defaults are the file's values.
func specFlags(fs *flag.FlagSet, s *jobs.Spec) *bool {
	fs.StringVar(&s.Job, "job", s.Job, "the `job`: quantize-zoo, evaluate or calibrate")
	fs.StringVar(&s.Zoo, "zoo", s.Zoo, "zoo folder `URL` holding zoo.yaml, or the manifest's URL")
	fs.StringVar(&s.Out, "out", s.Out, "output folder `URL`")
	fs.Var(&s.Calibration.Samples, "calib-samples", fmt.Sprintf("use at most `N` calibration samples per model, chosen class by class by a hash of their ids; all (or 0): the whole split (default: the spec's calibration.samples, else %d)", jobs.DefaultCalibSamples))
	fs.IntVar(&s.Evaluation.Samples, "eval-samples", s.Evaluation.Samples, "use at most `N` evaluation samples per model, chosen class by class by a hash of their ids (0: the whole split)")
	fs.IntVar(&s.ShardSize, "shard-size", s.ShardSize, "samples per work item (0: 250)")
	fs.StringVar(&s.Calibration.Method, "calibration", s.Calibration.Method, "activation range `method`: minmax, percentile, entropy or mse")
	fs.Float64Var(&s.Calibration.Percentile, "percentile", s.Calibration.Percentile, "share of values the percentile method keeps, in `percent`")
	fs.BoolVar(&s.Calibration.Recalibrate, "recalibrate", s.Calibration.Recalibrate, "ignore range files of earlier runs under the output folder")
	fs.BoolVar(&s.Calibration.AllowNonFinite, "allow-nonfinite", s.Calibration.AllowNonFinite, "calibrate on the finite values of activations holding NaN or ±Inf instead of failing the model")
	fs.BoolVar(&s.Verbose, "verbose", s.Verbose, "show the Beam runner's log lines (hidden by default)")
	fs.BoolVar(&s.AllowOutside, "allow-outside", s.AllowOutside, "accept manifest locations outside the zoo folder (URLs, absolute paths, ..)")
	fs.BoolVar(&s.Force, "force", s.Force, "quantize-zoo: run every model again, even those whose outputs under --out are complete")
	fs.Var(gateFlag{&s.Gates.MaxTop1Drop}, "max-top1-drop", "quantize-zoo gate: fail a model whose int8 top-1 is more than `F` (a fraction) below float; exit 1")
	fs.Var(gateFlag{&s.Gates.MinAgreement}, "min-agreement", "quantize-zoo gate: fail a model whose int8 and float predictions agree on less than a fraction `F` of samples; exit 1")
	return &s.Verbose
}

const runText = `Runs the job a spec file describes (YAML; see docs/scheduling.md): the job
(quantize-zoo, evaluate or calibrate), zoo, out, runner, Beam options,
calibration and sample settings. Flags override the file. SPEC is a local
path or a URL (gs://, s3://, ...).`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		var s jobs.Spec
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		specFlags(fs, &s)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			printHelp(stdout, "run", "SPEC.yaml [flags]", runText, fs)
			return exitOK
		}
		fmt.Fprintln(stderr, "eightbit run: a spec file is required (see eightbit run --help)")
		return exitUsage
	}
	s, err := jobs.ReadSpec(ctx, args[0])
	if err == nil {
		err = s.ApplyBeamOptions()
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit run: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	verbose := specFlags(fs, s)
	help, err := parseFlags(fs, args[1:], stderr)
	if help {
		printHelp(stdout, "run", "SPEC.yaml [flags]", runText, fs)
		return exitOK
	}
	var j jobs.Job
	if err == nil {
		j, err = s.NewJob("")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit run: %v\n", err)
		return exitUsage
	}
	defer initBeam(*verbose, s.Out)()
	return runNamed(ctx, s.Job, s.Zoo, s.Out, j, stdout, stderr)
}

func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var j jobs.Evaluate
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.StringVar(&j.Zoo, "zoo", "", "zoo folder `URL` holding zoo.yaml, or the manifest's URL")
	fs.StringVar(&j.Out, "out", "", "output folder `URL` for report.json and report.md")
	fs.IntVar(&j.EvalSamples, "eval-samples", 0, "use at most `N` evaluation samples per model, chosen class by class by a hash of their ids (0: the whole split)")
	fs.IntVar(&j.ShardSize, "shard-size", 250, "samples per work item")
	fs.IntVar(&j.BatchSize, "batch-size", 0, "samples per inference call for models without a fixed batch (default 50)")
	fs.BoolVar(&j.AllowOutside, "allow-outside", false, "accept manifest locations outside the zoo folder (URLs, absolute paths, ..)")
	verbose := verboseFlag(fs)
	help, err := parseFlags(fs, args, stderr)
	if help {
		printHelp(stdout, "evaluate", "--zoo URL --out URL [flags]",
			"Evaluates every model of a zoo as stored (float ONNX, or 8-bit QDQ or QOperator\nONNX from eightbit or another tool) on its evaluation split and writes\nreport.json and report.md under --out.", fs)
		return exitOK
	}
	if err == nil && (j.Zoo == "" || j.Out == "") {
		err = fmt.Errorf("--zoo and --out are required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit evaluate: %v (see eightbit evaluate --help)\n", err)
		return exitUsage
	}
	defer initBeam(*verbose, j.Out)()
	return runNamed(ctx, jobs.JobEvaluate, j.Zoo, j.Out, &j, stdout, stderr)
}

func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var j jobs.Calibrate
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.StringVar(&j.Zoo, "zoo", "", "zoo folder `URL` holding zoo.yaml, or the manifest's URL")
	fs.StringVar(&j.Out, "out", "", "output folder `URL`: calibration/<model>.json, report.json, report.md")
	calibSamplesVar(fs, &j.CalibSamples)
	fs.IntVar(&j.ShardSize, "shard-size", 250, "samples per work item")
	fs.StringVar(&j.Calibration, "calibration", "minmax", "activation range `method`: minmax, percentile, entropy or mse")
	fs.Float64Var(&j.Percentile, "percentile", 0, "share of values the percentile method keeps, in `percent` (default 99.99)")
	fs.BoolVar(&j.Recalibrate, "recalibrate", false, "ignore range files of earlier runs under the output folder")
	fs.BoolVar(&j.AllowNonFinite, "allow-nonfinite", false, "calibrate on the finite values of activations holding NaN or ±Inf instead of failing the model")
	fs.IntVar(&j.BatchSize, "batch-size", 0, "samples per inference call for models without a fixed batch (default 50)")
	fs.BoolVar(&j.AllowOutside, "allow-outside", false, "accept manifest locations outside the zoo folder (URLs, absolute paths, ..)")
	verbose := verboseFlag(fs)
	help, err := parseFlags(fs, args, stderr)
	if help {
		printHelp(stdout, "calibrate", "--zoo URL --out URL [flags]",
			"Measures the activation ranges of every model of a zoo on its calibration split\nand writes them to the calibration cache, calibration/<model>.json under --out,\nwhich a later quantize-zoo run with the same --out and settings reuses.", fs)
		return exitOK
	}
	if err == nil && (j.Zoo == "" || j.Out == "") {
		err = fmt.Errorf("--zoo and --out are required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit calibrate: %v (see eightbit calibrate --help)\n", err)
		return exitUsage
	}
	defer initBeam(*verbose, j.Out)()
	return runNamed(ctx, jobs.JobCalibrate, j.Zoo, j.Out, &j, stdout, stderr)
}

// runNamed runs a job, prints its Markdown report on stdout and a summary
// on stderr (with a progress line while a quantize-zoo job runs), and
// returns the exit code: 1 when a model failed or missed a gate, 130 or 143
// when SIGINT or SIGTERM stopped it (see watchSignals).
//
// The output folder is probed first (probeOut): if the job cannot write
// there it exits with exitUsage before reading any model.
func runNamed(ctx context.Context, name, zoo, out string, j jobs.Job, stdout, stderr io.Writer) int {
	start := time.Now()
	if !probeOut(ctx, name, out, stderr) {
		return exitUsage
	}
	// Query secrets (signatures, tokens, key paths) never reach the terminal.
	zoo, out = storage.Redact(zoo), storage.Redact(out)
	fmt.Fprintf(stderr, "eightbit: %s %s -> %s on %s\n", name, zoo, out, pipeline.RunnerName(""))
	if p := beamLogPath(); p != "" {
		fmt.Fprintf(stderr, "eightbit: Beam's own log lines go to %s (--verbose shows them here)\n", p)
	}
	var pp *progressPrinter
	if qz, ok := j.(*jobs.QuantizeZoo); ok {
		pp = newProgressPrinter(stderr)
		qz.Progress = pp.update
	}
	res, err := j.Run(ctx)
	if pp != nil {
		pp.end()
	}
	if s := interruptOf(ctx).signal(); s != nil {
		var pr *jobs.Progress
		if pp != nil {
			pr = &pp.last
		}
		fmt.Fprintln(stderr, stoppedLine(s, name, out, pr, name != jobs.JobEvaluate))
		return signalExit(s)
	}
	if err != nil {
		return exitFor(err, stderr)
	}
	stdout.Write(res.Report.Markdown())
	printSummary(stderr, res, out, start)
	for _, g := range res.GateFailures {
		fmt.Fprintf(stderr, "eightbit: gate failed: %s\n", g)
	}
	if res.Failed > 0 || len(res.GateFailures) > 0 {
		return exitFailed
	}
	return exitOK
}

// printSummary writes a job's closing lines: one per failed model (model,
// stage, cause), one per model with bad samples (count, first ids), then
// counts, time, where the report is, and the models reused from earlier
// runs.
func printSummary(w io.Writer, res *jobs.Result, out string, start time.Time) {
	for i := range res.Report.Models {
		m := &res.Report.Models[i]
		if line := m.FailureLine(errorChars); line != "" {
			fmt.Fprintf(w, "eightbit: %s\n", line)
		}
		if line := m.BadSamplesLine(); line != "" {
			fmt.Fprintf(w, "eightbit: %s: %s (all in report.json)\n", m.Name, line)
		}
	}
	fmt.Fprintf(w, "eightbit: %d models ok, %d failed in %.1fs; report: %s (run %s)\n",
		res.OK, res.Failed, time.Since(start).Seconds(), joinOut(out, res.ReportKey), res.RunID)
	if n := len(res.Reused); n > 0 {
		fmt.Fprintf(w, "eightbit: %d of them reused from earlier runs with the same models, data and settings (--force runs them again)\n", n)
	}
	if line := metricsLine(res.Metrics); line != "" {
		fmt.Fprintf(w, "eightbit: %s\n", line)
	}
}

// metricsLine summarizes a run's Beam metrics in one line.
func metricsLine(ms map[string]report.Metric) string {
	var parts []string
	count := func(name, label string) {
		if m, ok := ms[name]; ok && m.Value > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m.Value, label))
		}
	}
	count("calibration_images", "calibration images")
	count("evaluation_images", "evaluation images")
	count("bad_samples", "bad samples")
	count("failed_work_items", "failed work items")
	count("failed_models", "models that failed to load")
	if m, ok := ms["int8_batch_us"]; ok && m.Count > 0 {
		parts = append(parts, fmt.Sprintf("int8 batch %.1f ms mean (%d batches)", m.Mean/1000, m.Count))
	}
	if m, ok := ms["model_load_us"]; ok && m.Count > 0 {
		parts = append(parts, fmt.Sprintf("model load %.0f ms mean", m.Mean/1000))
	}
	if len(parts) == 0 {
		return ""
	}
	return "metrics: " + strings.Join(parts, ", ")
}
