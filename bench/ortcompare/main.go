// Command ortcompare times whole models in eightbit and in ONNX Runtime side
// by side and prints eightbit's speed as a ratio of ONNX Runtime's.
//
//	go run ./bench/ortcompare -manifest ZOO.yaml -quantized DIR [flags] [NAME ...]
//
// The float files are the manifest's models (all of them, or the NAMEs
// given); the int8 files are DIR/NAME.int8.onnx, as quantize-zoo writes
// them.
//
// For every round, model, thread count and file (float, then int8) it runs
// `eightbit bench --json` and then ortbench.js (beside this file) on the
// same file, input shape and thread count, so that machine noise hits both
// engines alike. A round's ratio is ONNX Runtime's median milliseconds per
// image over eightbit's (above 1: eightbit is faster); the table shows the
// median over the rounds. The int8 runs of ONNX Runtime are started with
// the environment of -ort-int8-env (AMX denied, see bench/ort-compare.sh).
// bench/ort-compare.sh quantizes the models and calls this command.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/zoo"
)

type pair struct{ name, float, int8 string }

type timing struct {
	MinMS    float64 `json:"min_ms"`
	MedianMS float64 `json:"median_ms"`
}

type benchLine struct {
	Input    string  `json:"input_shape"`
	MedianMS float64 `json:"median_ms_per_image"`
	Iters    int     `json:"iterations_per_run"`
	Kind     string  `json:"kind"`
}

// cell collects one (model, threads, kind) over the rounds.
type cell struct {
	eb, ort, ratio []float64
}

func main() {
	eightbit := flag.String("eightbit", "eightbit", "the eightbit binary")
	nodeModules := flag.String("node-modules", "", "node_modules folder holding onnxruntime-node")
	int8Env := flag.String("ort-int8-env", "", "extra environment `K=V,K=V` for ONNX Runtime's int8 runs (AMX denied)")
	threadsFlag := flag.String("threads", "1", "thread counts `N,N`")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	runs := flag.Int("runs", 3, "repetitions inside each engine's process")
	manifest := flag.String("manifest", "", "the zoo manifest `FILE` naming the float models")
	quantized := flag.String("quantized", "", "the `DIR` holding NAME.int8.onnx")
	flag.Parse()
	if *manifest == "" || *quantized == "" || *nodeModules == "" {
		fmt.Fprintln(os.Stderr, "usage: ortcompare -manifest ZOO.yaml -quantized DIR -node-modules DIR [flags] [NAME ...]")
		os.Exit(2)
	}
	data, err := os.ReadFile(*manifest)
	if err != nil {
		fatal(err)
	}
	m, err := zoo.ParseWith(data, zoo.Options{AllowOutside: true})
	if err != nil {
		fatal(fmt.Errorf("%s: %w", *manifest, err))
	}
	var pairs []pair
	for _, mod := range m.Models {
		if flag.NArg() > 0 && !slices.Contains(flag.Args(), mod.Name) {
			continue
		}
		f := mod.File
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(*manifest), f)
		}
		pairs = append(pairs, pair{mod.Name, f, filepath.Join(*quantized, mod.Name+".int8.onnx")})
	}
	if len(pairs) == 0 {
		fatal(fmt.Errorf("no models selected from %s", *manifest))
	}
	var threads []int
	for _, t := range strings.Split(*threadsFlag, ",") {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-threads %q", *threadsFlag))
		}
		threads = append(threads, n)
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "ortbench.js")
	kinds := []string{"float", "int8"}
	cells := map[string]*cell{}
	key := func(m string, t int, k string) string { return fmt.Sprintf("%s/%d/%s", m, t, k) }
	for r := range *rounds {
		for _, p := range pairs {
			for _, t := range threads {
				for _, k := range kinds {
					file := p.float
					if k == "int8" {
						file = p.int8
					}
					eb, err := runEightbit(*eightbit, file, t, *runs)
					if err != nil {
						fatal(err)
					}
					var env []string
					if k == "int8" && *int8Env != "" {
						env = strings.Split(*int8Env, ",")
					}
					ort, err := runORT(script, *nodeModules, env, file, eb.Input, max(eb.Iters, 3), *runs, t)
					if err != nil {
						fatal(err)
					}
					c := cells[key(p.name, t, k)]
					if c == nil {
						c = &cell{}
						cells[key(p.name, t, k)] = c
					}
					c.eb = append(c.eb, eb.MedianMS)
					c.ort = append(c.ort, ort.MedianMS)
					c.ratio = append(c.ratio, ort.MedianMS/eb.MedianMS)
					fmt.Fprintf(os.Stderr, "round %d %s %d thread(s) %s: eightbit %.3f ms, ONNX Runtime %.3f ms\n",
						r+1, p.name, t, k, eb.MedianMS, ort.MedianMS)
				}
			}
		}
	}
	fmt.Printf("| model | threads | float eightbit ms | float ORT ms | float ratio | int8 eightbit ms | int8 ORT ms | int8 ratio | eightbit int8 speed-up |\n")
	fmt.Printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range pairs {
		for _, t := range threads {
			f, q := cells[key(p.name, t, "float")], cells[key(p.name, t, "int8")]
			fmt.Printf("| %s | %d | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.2fx |\n", p.name, t,
				median(f.eb), median(f.ort), median(f.ratio), median(q.eb), median(q.ort), median(q.ratio),
				median(f.eb)/median(q.eb))
		}
	}
	fmt.Printf("\nratio = ONNX Runtime ms / eightbit ms per image (above 1.00x eightbit is faster), median of %d interleaved rounds; batch 1.\n", *rounds)
}

func runEightbit(bin, file string, threads, runs int) (*benchLine, error) {
	cmd := exec.Command(bin, "bench", "--json", "--threads", strconv.Itoa(threads), "--runs", strconv.Itoa(runs), file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("eightbit bench %s: %v: %s", file, err, errb.String())
	}
	var lines []benchLine
	if err := json.Unmarshal(out.Bytes(), &lines); err != nil || len(lines) != 1 {
		return nil, fmt.Errorf("eightbit bench %s: unexpected output %q", file, out.String())
	}
	return &lines[0], nil
}

func runORT(script, nodeModules string, env []string, file, shape string, iters, runs, threads int) (*timing, error) {
	shape = strings.Trim(shape, "[]")
	cmd := exec.Command("node", script, file, shape, strconv.Itoa(iters), strconv.Itoa(runs), strconv.Itoa(threads))
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+nodeModules), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ONNX Runtime on %s: %v: %s", file, err, errb.String())
	}
	var t timing
	if err := json.Unmarshal(out.Bytes(), &t); err != nil {
		return nil, fmt.Errorf("ONNX Runtime on %s: unexpected output %q", file, out.String())
	}
	return &t, nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "ortcompare: %v\n", err)
	os.Exit(1)
}
