package infer

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
)

var updateConformance = flag.Bool("update", false, "rewrite testdata/conformance.txt from this run")

const conformanceFile = "testdata/conformance.txt"

// conformanceResult is the outcome of one ONNX node test.
type conformanceResult struct {
	name, status, reason string
}

// Tolerances of the conformance comparison (float outputs); integer and
// bool outputs must match exactly.
const (
	confRtol = 1e-3
	confAtol = 1e-5
)

// runNodeTest runs one ONNX backend node test directory.
func runNodeTest(dir string) conformanceResult {
	r := conformanceResult{name: filepath.Base(dir)}
	unsupported := func(err error) conformanceResult {
		r.status, r.reason = "unsupported", err.Error()
		return r
	}
	fail := func(format string, args ...any) conformanceResult {
		r.status, r.reason = "fail", fmt.Sprintf(format, args...)
		return r
	}
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return fail("%v", err)
	}
	m, err := onnx.Decode(b)
	if err != nil {
		if errors.Is(err, onnx.ErrUnsupported) {
			return unsupported(err)
		}
		return fail("decode: %v", err)
	}
	for _, v := range append(append([]graph.ValueInfo(nil), m.Graph.Inputs...), m.Graph.Outputs...) {
		if v.DType == tensor.Undefined && v.Shape == nil {
			return unsupported(fmt.Errorf("value %q is not a tensor (sequence, map or optional)", v.Name))
		}
	}
	p, err := Compile(m, Options{})
	if err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) || errors.Is(err, ErrUnsupported) {
			return unsupported(err)
		}
		return fail("compile: %v", err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	sort.Strings(sets)
	if len(sets) == 0 {
		return fail("no test data sets")
	}
	names := p.InputNames()
	for _, set := range sets {
		inputs := map[string]*tensor.Tensor{}
		files, _ := filepath.Glob(filepath.Join(set, "input_*.pb"))
		sort.Slice(files, func(i, j int) bool { return pbIndex(files[i]) < pbIndex(files[j]) })
		for i, f := range files {
			t, name, err := readPB(f)
			if err != nil {
				if errors.Is(err, onnx.ErrUnsupported) {
					return unsupported(err)
				}
				return fail("%s: %v", f, err)
			}
			if !contains(names, name) {
				if i >= len(names) {
					return fail("%s: more inputs than the model has", f)
				}
				name = names[i]
			}
			inputs[name] = t
		}
		outs, err := p.Run(inputs)
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return unsupported(err)
			}
			return fail("run: %v", err)
		}
		files, _ = filepath.Glob(filepath.Join(set, "output_*.pb"))
		sort.Slice(files, func(i, j int) bool { return pbIndex(files[i]) < pbIndex(files[j]) })
		onames := p.OutputNames()
		if len(files) != len(onames) {
			return fail("%d expected outputs for %d model outputs", len(files), len(onames))
		}
		for i, f := range files {
			want, _, err := readPB(f)
			if err != nil {
				if errors.Is(err, onnx.ErrUnsupported) {
					return unsupported(err)
				}
				return fail("%s: %v", f, err)
			}
			if msg := compareTensors(outs[onames[i]], want); msg != "" {
				return fail("%s output %q: %s", filepath.Base(set), onames[i], msg)
			}
		}
	}
	r.status = "pass"
	return r
}

func pbIndex(path string) int {
	base := filepath.Base(path)
	var i int
	fmt.Sscanf(base[strings.LastIndex(base, "_")+1:], "%d.pb", &i)
	return i
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func readPB(path string) (*tensor.Tensor, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	return onnx.DecodeTensor(b)
}

// compareTensors returns "" when got matches want: same shape and type,
// floats within confRtol/confAtol (NaN matching NaN), others exactly.
func compareTensors(got, want *tensor.Tensor) string {
	if got == nil {
		return "missing"
	}
	if got.DType != want.DType {
		return fmt.Sprintf("type %v, want %v", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.DType != tensor.Float32 {
		if !got.Equal(want) {
			return "values differ"
		}
		return ""
	}
	for i, w := range want.F32 {
		g := got.F32[i]
		if g != g && w != w {
			continue
		}
		if g == w {
			continue
		}
		if math.Abs(float64(g)-float64(w)) > confAtol+confRtol*math.Abs(float64(w)) || g != g || w != w {
			return fmt.Sprintf("element %d is %v, want %v", i, g, w)
		}
	}
	return ""
}

func readExpectations(t *testing.T) map[string]string {
	f, err := os.Open(conformanceFile)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	exp := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Fatalf("%s: bad line %q", conformanceFile, line)
		}
		exp[fields[1]] = fields[0]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return exp
}

func writeExpectations(t *testing.T, results []conformanceResult, counts map[string]int) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# ONNX backend node tests (onnx-node-tests/v1.12.0) run by TestConformance.\n")
	fmt.Fprintf(&buf, "# One line per test: pass|fail|unsupported name [# reason]. Regenerate with\n")
	fmt.Fprintf(&buf, "#   go test ./infer -run TestConformance -update\n")
	fmt.Fprintf(&buf, "# pass %d, fail %d, unsupported %d\n", counts["pass"], counts["fail"], counts["unsupported"])
	for _, r := range results {
		line := r.status + " " + r.name
		if r.reason != "" {
			reason := strings.Join(strings.Fields(r.reason), " ")
			if len(reason) > 160 {
				reason = reason[:160] + "..."
			}
			line += " # " + reason
		}
		buf.WriteString(line + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(conformanceFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conformanceFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConformance runs every ONNX 1.12 backend node test, compares the
// outputs with the stored ones and checks each test's outcome against
// testdata/conformance.txt: a test listed as pass that no longer passes is
// a regression. Tests that newly pass are reported; -update rewrites the
// file.
func TestConformance(t *testing.T) {
	root := zootest.Path(t, "onnx-node-tests", "v1.12.0")
	dirs, err := filepath.Glob(filepath.Join(root, "test_*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	results := make([]conformanceResult, len(dirs))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = safeNodeTest(dirs[i])
			}
		}()
	}
	for i := range dirs {
		work <- i
	}
	close(work)
	wg.Wait()
	counts := map[string]int{}
	for _, r := range results {
		counts[r.status]++
	}
	t.Logf("ONNX node tests: %d pass, %d fail, %d unsupported (of %d)", counts["pass"], counts["fail"], counts["unsupported"], len(results))
	if *updateConformance {
		writeExpectations(t, results, counts)
		return
	}
	exp := readExpectations(t)
	if exp == nil {
		t.Fatalf("%s is missing; create it with -update", conformanceFile)
	}
	improved := 0
	for _, r := range results {
		want, ok := exp[r.name]
		switch {
		case !ok:
			t.Errorf("%s: %s, not in %s (run with -update)", r.name, r.status, conformanceFile)
		case want == "pass" && r.status != "pass":
			t.Errorf("regression: %s was pass, now %s: %s", r.name, r.status, r.reason)
		case want != r.status && r.status == "pass":
			improved++
			t.Logf("%s now passes (was %s); run with -update", r.name, want)
		case want != r.status:
			t.Errorf("%s: %s, expected %s: %s", r.name, r.status, want, r.reason)
		}
	}
	if improved > 0 {
		t.Logf("%d tests newly pass; run with -update to record them", improved)
	}
}

// safeNodeTest turns a panic into a failure so one bad kernel cannot hide
// the rest of the report.
func safeNodeTest(dir string) (r conformanceResult) {
	defer func() {
		if e := recover(); e != nil {
			r = conformanceResult{name: filepath.Base(dir), status: "fail", reason: fmt.Sprintf("panic: %v", e)}
		}
	}()
	return runNodeTest(dir)
}
