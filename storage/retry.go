package storage

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// RetryPolicy bounds the retries of transient failures: at most Attempts
// tries in all, sleeping between them a random duration in [d/2, d] where d
// starts at Base and doubles up to Max.
type RetryPolicy struct {
	Attempts  int
	Base, Max time.Duration
}

// DefaultRetry is the policy of buckets opened by Open and Create:
// 5 attempts, waits of 0.1 s doubling to at most 2 s (under 4 s of
// waiting in all).
var DefaultRetry = RetryPolicy{Attempts: 5, Base: 100 * time.Millisecond, Max: 2 * time.Second}

// SetRetry replaces the bucket's retry policy (Attempts ≤ 1: no retries).
// Call it before sharing the bucket.
func (b *Bucket) SetRetry(p RetryPolicy) { b.retry = p }

// Transient reports whether err is worth retrying: the driver reports a
// resource exhausted, an internal failure or a deadline, an HTTP status
// 408, 429, 500, 502, 503 or 504 is in the chain, or the connection was
// reset, refused, cut short or timed out. Missing keys, permission and
// argument errors and cancelled contexts are not transient.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument,
		gcerrors.FailedPrecondition, gcerrors.AlreadyExists, gcerrors.Unimplemented, gcerrors.Canceled:
		return false
	case gcerrors.ResourceExhausted, gcerrors.Internal, gcerrors.DeadlineExceeded:
		return true
	}
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) && transientStatus(hs.HTTPStatusCode()) {
		return true
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && transientStatus(ge.Code) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func transientStatus(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// do runs f, retrying transient failures under the bucket's policy.
func (b *Bucket) do(ctx context.Context, op, key string, f func() error) error {
	p := b.retry
	delay := p.Base
	for attempt := 1; ; attempt++ {
		var err error
		if b.fault != nil {
			err = b.fault(op, key)
		}
		if err == nil {
			err = f()
		}
		if err == nil || attempt >= p.Attempts || !Transient(err) || ctx.Err() != nil {
			return err
		}
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, p.Max)
	}
}
