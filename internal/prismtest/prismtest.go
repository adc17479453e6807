// Package prismtest gives tests a Beam job server for the universal
// runner.
package prismtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// Endpoint returns the job server to test the universal runner against:
// $EIGHTBIT_JOB_ENDPOINT (a standalone prism that .ci/run starts), or an
// in-process prism job server on a free port, stopped when the test ends.
func Endpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("EIGHTBIT_JOB_ENDPOINT"); ep != "" {
		return ep
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := prism.CreateJobServer(ctx, prism.Options{Port: port}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("localhost:%d", port)
}
