// Package storagetest provides helpers for tests that exercise storage URLs
// against real protocol servers running inside the test process.
package storagetest

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Bucket is the name of the bucket StartS3 creates.
const Bucket = "bucket"

// StartS3 starts an in-memory S3 server (gofakes3 with the s3mem backend) on
// 127.0.0.1, creates the bucket "bucket", points the AWS SDK at fake
// credentials through t.Setenv (so the calling test must not be parallel), and
// returns the bucket URL for storage.Open:
//
//	s3://bucket?endpoint=http://127.0.0.1:PORT&use_path_style=true&region=us-east-1
//
// Append a path ("s3://bucket/dir?...") via storage.Join to use a prefix.
// The server is shut down when the test ends.
func StartS3(t testing.TB) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatalf("storagetest: create S3 bucket: %v", err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// Keep a developer's ~/.aws settings (profile, region) out of the test.
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_PROFILE", "")
	return fmt.Sprintf("s3://%s?endpoint=%s&use_path_style=true&region=us-east-1", Bucket, srv.URL)
}

// StartGCS starts an in-memory GCS server (fake-gcs-server over plain HTTP)
// on 127.0.0.1, creates the bucket "bucket", points the GCS client at it
// through t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:PORT") (so the
// calling test must not be parallel) and returns the bucket URL for
// storage.Open: "gs://bucket". The server stops when the test ends.
func StartGCS(t testing.TB) string {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:     "http",
		Host:       "127.0.0.1",
		PublicHost: "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("storagetest: start GCS server: %v", err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: Bucket})
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatalf("storagetest: GCS server URL %q: %v", srv.URL(), err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	return "gs://" + Bucket
}
