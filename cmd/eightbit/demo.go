package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/jobs"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var j jobs.QuantizeZoo
	out := "eightbit-out"
	fset := flag.NewFlagSet("demo", flag.ContinueOnError)
	fset.StringVar(&out, "out", out, "local output `DIR`; the demo zoo is unpacked into DIR/demo-zoo")
	sw := zooFlags(fset, &j)
	verbose := verboseFlag(fset)
	help, err := parseFlags(fset, args, stderr)
	if help {
		printHelp(stdout, "demo", "[--out DIR]",
			"Runs quantize-zoo on the embedded demo zoo: four MNIST classifiers (LeNet, an MLP,\na depthwise-separable CNN with and without BatchNormalization) with 1000\ncalibration and 2000 evaluation images, on Beam's local runner.", fset)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit demo: %v (see eightbit demo --help)\n", err)
		return exitUsage
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		fmt.Fprintf(stderr, "eightbit demo: %v\n", err)
		return exitUsage
	}
	if !probeOut(ctx, "demo", abs, stderr) {
		return exitUsage
	}
	zooDir := filepath.Join(abs, "demo-zoo")
	if err := demozoo.Unpack(zooDir); err != nil {
		fmt.Fprintf(stderr, "eightbit demo: unpacking the demo zoo: %v\n", err)
		return exitFailed
	}
	j.Zoo, j.Out = zooDir, abs
	sw.apply(&j)
	defer initBeam(*verbose, j.Out)()
	return runNamed(ctx, jobs.JobQuantizeZoo, j.Zoo, j.Out, &j, stdout, stderr)
}
