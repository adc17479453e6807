package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/internal/prismtest"
	"github.com/eightbitml/eightbit/transforms"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func init() {
	register.DoFn2x1[string, transforms.RangeSet, error](&writeRangesFn{})
}

// writeRangesFn writes each model's combined ranges to Dir/<model>, so runs
// on different runners can be compared byte for byte.
type writeRangesFn struct{ Dir string }

func (f *writeRangesFn) ProcessElement(model string, r transforms.RangeSet) error {
	data := fmt.Sprintf("samples=%d err=%q\n%s\n", r.Samples, r.Err, r.Ranges)
	return os.WriteFile(filepath.Join(f.Dir, model), []byte(data), 0o644)
}

// TestRunnersAgree calibrates two demo models on prism, on the direct
// runner and through the universal runner against a prism job server
// (LOOPBACK workers), and requires byte-identical ranges.
func TestRunnersAgree(t *testing.T) {
	ctx := context.Background()
	zooDir := filepath.Join(t.TempDir(), "zoo")
	if err := demozoo.Unpack(zooDir); err != nil {
		t.Fatal(err)
	}
	m, folder, err := transforms.ReadManifest(ctx, zooDir)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := prismtest.Endpoint(t)
	oldEndpoint, oldEnv := *jobopts.Endpoint, *jobopts.EnvironmentType
	t.Cleanup(func() { *jobopts.Endpoint, *jobopts.EnvironmentType = oldEndpoint, oldEnv })

	digests := map[string]map[string]string{}
	for _, runner := range []string{"prism", "direct", "universal"} {
		tasks, err := transforms.Tasks(m, folder, transforms.ZooOptions{
			OutURL: t.TempDir(), RunID: runner, CalibSamples: 120, ShardSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		p, s := beam.NewPipelineWithRoot()
		ranges := transforms.Calibrate(s, beam.CreateList(s, tasks[1:3]))
		beam.ParDo0(s, &writeRangesFn{Dir: dir}, ranges)
		if runner == "universal" {
			*jobopts.Endpoint, *jobopts.EnvironmentType = endpoint, "LOOPBACK"
		}
		if _, err := Run(ctx, runner, p); err != nil {
			t.Fatalf("%s: %v", runner, err)
		}
		*jobopts.Endpoint, *jobopts.EnvironmentType = oldEndpoint, oldEnv
		digests[runner] = map[string]string{}
		for _, task := range tasks[1:3] {
			b, err := os.ReadFile(filepath.Join(dir, task.Name))
			if err != nil {
				t.Fatalf("%s: %v", runner, err)
			}
			h := sha256.Sum256(b)
			digests[runner][task.Name] = hex.EncodeToString(h[:8])
		}
	}
	for model, want := range digests["prism"] {
		for _, runner := range []string{"direct", "universal"} {
			if got := digests[runner][model]; got != want {
				t.Errorf("%s: ranges on %s (%s) differ from prism (%s)", model, runner, got, want)
			}
		}
	}
	t.Logf("ranges digests: %v", digests)
}

func TestCheckRunner(t *testing.T) {
	for _, ok := range []string{"prism", "direct", "universal", "dataflow", "flink", "spark"} {
		if err := CheckRunner(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := CheckRunner("Prism"); err == nil {
		t.Error("runner names are case-sensitive")
	}
}
