package transforms

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/eightbitml/eightbit/internal/demozoo"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	register.Function2x1[string, RangeSet, string](formatRangeSet)
}

func formatRangeSet(name string, r RangeSet) string {
	return fmt.Sprintf("%s|%d|%s|%s", name, r.Samples, r.Err, r.Ranges)
}

func demoTasks(t *testing.T, opt ZooOptions) []ModelTask {
	dir := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(dir); err != nil {
		t.Fatal(err)
	}
	m, folder, err := ReadManifest(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := Tasks(m, folder, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// TestCalibrateShardingInvariant checks on prism that the combined ranges of
// a model do not depend on how its calibration split is cut into work items.
func TestCalibrateShardingInvariant(t *testing.T) {
	out := t.TempDir()
	a := demoTasks(t, ZooOptions{OutURL: out, RunID: "a", ShardSize: 37, CalibSamples: 300})
	b := demoTasks(t, ZooOptions{OutURL: out, RunID: "b", ShardSize: 1000, CalibSamples: 300})
	p, s := beam.NewPipelineWithRoot()
	ra := Calibrate(s, beam.CreateList(s, a[1:3]))
	rb := Calibrate(s, beam.CreateList(s, b[1:3]))
	fa := beam.ParDo(s, formatRangeSet, ra)
	fb := beam.ParDo(s, formatRangeSet, rb)
	passert.Count(s, fa, "models", 2)
	passert.Equals(s, fa, fb)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

func TestSumCounts(t *testing.T) {
	f := &sumCountsFn{}
	c := f.MergeAccumulators(EvalCounts{Samples: 2, FloatCorrect: 1, Int8Correct: 2, Agree: 1}, EvalCounts{Samples: 3, FloatCorrect: 3, Int8Correct: 2, Agree: 3, Err: "x", ErrShard: 4})
	if c.Samples != 5 || c.FloatCorrect != 4 || c.Int8Correct != 4 || c.Agree != 4 || c.Err != "x" {
		t.Fatalf("%+v", c)
	}
}

func TestSplitZooURL(t *testing.T) {
	table := []struct{ in, folder, key string }{
		{"/data/zoo", "/data/zoo", "zoo.yaml"},
		{"/data/zoo/custom.yaml", "/data/zoo", "custom.yaml"},
		{"s3://b/zoo?region=x", "s3://b/zoo?region=x", "zoo.yaml"},
		{"s3://b/zoo/m.yml?region=x", "s3://b/zoo?region=x", "m.yml"},
	}
	for _, c := range table {
		f, k, err := SplitZooURL(c.in)
		if err != nil || k != c.key {
			t.Errorf("SplitZooURL(%q) = %q, %q, %v; want %q, %q", c.in, f, k, err, c.folder, c.key)
		}
	}
}
