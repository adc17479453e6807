package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

type statusErr int

func (e statusErr) Error() string       { return fmt.Sprintf("http status %d", int(e)) }
func (e statusErr) HTTPStatusCode() int { return int(e) }

var fastRetry = RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

func TestRetryInjectedFaults(t *testing.T) {
	ctx := context.Background()
	DropMem("retry")
	b, err := Open(ctx, "mem://retry")
	if err != nil {
		t.Fatal(err)
	}
	b.SetRetry(fastRetry)
	var calls atomic.Int32
	failFirst := func(n int32, e error) {
		calls.Store(0)
		b.fault = func(op, key string) error {
			if calls.Add(1) <= n {
				return e
			}
			return nil
		}
	}
	failFirst(3, statusErr(503))
	if err := b.WriteAtomic(ctx, "k", []byte("v"), ""); err != nil || calls.Load() != 4 {
		t.Fatalf("write after 3 transient failures: %v, %d attempts", err, calls.Load())
	}
	failFirst(2, fmt.Errorf("read: %w", syscall.ECONNRESET))
	if data, err := b.ReadAll(ctx, "k"); err != nil || string(data) != "v" || calls.Load() != 3 {
		t.Fatalf("read: %q %v, %d attempts", data, err, calls.Load())
	}
	failFirst(1, statusErr(429))
	if keys, err := b.List(ctx, ""); err != nil || len(keys) != 1 || calls.Load() != 2 {
		t.Fatalf("list: %v %v, %d attempts", keys, err, calls.Load())
	}
	// Bounded: a failure that persists gives up after Attempts tries.
	failFirst(100, statusErr(502))
	if _, err := b.Exists(ctx, "k"); err == nil || calls.Load() != 4 {
		t.Fatalf("persistent failure: %v, %d attempts", err, calls.Load())
	}
	// Not transient: no retry.
	failFirst(100, statusErr(403))
	if err := b.Delete(ctx, "k"); err == nil || calls.Load() != 1 {
		t.Fatalf("permanent failure: %v, %d attempts", err, calls.Load())
	}
	b.fault = nil
	calls.Store(0)
	_, err = b.ReadAll(ctx, "missing")
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v", err)
	}
	// A cancelled context stops the retries.
	cctx, cancel := context.WithCancel(ctx)
	b.SetRetry(RetryPolicy{Attempts: 10, Base: time.Hour, Max: time.Hour})
	failFirst(100, statusErr(503))
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := b.ReadAll(cctx, "k"); err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("cancelled: %v after %v", err, time.Since(start))
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{statusErr(503), true}, {statusErr(500), true}, {statusErr(404), false}, {statusErr(400), false},
		{io.ErrUnexpectedEOF, true}, {fmt.Errorf("x: %w", syscall.ECONNREFUSED), true},
		{context.Canceled, false}, {errors.New("bad request"), false}, {nil, false},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestRetryS3ServiceUnavailable puts an S3 server behind a proxy that
// answers 503 to the first requests: more than the AWS SDK's own retries,
// so storage's retries must finish the job.
func TestRetryS3ServiceUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS SDK backs off for about 15 s before storage retries")
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	var failures atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures.Add(-1) >= 0 {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>slow down</Message></Error>`)
			return
		}
		faker.Server().ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	ctx := context.Background()
	b, err := Open(ctx, "s3://bucket?endpoint="+srv.URL+"&use_path_style=true&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.SetRetry(RetryPolicy{Attempts: 5, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond})
	failures.Store(3)
	if err := b.WriteAtomic(ctx, "a/x", []byte("hello"), ""); err != nil {
		t.Fatalf("write through 503s: %v", err)
	}
	failures.Store(3)
	data, err := b.ReadAll(ctx, "a/x")
	if err != nil || string(data) != "hello" {
		t.Fatalf("read through 503s: %q %v", data, err)
	}
	b.SetRetry(RetryPolicy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond})
	failures.Store(100)
	if _, err := b.ReadAll(ctx, "a/x"); err == nil {
		t.Fatal("read succeeded through a persistent 503")
	}
}
