package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/quantize"
)

// sweepFlags are --sweep-scheme and --sweep-format: their cross product,
// over the other quantizer flags, becomes QuantizeZoo.Sweep.
type sweepFlags struct{ schemes, formats []string }

// apply sets j.Sweep from the flags (nothing when both are empty).
func (sw *sweepFlags) apply(j *jobs.QuantizeZoo) {
	if len(sw.schemes) == 0 && len(sw.formats) == 0 {
		return
	}
	schemes, formats := sw.schemes, sw.formats
	if len(schemes) == 0 {
		schemes = []string{j.Quantize.Scheme}
	}
	if len(formats) == 0 {
		formats = []string{j.Quantize.Format}
	}
	for _, s := range schemes {
		for _, f := range formats {
			q := j.Quantize
			q.Scheme, q.Format = s, f
			j.Sweep = append(j.Sweep, q)
		}
	}
}

func zooFlags(fs *flag.FlagSet, j *jobs.QuantizeZoo) *sweepFlags {
	sw := &sweepFlags{}
	fs.Var(listFlag{&sw.schemes}, "sweep-scheme", "comma-separated `schemes`: run every model once per scheme (times --sweep-format), as <model>@<scheme>, side by side in the report")
	fs.Var(listFlag{&sw.formats}, "sweep-format", "comma-separated `formats`: run every model once per format (times --sweep-scheme)")
	calibSamplesVar(fs, &j.CalibSamples)
	fs.IntVar(&j.EvalSamples, "eval-samples", 0, "use at most `N` evaluation samples per model, chosen class by class by a hash of their ids (0: the whole split)")
	fs.IntVar(&j.ShardSize, "shard-size", 250, "samples per work item")
	fs.IntVar(&j.BatchSize, "batch-size", 0, "samples per inference call for models without a fixed batch (default 50)")
	fs.StringVar(&j.Calibration, "calibration", "minmax", "activation range `method`: minmax, percentile, entropy or mse")
	fs.Float64Var(&j.Percentile, "percentile", 0, "share of values the percentile method keeps, in `percent` (default 99.99)")
	fs.BoolVar(&j.Recalibrate, "recalibrate", false, "ignore range files of earlier runs under the output folder")
	fs.BoolVar(&j.Quantize.CLE, "cle", false, "cross-layer equalization (Nagel et al. 2019) of Conv→activation→Conv chains before calibration")
	fs.BoolVar(&j.AllowNonFinite, "allow-nonfinite", false, "calibrate on the finite values of activations holding NaN or ±Inf instead of failing the model")
	fs.Var(gateFlag{&j.MaxTop1Drop}, "max-top1-drop", "gate: fail a model whose int8 top-1 is more than `F` (a fraction, 0.01 = 1 point) below float; exit 1")
	fs.Var(gateFlag{&j.MinAgreement}, "min-agreement", "gate: fail a model whose int8 and float predictions agree on less than a fraction `F` of samples; exit 1")
	fs.BoolVar(&j.AllowOutside, "allow-outside", false, "accept manifest locations outside the zoo folder (URLs, absolute paths, ..)")
	fs.StringVar(&j.Quantize.Scheme, "scheme", "", "quantization `scheme`: "+strings.Join(quantize.Schemes(), ", ")+" (default "+quantize.Schemes()[0]+")")
	fs.StringVar(&j.Quantize.Format, "format", "", "output `format`: "+strings.Join(quantize.Formats(), ", ")+" (default "+quantize.Formats()[0]+")")
	fs.Var(listFlag{&j.Quantize.ExcludeNodes}, "exclude-nodes", "comma-separated node `names` to keep in float")
	fs.Var(listFlag{&j.Quantize.ExcludeOpTypes}, "exclude-op-types", "comma-separated op `types` to keep in float")
	fs.BoolVar(&j.Quantize.AllowContribOps, "allow-contrib-ops", false, "let the qoperator format use com.microsoft QLinearAdd and QLinearGlobalAveragePool")
	fs.BoolVar(&j.MeasureSpeed, "measure-speed", false, "time float and int8 inference during evaluation and report ms per image and images per second (the report is then not byte-identical between runs)")
	fs.BoolVar(&j.Force, "force", false, "run every model again, even those whose outputs under --out are complete for the same model, data and settings")
	fs.StringVar(&j.Quantize.WeightRanges, "weight-ranges", "", "int8 weight range `method`: minmax (every weight exact to half a step) or mse (minimum expected squared error; may clip outlying weights) (default minmax)")
	return sw
}

// listFlag is a comma-separated list of names.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.p = append(*l.p, s)
		}
	}
	return nil
}

// gateFlag is an optional fraction: unset leaves the pointer nil.
// calibSamplesUsage is the help of --calib-samples.
const calibSamplesUsage = "use at most `N` calibration samples per model, chosen class by class by a hash of their ids; all (or 0): the whole split"

// calibSamplesVar binds --calib-samples to p (a job's CalibSamples: 0 is
// the whole split), which starts at jobs.DefaultCalibSamples.
func calibSamplesVar(fs *flag.FlagSet, p *int) {
	*p = jobs.DefaultCalibSamples
	fs.Var(calibFlag{p}, "calib-samples", calibSamplesUsage)
}

// calibFlag reads a calibration sample cap: a count or all.
type calibFlag struct{ p *int }

func (c calibFlag) String() string {
	if c.p == nil {
		return ""
	}
	return jobs.SampleLimit{N: *c.p, Given: true}.String()
}

func (c calibFlag) Set(s string) error {
	l, err := jobs.ParseSampleLimit(s)
	if err != nil {
		return err
	}
	*c.p = l.N
	return nil
}

type gateFlag struct{ p **float64 }

func (g gateFlag) String() string {
	if g.p == nil || *g.p == nil {
		return ""
	}
	return strconv.FormatFloat(**g.p, 'g', -1, 64)
}

func (g gateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("%v is not a fraction in [0,1]", v)
	}
	*g.p = &v
	return nil
}

func runQuantizeZoo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var j jobs.QuantizeZoo
	fs := flag.NewFlagSet("quantize-zoo", flag.ContinueOnError)
	fs.StringVar(&j.Zoo, "zoo", "", "zoo folder `URL` holding zoo.yaml, or the manifest's URL (file path, file://, s3://, gs://, mem://)")
	fs.StringVar(&j.Out, "out", "", "output folder `URL` for quantized models and reports")
	sw := zooFlags(fs, &j)
	verbose := verboseFlag(fs)
	help, err := parseFlags(fs, args, stderr)
	if help {
		printHelp(stdout, "quantize-zoo", "--zoo URL --out URL [flags]",
			"Calibrates activation ranges on each model's calibration split, quantizes every\nmodel of the zoo to 8 bits (QDQ ONNX), evaluates float and int8 on the evaluation\nsplit, and writes models/<name>.int8.onnx, report.json, report.md,\nsummary.csv and index.html under --out.", fs)
		return exitOK
	}
	if err == nil && (j.Zoo == "" || j.Out == "") {
		err = fmt.Errorf("--zoo and --out are required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit quantize-zoo: %v (see eightbit quantize-zoo --help)\n", err)
		return exitUsage
	}
	sw.apply(&j)
	defer initBeam(*verbose, j.Out)()
	return runNamed(ctx, jobs.JobQuantizeZoo, j.Zoo, j.Out, &j, stdout, stderr)
}

func joinOut(out, key string) string {
	if len(out) > 0 && out[len(out)-1] == '/' {
		return out + key
	}
	return out + "/" + key
}
