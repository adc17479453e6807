package transforms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/pipeline"
	"github.com/eightbitml/eightbit/qmath"
)

func init() {
	register.Function2x1[string, RangeSet, string](formatCalib)
}

// formatCalib renders a calibration result with its cache flag.
func formatCalib(name string, r RangeSet) string {
	return fmt.Sprintf("%s|%d|%s|%s|cached=%v", name, r.Samples, r.Err, r.File, r.Cached)
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func withOut(tasks []ModelTask, out, runID string, shard int) []ModelTask {
	c := append([]ModelTask(nil), tasks...)
	for i := range c {
		c[i].OutURL, c[i].RunID, c[i].ShardSize = out, runID, shard
		// Calibrate runs after LoadModels, which sets the digest.
		b, err := os.ReadFile(filepath.Join(c[i].ZooURL, filepath.FromSlash(c[i].File)))
		if err == nil {
			c[i].Digest = digest(b)
		}
	}
	return c
}

// allMethods are the methods the runner test compares; Entropy and MSE use
// 512 bins to keep the test short (their search is quadratic in the bins).
var allMethods = []calibrate.Options{
	{Method: calibrate.MethodMinMax},
	{Method: calibrate.MethodPercentile, Percentile: 99.99},
	{Method: calibrate.MethodEntropy, Bins: 512},
	{Method: calibrate.MethodMSE, Bins: 512},
}

// calibrateAll builds one pipeline calibrating the demo zoo with every
// method, each into <root>/<method>, and runs it on runner.
func calibrateAll(t *testing.T, runner string, tasks []ModelTask, root, runID string, shard int) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	for _, o := range allMethods {
		ts := withOut(tasks, filepath.Join(root, string(o.Method)), runID+string(o.Method), shard)
		CalibrateWith(s, beam.CreateList(s, ts), CalibOptions{Calibrate: o})
	}
	if _, err := pipeline.Run(context.Background(), runner, p); err != nil {
		t.Fatal(err)
	}
}

// TestCalibrateRunnersIdentical calibrates the demo zoo with every method
// on prism with 1 and 2 cores and on the direct runner, each with a
// different shard size: the range files are byte-identical.
func TestCalibrateRunnersIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("three calibration runs of the demo zoo")
	}
	tasks := demoTasks(t, ZooOptions{CalibSamples: 200})
	type run struct {
		name   string
		runner string
		procs  int
		shard  int
	}
	runs := []run{{"prism-1core", "prism", 1, 37}, {"prism-2cores", "prism", 2, 90}, {"direct", "direct", 2, 200}}
	var first map[string][]byte
	for _, r := range runs {
		root := filepath.Join(t.TempDir(), r.name)
		prev := runtime.GOMAXPROCS(r.procs)
		calibrateAll(t, r.runner, tasks, root, r.name, r.shard)
		runtime.GOMAXPROCS(prev)
		files := readDir(t, root)
		if len(files) != len(allMethods)*len(tasks) {
			t.Fatalf("%s: %d range files, want %d", r.name, len(files), len(allMethods)*len(tasks))
		}
		if first == nil {
			first = files
			continue
		}
		for k, v := range first {
			if !bytes.Equal(v, files[k]) {
				t.Errorf("%s: %s differs from %s's", r.name, k, runs[0].name)
			}
		}
	}
	// The files parse, name their settings and hold ranges that contain zero.
	for k, v := range first {
		cf, err := DecodeCalibFile(v)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if cf.Samples != 200 || len(cf.Table.Tensors) == 0 || !strings.HasPrefix(k, string(cf.Table.Options.Method)+"/calibration/") {
			t.Errorf("%s: %d samples, %d tensors, method %s", k, cf.Samples, len(cf.Table.Tensors), cf.Table.Options.Method)
		}
	}
	// Histogram methods clip some tensors of the demo models; min/max
	// never does.
	for _, m := range []string{"percentile", "entropy", "mse"} {
		clipped := 0
		for k, v := range first {
			if !strings.HasPrefix(k, m+"/") {
				continue
			}
			cf, _ := DecodeCalibFile(v)
			for _, e := range cf.Table.Tensors {
				if e.Max < e.ObservedMax || e.Min > min(e.ObservedMin, 0) {
					clipped++
				}
			}
		}
		t.Logf("%s clipped %d tensors", m, clipped)
		if clipped == 0 {
			t.Errorf("%s clipped no tensor", m)
		}
	}
}

// TestCalibrateShardingInvariantHistogram: the histogram pass, too, gives the
// same ranges for any sharding, and a capped split uses the same samples.
func TestCalibrateShardingInvariantHistogram(t *testing.T) {
	out := t.TempDir()
	a := withOut(demoTasks(t, ZooOptions{CalibSamples: 300})[1:3], filepath.Join(out, "a"), "a", 37)
	b := withOut(demoTasks(t, ZooOptions{CalibSamples: 300})[1:3], filepath.Join(out, "b"), "b", 1000)
	p, s := beam.NewPipelineWithRoot()
	o := CalibOptions{Calibrate: calibrate.Options{Method: calibrate.MethodEntropy, Bins: 512}}
	ra := CalibrateWith(s, beam.CreateList(s, a), o)
	rb := CalibrateWith(s, beam.CreateList(s, b), o)
	fa := beam.ParDo(s, formatRangeSet, ra)
	fb := beam.ParDo(s, formatRangeSet, rb)
	passert.Count(s, fa, "models", 2)
	passert.Equals(s, fa, fb)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

// TestCalibrationCache: a second run reuses the range files; a changed
// setting, model or --recalibrate computes them again.
func TestCalibrationCache(t *testing.T) {
	out := t.TempDir()
	base := demoTasks(t, ZooOptions{CalibSamples: 120})[:2]
	run := func(runID string, o CalibOptions, pre string) []string {
		t.Helper()
		tasks := withOut(base, out, runID, 50)
		if pre != "" {
			tasks[0].Preprocess = []byte(pre)
		}
		p, s := beam.NewPipelineWithRoot()
		res := beam.ParDo(s, formatCalib, CalibrateWith(s, beam.CreateList(s, tasks), o))
		var got []string
		lines := filepath.Join(t.TempDir(), "lines")
		beam.ParDo0(s, &appendLineFn{Path: lines}, res)
		if err := ptest.Run(p); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(lines)
		got = strings.Split(strings.TrimSpace(string(b)), "\n")
		sort.Strings(got)
		return got
	}
	mse := CalibOptions{Calibrate: calibrate.Options{Method: calibrate.MethodMSE}}
	first := run("r1", mse, "")
	for _, l := range first {
		if !strings.HasSuffix(l, "cached=false") || !strings.Contains(l, "|120||calibration/") {
			t.Fatalf("first run: %q", l)
		}
	}
	filesBefore := readDir(t, out)
	second := run("r2", mse, "")
	for i, l := range second {
		if !strings.HasSuffix(l, "cached=true") || strings.TrimSuffix(l, "true") != strings.TrimSuffix(first[i], "false") {
			t.Fatalf("second run: %q (first %q)", l, first[i])
		}
	}
	third := run("r3", CalibOptions{Calibrate: mse.Calibrate, Recalibrate: true}, "")
	for _, l := range third {
		if !strings.HasSuffix(l, "cached=false") {
			t.Fatalf("--recalibrate: %q", l)
		}
	}
	if after := readDir(t, out); len(after) != len(filesBefore) {
		t.Fatalf("files %d, want %d", len(after), len(filesBefore))
	} else {
		for k, v := range filesBefore {
			if !bytes.Equal(v, after[k]) {
				t.Errorf("%s changed on recalibration", k)
			}
		}
	}
	// A different method, or different preprocessing of one model, misses.
	pct := run("r4", CalibOptions{Calibrate: calibrate.Options{Method: calibrate.MethodPercentile}}, "")
	for _, l := range pct {
		if !strings.HasSuffix(l, "cached=false") {
			t.Fatalf("new settings: %q", l)
		}
	}
	changed := run("r5", CalibOptions{Calibrate: calibrate.Options{Method: calibrate.MethodPercentile}}, `{"divide":128}`)
	if !strings.HasSuffix(changed[0], "cached=false") && !strings.HasSuffix(changed[1], "cached=false") {
		t.Fatalf("changed model: %q", changed)
	}
	if n := strings.Count(strings.Join(changed, "\n"), "cached=true"); n != 1 {
		t.Fatalf("changed model: want exactly the unchanged model cached: %q", changed)
	}
}

// appendLineFn appends each element as a line to a local file (test only;
// prism runs it in this process).
type appendLineFn struct{ Path string }

func (f *appendLineFn) ProcessElement(line string) error {
	fh, err := os.OpenFile(f.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	_, err = fmt.Fprintln(fh, line)
	return err
}

func init() {
	register.DoFn1x1[string, error](&appendLineFn{})
}

func TestSelectSamples(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("img/%04d.png", i)
	}
	mk := func(ids []string) *labeledImages {
		return &labeledImages{ids: ids, images: imagesOf(len(ids))}
	}
	task := &ModelTask{RunID: "x", ZooURL: "z", CalibImages: "i"}
	a := selectSamples(task, SplitCalibration, mk(ids), 100)
	task2 := *task
	task2.RunID = "y"
	b := selectSamples(&task2, SplitCalibration, mk(ids), 100)
	if len(a) != 100 || !sort.IntsAreSorted(a) || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("selection not stable: %v vs %v", a, b)
	}
	// The choice follows the ids, not the positions: reversing the split
	// picks the same ids.
	rev := make([]string, len(ids))
	for i := range ids {
		rev[len(ids)-1-i] = ids[i]
	}
	task3 := *task
	task3.RunID = "z"
	c := selectSamples(&task3, SplitCalibration, mk(rev), 100)
	got, want := map[string]bool{}, map[string]bool{}
	for k := range a {
		want[ids[a[k]]] = true
		got[rev[c[k]]] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatal("reordering the split changed the chosen ids")
	}
	// Not simply the first samples.
	if a[len(a)-1] < 500 {
		t.Fatalf("selection %v looks like a prefix", a)
	}
}

func TestMergeStats(t *testing.T) {
	f := &mergeStatsFn{}
	mm := func(vs ...float32) []byte {
		var m calibrate.MinMax
		m.Add(vs)
		b, _ := json.Marshal(&m)
		return b
	}
	a := TensorStats{Model: "m", Tensor: "x", State: mm(-1, 2)}
	b := TensorStats{Model: "m", Tensor: "x", State: mm(3)}
	ab, err := f.MergeAccumulators(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := f.MergeAccumulators(b, a)
	if !bytes.Equal(ab.State, ba.State) || string(ab.State) != `{"min":-1,"max":3,"count":3}` {
		t.Fatalf("%s vs %s", ab.State, ba.State)
	}
	// Histograms.
	h := &mergeStatsFn{Histogram: true}
	hist := func(vs ...float32) []byte {
		x := calibrate.NewHistogram(qmath.Range{Min: -1, Max: 3}, 256, false)
		x.Add(vs)
		b, _ := json.Marshal(x)
		return b
	}
	x, err := h.MergeAccumulators(TensorStats{State: hist(-1, 0)}, TensorStats{State: hist(3, 2.5)})
	if err != nil {
		t.Fatal(err)
	}
	if want := hist(-1, 0, 3, 2.5); !bytes.Equal(x.State, want) {
		t.Fatalf("%s\n%s", x.State, want)
	}
	// The lowest failing shard wins whatever the order.
	e1 := TensorStats{Model: "m", Err: "late", ErrShard: 500, Samples: 2}
	e2 := TensorStats{Model: "m", Err: "early", ErrShard: 0, Samples: 3}
	p, _ := f.MergeAccumulators(e1, e2)
	q, _ := f.MergeAccumulators(e2, e1)
	if p.Err != "early" || q.Err != "early" || p.Samples != 5 {
		t.Fatalf("%+v %+v", p, q)
	}
	// Parts assemble in name order whatever the order.
	part := func(name string) CalibPart {
		b, _ := json.Marshal([]calibrate.TensorResult{{Name: name, Count: 1}})
		return CalibPart{Tensors: b}
	}
	mp := &mergePartsFn{}
	u, _ := mp.MergeAccumulators(part("b"), part("a"))
	v, _ := mp.MergeAccumulators(part("a"), part("b"))
	if !bytes.Equal(u.Tensors, v.Tensors) {
		t.Fatalf("%s vs %s", u.Tensors, v.Tensors)
	}
}

func imagesOf(n int) *dataset.Images {
	return &dataset.Images{N: n, H: 1, W: 1, C: 1, Pix: make([]uint8, n)}
}
