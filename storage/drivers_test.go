package storage

import (
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"

	// The blob drivers this package's tests open locations with; package
	// storage links none itself (see cmd/eightbit/drivers.go).
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
)

func TestCheckDriver(t *testing.T) {
	only := func(schemes ...string) func(string) bool {
		return func(s string) bool { return slices.Contains(schemes, s) }
	}
	table := []struct {
		scheme     string
		registered func(string) bool
		want       string // "" for no error
	}{
		{"file", only("file"), ""},
		{"s3", only("file", "s3"), ""},
		{"file", only("s3"), "no file:// driver in this program: its main package must blank-import gocloud.dev/blob/fileblob"},
		{"gs", only(), "must blank-import gocloud.dev/blob/gcsblob"},
		{"azblob", only("gs"), "must blank-import gocloud.dev/blob/azureblob"},
		{"nosuch", only(), ""}, // left to the URL mux, which lists its schemes
	}
	for _, c := range table {
		err := checkDriver(c.scheme, c.registered)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("checkDriver(%q) = %v, want nil", c.scheme, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("checkDriver(%q) = %v, want an error containing %q", c.scheme, err, c.want)
		}
	}
}

// TestDriversLinked checks that this test binary links the driver of every
// scheme storage names, as its blank imports above intend.
func TestDriversLinked(t *testing.T) {
	for scheme := range driverPackages {
		if err := checkDriver(scheme, blob.DefaultURLMux().ValidBucketScheme); err != nil {
			t.Error(err)
		}
	}
}
