// Package storagetest provides helpers for tests that exercise storage URLs
// against real protocol servers running inside the test process.
package storagetest

import (
	"fmt"
	"net/http/httptest"
	"testing"

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
