package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	_ "gocloud.dev/blob/fileblob"
)

// TestReadInside: no way out of the folder, symbolic links included.
func TestReadInside(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	other := filepath.Join(root, "elsewhere")
	for _, d := range []string{dir, filepath.Join(dir, "sub"), other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "w.bin"), "inside")
	write(filepath.Join(dir, "sub", "v.bin"), "deeper")
	write(filepath.Join(other, "secret"), "outside")
	link := func(name, target string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	link("link.bin", "/etc/passwd")
	link("rel-out.bin", "../elsewhere/secret")
	link("in.bin", "w.bin")
	link("subdir", "sub")
	link("outdir", other)
	// A folder reached through a link is fine: the check compares real
	// paths.
	if err := os.Symlink(dir, filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		base, rel string
		want      string // content, or the error kind prefixed by "!"
	}{
		{dir, "w.bin", "inside"},
		{dir, "sub/v.bin", "deeper"},
		{dir, "in.bin", "inside"},
		{dir, "subdir/v.bin", "deeper"},
		{"file://" + filepath.ToSlash(dir), "w.bin", "inside"},
		{filepath.Join(root, "alias"), "w.bin", "inside"},
		{filepath.Join(root, "alias"), "in.bin", "inside"},
		{dir, "link.bin", "!" + string(failure.InvalidModel)},
		{dir, "rel-out.bin", "!" + string(failure.InvalidModel)},
		{dir, "outdir/secret", "!" + string(failure.InvalidModel)},
		{"file://" + filepath.ToSlash(dir), "link.bin", "!" + string(failure.InvalidModel)},
		{dir, "../elsewhere/secret", "!" + string(failure.InvalidModel)},
		{dir, "sub/../../elsewhere/secret", "!" + string(failure.InvalidModel)},
		{dir, "/etc/passwd", "!" + string(failure.InvalidModel)},
		{dir, "file:///etc/passwd", "!" + string(failure.InvalidModel)},
		{dir, `..\x`, "!" + string(failure.InvalidModel)},
		{dir, "missing.bin", "!" + string(failure.NotFound)},
	} {
		got, err := ReadInside(ctx, tc.base, tc.rel)
		switch {
		case strings.HasPrefix(tc.want, "!"):
			kind := failure.Kind(tc.want[1:])
			if err == nil || failure.KindOf(err) != kind {
				t.Errorf("ReadInside(%s, %q) = %q, %v; want kind %s", tc.base, tc.rel, got, err, kind)
			}
			if kind == failure.InvalidModel && !errors.Is(err, ErrOutside) {
				t.Errorf("ReadInside(%s, %q): %v does not wrap ErrOutside", tc.base, tc.rel, err)
			}
		case err != nil || string(got) != tc.want:
			t.Errorf("ReadInside(%s, %q) = %q, %v; want %q", tc.base, tc.rel, got, err, tc.want)
		}
	}
	// mem:// folders have no links: plain Join rules.
	b, err := Open(ctx, "mem://confine/m")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAtomic(ctx, "w.bin", []byte("mem"), ""); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadInside(ctx, "mem://confine/m", "w.bin"); err != nil || string(got) != "mem" {
		t.Errorf("mem: %q, %v", got, err)
	}
	if _, err := ReadInside(ctx, "mem://confine/m", "../x"); !errors.Is(err, ErrOutside) {
		t.Errorf("mem ..: %v", err)
	}
}

// TestErrorKinds: a missing object is not-found, other storage failures io.
func TestErrorKinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, missing := ReadLocation(ctx, filepath.Join(dir, "nope"))
	_, notDir := Open(ctx, filepath.Join(file, "sub"))
	for _, tc := range []struct {
		name string
		err  error
		kind failure.Kind
	}{
		{"missing", missing, failure.NotFound},
		{"sentinel", ErrNotFound, failure.NotFound},
		{"folder below a file", notDir, failure.IO},
	} {
		if got := failure.KindOf(tc.err); got != tc.kind || !errors.Is(tc.err, tc.kind) {
			t.Errorf("%s: %v has kind %s, want %s", tc.name, tc.err, got, tc.kind)
		}
	}
	if !errors.Is(missing, ErrNotFound) || errors.Is(missing, failure.IO) {
		t.Errorf("missing: %v", missing)
	}
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "out")
	if err := Probe(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
		t.Errorf("after the probe: %v, %v", es, err)
	}
	if err := Probe(ctx, "mem://probe/x"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Probe(ctx, filepath.Join(file, "out")); err == nil || failure.KindOf(err) != failure.IO {
		t.Errorf("probe below a file: %v", err)
	}
}

func TestReadLocationLimit(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadLocationLimit(ctx, p, 100); err != nil || len(b) != 100 {
		t.Fatalf("at the limit: %d bytes, %v", len(b), err)
	}
	var tl *TooLargeError
	if _, err := ReadLocationLimit(ctx, p, 99); !errors.As(err, &tl) || tl.Size != 100 || !strings.Contains(err.Error(), "more than the limit of 99") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := ReadLocationLimit(ctx, p+".gone", 99); failure.KindOf(err) != failure.NotFound {
		t.Fatalf("missing: %v", err)
	}
}
