package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/formats"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/tensor"
)

// benchResult is one model's line of `eightbit bench`.
type benchResult struct {
	Model   string `json:"model"`
	Kind    string `json:"kind"` // "float" or "int8"
	Input   string `json:"input_shape"`
	Batch   int    `json:"batch"`
	Threads int    `json:"threads"`
	Runs    int    `json:"runs"`
	Iters   int    `json:"iterations_per_run"`
	// Milliseconds per image: the best and the median run.
	MinMS    float64 `json:"min_ms_per_image"`
	MedianMS float64 `json:"median_ms_per_image"`
	// Images per second at the median run.
	ImagesPerSec float64 `json:"images_per_second"`
	// IntegerMACShare is the share of multiply-accumulates that ran in
	// integer arithmetic.
	IntegerMACShare float64 `json:"integer_mac_share"`
}

type benchFlags struct {
	batch, threads, runs, iters, warmup int
	shape                               []int
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var bf benchFlags
	fs.IntVar(&bf.batch, "batch", 1, "images per run (the input's leading dimension)")
	fs.IntVar(&bf.threads, "threads", 1, "threads the executor may use (0: every core)")
	fs.IntVar(&bf.runs, "runs", 5, "timed repetitions; min and median are over these")
	fs.IntVar(&bf.iters, "iters", 0, "runs of the model per repetition (0: enough for about 0.2 s)")
	fs.IntVar(&bf.warmup, "warmup", 3, "untimed runs first")
	shape := fs.String("input-shape", "", "input shape `D,D,...` with the batch first (default: the declared shape at --batch)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	var models []string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			models = append(models, a)
			continue
		}
		rest = append(rest, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			rest = append(rest, args[i])
		}
	}
	help, err := parseFlags(fs, rest, stderr)
	if help {
		printHelp(stdout, "bench", "MODEL_URL... [--batch N] [--threads N] [--runs N] [--input-shape D,D,...] [--json]",
			"Times whole-model inference of each file as it is: a float file runs in\nfloat32, a quantized (QDQ or QOperator) file in integer arithmetic, as\nevaluation runs them. Each model gets --warmup untimed runs, then --runs\nrepetitions of --iters runs on a fixed pseudo-random input in [-2, 2);\nit prints milliseconds per image (min and median over the repetitions)\nand images per second at the median.", fs)
		return exitOK
	}
	if err == nil && len(models) == 0 {
		err = errors.New("missing MODEL_URL")
	}
	if err == nil && *shape != "" {
		bf.shape, err = parseShape(*shape)
	}
	if err == nil && (bf.batch < 1 || bf.runs < 1 || bf.threads < 0 || bf.iters < 0 || bf.warmup < 0) {
		err = errors.New("--batch and --runs must be at least 1, --threads, --iters and --warmup at least 0")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit bench: %v (see eightbit bench --help)\n", err)
		return exitUsage
	}
	if bf.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(bf.threads))
	}
	var results []benchResult
	code := exitOK
	for _, m := range models {
		r, err := benchModel(ctx, m, bf)
		if err != nil {
			fmt.Fprintf(stderr, "eightbit bench: %v\n", err)
			code = exitFailed
			continue
		}
		results = append(results, *r)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(results, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return code
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tkind\tinput\tthreads\tmin ms/image\tmedian ms/image\timages/s\tinteger MACs")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.1f\t%.1f%%\n", r.Model, r.Kind, r.Input, r.Threads,
			r.MinMS, r.MedianMS, r.ImagesPerSec, 100*r.IntegerMACShare)
	}
	tw.Flush()
	return code
}

func parseShape(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || d < 1 {
			return nil, fmt.Errorf("--input-shape %q: dimensions are positive integers", s)
		}
		out = append(out, d)
	}
	return out, nil
}

// loadModel reads and decodes a model, in the format its name implies
// (formats.ForFile), with external tensor data from files next to it.
func loadModel(ctx context.Context, loc string) (*graph.Model, int, error) {
	// A file over the decoder's size limit is refused before it is read.
	data, err := storage.ReadLocationLimit(ctx, loc, onnx.DefaultLimits.MaxModelBytes)
	var tl *storage.TooLargeError
	if errors.As(err, &tl) {
		return nil, 0, failure.Mark(err, failure.InvalidModel)
	}
	if err != nil {
		return nil, 0, err
	}
	folder := modelFolder(loc)
	// External data must stay inside the model's folder, symbolic links
	// included.
	m, err := formats.Decode(data, formats.ForFile(loc), formats.Options{External: func(rel string) ([]byte, error) {
		return storage.ReadInside(ctx, folder, rel)
	}})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", loc, err)
	}
	return m, len(data), nil
}

// quantizedOps are the operators that make a file an 8-bit one.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "QLinearConv": true, "QLinearMatMul": true,
	"ConvInteger": true, "MatMulInteger": true,
}

func benchModel(ctx context.Context, loc string, bf benchFlags) (*benchResult, error) {
	m, _, err := loadModel(ctx, loc)
	if err != nil {
		return nil, err
	}
	kind := "float"
	for _, n := range m.Graph.Nodes {
		if quantizedOps[n.OpType] {
			kind = "int8"
			break
		}
	}
	p, err := infer.Compile(m, infer.Options{Integer: kind == "int8"})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	feeds := map[string]*tensor.Tensor{}
	var shapeText string
	for i, in := range p.InputInfo() {
		if in.DType != tensor.Float32 {
			return nil, fmt.Errorf("%s: input %q is %v; bench feeds float32 inputs only", loc, in.Name, in.DType)
		}
		var shape tensor.Shape
		if i == 0 && bf.shape != nil {
			shape = tensor.Shape(slices.Clone(bf.shape))
		} else {
			for j, d := range in.Shape {
				switch {
				case j == 0:
					shape = append(shape, bf.batch)
				case d.Param == "" && d.Value > 0:
					shape = append(shape, int(d.Value))
				default:
					return nil, fmt.Errorf("%s: input %q has no fixed size in dimension %d (%s); give --input-shape", loc, in.Name, j, in.ShapeString())
				}
			}
		}
		t := tensor.New(tensor.Float32, shape)
		fillPseudoRandom(t.F32)
		feeds[in.Name] = t
		if i == 0 {
			shapeText = shape.String()
		}
	}
	batch := bf.batch
	if bf.shape != nil {
		batch = int(bf.shape[0])
	}
	for range bf.warmup {
		if _, err := p.Run(feeds); err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
	}
	iters := bf.iters
	if iters == 0 {
		t0 := time.Now()
		if _, err := p.Run(feeds); err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		iters = max(1, min(1000, int(200*time.Millisecond/max(time.Since(t0), time.Microsecond))))
	}
	perImage := make([]float64, bf.runs)
	for r := range perImage {
		t0 := time.Now()
		for range iters {
			if _, err := p.Run(feeds); err != nil {
				return nil, fmt.Errorf("%s: %w", loc, err)
			}
		}
		perImage[r] = float64(time.Since(t0)) / 1e6 / float64(iters*batch)
	}
	slices.Sort(perImage)
	med := perImage[len(perImage)/2]
	return &benchResult{
		Model: loc, Kind: kind, Input: shapeText, Batch: batch, Threads: runtime.GOMAXPROCS(0),
		Runs: bf.runs, Iters: iters, MinMS: perImage[0], MedianMS: med, ImagesPerSec: 1000 / med,
		IntegerMACShare: p.Stats().MACShare(),
	}, nil
}

// fillPseudoRandom fills x with values in [-2, 2) from the linear
// congruential generator that ONNX Runtime's side of the comparison script
// uses (bench/ortcompare/ortbench.js), so both engines see the same input.
func fillPseudoRandom(x []float32) {
	seed := uint32(1)
	for i := range x {
		seed = (seed*1103515245 + 12345) & 0x7fffffff
		x[i] = float32(float64(seed)/0x7fffffff*4 - 2)
	}
}
