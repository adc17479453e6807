package jobs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"

	"github.com/eightbitml/eightbit/internal/prismtest"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/report"
)

// TestSharedZooRunners runs every classifier of the shared zoo
// (testdata/shared-zoo.yaml: mnist, fashion, cifar10, trained) as one
// quantize-zoo job on prism, on the direct runner and through the universal
// runner against a prism job server (LOOPBACK workers), and requires
// byte-identical reports and quantized models. Samples are capped (64
// calibration samples chosen by hash, 200 evaluation samples) to keep CI
// short; EIGHTBIT_SHARED_ZOO_EVAL overrides the evaluation cap (0: all).
func TestSharedZooRunners(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shared zoo three times")
	}
	root := zootest.Path(t)
	manifest, err := os.ReadFile(filepath.Join("testdata", "shared-zoo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	zooDir := t.TempDir()
	manifest = bytes.ReplaceAll(manifest, []byte("${ZOO}"), []byte(filepath.ToSlash(root)))
	if err := os.WriteFile(filepath.Join(zooDir, "zoo.yaml"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	eval := 200
	if v := os.Getenv("EIGHTBIT_SHARED_ZOO_EVAL"); v != "" {
		fmt.Sscan(v, &eval)
	}
	endpoint := prismtest.Endpoint(t)
	oldEndpoint, oldEnv := *jobopts.Endpoint, *jobopts.EnvironmentType
	t.Cleanup(func() { *jobopts.Endpoint, *jobopts.EnvironmentType = oldEndpoint, oldEnv })

	outs := map[string]map[string][]byte{}
	runners := []string{"prism", "direct", "universal"}
	for _, runner := range runners {
		out := filepath.Join(t.TempDir(), runner)
		if runner == "universal" {
			*jobopts.Endpoint, *jobopts.EnvironmentType = endpoint, "LOOPBACK"
		}
		start := time.Now()
		res, err := (&QuantizeZoo{Zoo: zooDir, Out: out, Runner: runner, AllowOutside: true,
			CalibSamples: 64, EvalSamples: eval, ShardSize: 100}).Run(context.Background())
		*jobopts.Endpoint, *jobopts.EnvironmentType = oldEndpoint, oldEnv
		if err != nil {
			t.Fatalf("%s: %v", runner, err)
		}
		t.Logf("%s: %d ok, %d failed in %.1fs", runner, res.OK, res.Failed, time.Since(start).Seconds())
		if res.OK != 26 || res.Failed != 0 {
			for _, m := range res.Report.Models {
				if m.Status != report.StatusOK {
					t.Errorf("%s: %s: %s", runner, m.Name, m.Error)
				}
			}
			t.Fatalf("%s: %d ok, %d failed; want 26 ok", runner, res.OK, res.Failed)
		}
		outs[runner] = readOutputs(t, out)
	}
	for _, runner := range runners[1:] {
		for key, want := range outs["prism"] {
			if strings.HasPrefix(key, "runs/") {
				continue // each run's folder has its own name
			}
			if got, ok := outs[runner][key]; !ok || !bytes.Equal(got, want) {
				t.Errorf("%s: %s differs from prism's", runner, key)
			}
		}
	}
}
