// Command eightbit quantizes model zoos to 8 bits on Apache Beam and reports
// what that costs and gains.
//
//	eightbit demo [--out DIR]
//	eightbit quantize-zoo --zoo URL --out URL [--runner NAME] [Beam options]
//	eightbit evaluate --zoo URL --out URL
//	eightbit calibrate --zoo URL --out URL
//	eightbit run SPEC.yaml [flags]
//	eightbit bench MODEL_URL... [--batch N] [--threads N] [--runs N] [--json]
//
// Run `eightbit help` or `eightbit <command> --help` for details.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/pipeline"
)

// Exit codes (and exitSIGINT, exitSIGTERM).
const (
	exitOK     = 0 // every model finished
	exitFailed = 1 // some model failed
	exitUsage  = 2 // bad invocation or configuration
)

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"demo", "[--out DIR]", "quantize the embedded demo zoo (4 MNIST models) and write a report", runDemo},
		{"quantize-zoo", "--zoo URL --out URL", "calibrate, quantize and evaluate every model of a zoo", runQuantizeZoo},
		{"evaluate", "--zoo URL --out URL", "evaluate every model of a zoo as stored (float or 8-bit)", runEvaluate},
		{"calibrate", "--zoo URL --out URL", "measure activation ranges into the calibration cache", runCalibrate},
		{"run", "SPEC.yaml [flags]", "run the job a spec file describes; flags override it", runRun},
		{"inspect", "MODEL_URL [--json]", "describe a model: shapes, ops, parameters, MACs, unsupported ops", runInspect},
		{"bench", "MODEL_URL... [flags]", "time whole-model inference: ms per image and images/s", runBench},
		{"report", reportArgs, "compare two report.json files and print what changed", runReport},
	}
}

func main() {
	// A binary started by a Beam runner as a worker gets only flags.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") && isWorker(os.Args[1:]) {
		flag.Parse()
		pipeline.Init("")
		return
	}
	ctx, stop := context.Background(), func() {}
	if len(os.Args) > 1 && runsJob(os.Args[1]) {
		// SIGINT and SIGTERM stop a job cleanly (runNamed says what
		// finished); other commands keep the default of dying at once.
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		ctx, stop = watchSignals(ctx, sigs, func(s os.Signal) {
			// A second signal: the user does not want to wait for Beam.
			fmt.Fprintf(os.Stderr, "\neightbit: %s again, exiting now\n", signalName(s))
			os.Exit(signalExit(s))
		})
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runsJob reports whether a command runs a Beam job.
func runsJob(cmd string) bool {
	switch cmd {
	case "demo", "quantize-zoo", "evaluate", "calibrate", "run":
		return true
	}
	return false
}

func isWorker(args []string) bool {
	for _, a := range args {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=") || strings.HasPrefix(a, "-worker=") {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "eightbit: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "eightbit quantizes neural-network model zoos to 8 bits on Apache Beam.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  eightbit %-13s %-22s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "  eightbit help COMMAND                       help on one command")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 all models finished, 1 some model failed, 2 bad invocation,")
	fmt.Fprintln(w, "130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM; rerun with the same --out to resume.")
}

// parseFlags parses a command's own flags from args and hands every other
// flag to Beam's global flag set (--runner, --endpoint, --environment_type,
// --project, --region, --staging_location, ...).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (bool, error) {
	var own, beamArgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return false, fmt.Errorf("unexpected argument %q", a)
		}
		if a == "--" {
			return false, fmt.Errorf("unexpected argument %q", a)
		}
		name := strings.TrimLeft(a, "-")
		hasValue := false
		if k, _, ok := strings.Cut(name, "="); ok {
			name, hasValue = k, true
		}
		if name == "h" || name == "help" {
			return true, nil
		}
		target := &own
		f := fs.Lookup(name)
		if f == nil {
			if f = flag.CommandLine.Lookup(name); f == nil {
				return false, fmt.Errorf("unknown flag %q", a)
			}
			target = &beamArgs
		}
		*target = append(*target, a)
		if !hasValue && !isBoolFlag(f) {
			if i+1 >= len(args) {
				return false, fmt.Errorf("flag %q needs a value", a)
			}
			i++
			*target = append(*target, args[i])
		}
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(own); err != nil {
		return false, err
	}
	if err := flag.CommandLine.Parse(beamArgs); err != nil {
		return false, err
	}
	return false, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// verboseFlag adds --verbose, which shows the runner's own log lines.
func verboseFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("verbose", false, "show the Beam runner's log lines (hidden by default)")
}

// logLevel keeps Beam's and prism's informational log lines off the
// terminal unless verbose is set; warnings and errors always show.
func logLevel(verbose bool) string {
	if verbose {
		return "info"
	}
	return "warn"
}

func printHelp(w io.Writer, name, args, text string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: eightbit %s %s\n\n%s\n\nFlags:\n", name, args, text)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, `
Beam options are accepted too, among them:
  --runner NAME            prism (default, in-process), direct, universal, dataflow, flink, spark
  --endpoint HOST:PORT     job server of the universal, flink and spark runners
  --environment_type TYPE  LOOPBACK to run workers in this process (universal runner)
  --project, --region, --staging_location   Dataflow settings`)
}

// errorChars caps the length of the one line a job error is printed as.
const errorChars = 400

// exitFor maps a job error to an exit code and prints it in one line (the
// whole message goes to Beam's log file, when there is one).
func exitFor(err error, stderr io.Writer) int {
	line := oneLine(err.Error(), errorChars)
	if p := beamLogPath(); p != "" {
		slog.Error("eightbit: job failed", "error", err.Error())
		if line != err.Error() {
			line += " (whole message in " + p + ")"
		}
	}
	fmt.Fprintf(stderr, "eightbit: %s\n", line)
	if errors.Is(err, jobs.ErrConfig) {
		return exitUsage
	}
	return exitFailed
}
