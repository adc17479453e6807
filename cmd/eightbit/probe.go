package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eightbitml/eightbit/storage"
)

// probeTimeout bounds the output probe: a local folder answers at once, a
// remote store gets a few seconds (without retries).
func probeTimeout(out string) time.Duration {
	if !strings.Contains(out, "://") || strings.HasPrefix(strings.ToLower(out), "file://") || strings.HasPrefix(strings.ToLower(out), "mem://") {
		return time.Second
	}
	return 5 * time.Second
}

// probeOut checks, before any model is read, that the job can write to its
// output folder (storage.Probe: create it, write, read back and delete a
// marker). On failure it prints one line and returns false; the caller
// exits with exitUsage.
func probeOut(ctx context.Context, cmd, out string, stderr io.Writer) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout(out))
	defer cancel()
	if err := storage.Probe(ctx, out); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(stderr, "eightbit %s: --out %s is not writable: %s\n", cmd, storage.Redact(out), msg)
		return false
	}
	return true
}
