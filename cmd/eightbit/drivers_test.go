package main

import (
	"testing"

	"gocloud.dev/blob"
)

// TestDrivers checks that the binary opens every location form the README
// lists besides mem:// (which package storage serves itself).
func TestDrivers(t *testing.T) {
	for _, scheme := range []string{"file", "s3", "gs", "azblob"} {
		if !blob.DefaultURLMux().ValidBucketScheme(scheme) {
			t.Errorf("no %s:// driver registered: drivers.go must blank-import it", scheme)
		}
	}
}
