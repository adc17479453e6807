// Package zootest locates the shared test zoo (../shared/zoo next to the
// repository) for tests. Under CI=true a missing zoo fails the test;
// elsewhere the test is skipped with a message naming what is missing.
package zootest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the absolute path of the shared zoo directory, or "" if it is
// not there. EIGHTBIT_ZOO overrides the default ../shared/zoo.
func Root() string {
	if d := os.Getenv("EIGHTBIT_ZOO"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <repo>/internal/zootest/zootest.go.
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(filepath.Dir(repo), "shared", "zoo")
	if _, err := os.Stat(d); err != nil {
		return ""
	}
	return d
}

// Path returns the absolute path of a file or directory inside the shared
// zoo, skipping the test (failing it under CI=true) when it is missing.
func Path(t testing.TB, rel ...string) string {
	t.Helper()
	root := Root()
	p := filepath.Join(append([]string{root}, rel...)...)
	if root == "" {
		missing(t, "the shared zoo ../shared/zoo (set EIGHTBIT_ZOO to its location)")
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		missing(t, p)
		return ""
	}
	return p
}

// ReadFile reads a file inside the shared zoo (see Path).
func ReadFile(t testing.TB, rel ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, rel...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing shared test data: %s", what)
	}
	t.Skipf("skipping: missing shared test data: %s", what)
}
