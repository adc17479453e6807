package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
)

const reportArgs = "diff OLD NEW"

const reportHelp = `Compares two report.json files, typically of scheduled runs of the same zoo,
and prints what changed as Markdown: per model, accuracy (top-1, top-5,
agreement), size, speed (changes under 10% are ignored as noise),
calibration, gates and per-layer SQNR. Models without a change are only
counted. OLD and NEW are local paths or storage URLs (file://, s3://, gs://,
mem://, ...) of report.json files. The exit code is 0 whenever both reports
were read, whether or not they differ.`

// runReport is `eightbit report`; its one subcommand is diff.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("report", flag.ContinueOnError)
	var pos, rest []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		rest = append(rest, a)
	}
	help, err := parseFlags(fset, rest, stderr)
	if help {
		printHelp(stdout, "report", reportArgs, reportHelp, fset)
		return exitOK
	}
	if err == nil {
		switch {
		case len(pos) == 0:
			err = errors.New("missing subcommand diff")
		case pos[0] != "diff":
			err = fmt.Errorf("unknown subcommand %q, want diff", pos[0])
		case len(pos) != 3:
			err = errors.New("diff needs OLD and NEW")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit report: %v (see eightbit report --help)\n", err)
		return exitUsage
	}
	var reps [2]*report.Report
	for i, loc := range pos[1:] {
		data, err := storage.ReadLocation(ctx, loc)
		if err == nil {
			reps[i], err = report.Parse(data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "eightbit report diff: %s: %v\n", loc, err)
			return exitFailed
		}
	}
	stdout.Write(report.Diff(reps[0], reps[1]).Markdown())
	return exitOK
}
