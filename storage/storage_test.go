package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/storage/storagetest"
)

// exercise runs the backend-independent contract against the folder at url.
func exercise(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Create(ctx, url)
	if err != nil {
		t.Fatalf("Create(%q): %v", url, err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	// Not found.
	_, err = b.ReadAll(ctx, "missing.json")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadAll(missing) = %v, want ErrNotFound", err)
	}
	if !strings.HasPrefix(err.Error(), "storage: read ") || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("error %q lacks op and key", err)
	}
	if ok, err := b.Exists(ctx, "missing.json"); err != nil || ok {
		t.Fatalf("Exists(missing) = %v, %v", ok, err)
	}

	// Write, read back, overwrite.
	files := map[string]string{
		"report.json":       `{"a":1}`,
		"models/b.onnx":     "bbbb",
		"models/a.onnx":     "aaaa",
		"models/sub/c.onnx": "cc",
	}
	for k, v := range files {
		if err := b.WriteAtomic(ctx, k, []byte(v), "application/octet-stream"); err != nil {
			t.Fatalf("WriteAtomic(%q): %v", k, err)
		}
	}
	for k, v := range files {
		got, err := b.ReadAll(ctx, k)
		if err != nil || string(got) != v {
			t.Fatalf("ReadAll(%q) = %q, %v; want %q", k, got, err, v)
		}
	}
	if ok, err := b.Exists(ctx, "models/a.onnx"); err != nil || !ok {
		t.Fatalf("Exists(models/a.onnx) = %v, %v", ok, err)
	}
	if err := b.WriteAtomic(ctx, "report.json", []byte(`{"a":2}`), "application/json"); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if got, err := b.ReadAll(ctx, "report.json"); err != nil || string(got) != `{"a":2}` {
		t.Fatalf("after overwrite ReadAll = %q, %v", got, err)
	}
	if err := b.WriteAtomic(ctx, "empty", nil, ""); err != nil {
		t.Fatalf("WriteAtomic(empty): %v", err)
	}

	// List.
	all, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"empty", "models/a.onnx", "models/b.onnx", "models/sub/c.onnx", "report.json"}
	if !slices.Equal(all, want) {
		t.Fatalf("List(\"\") = %q, want %q", all, want)
	}
	sub, err := b.List(ctx, "models/")
	if err != nil {
		t.Fatal(err)
	}
	if want := want[1:4]; !slices.Equal(sub, want) {
		t.Fatalf("List(models/) = %q, want %q", sub, want)
	}

	// A cancelled write must not land, nor clobber the previous object.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.WriteAtomic(cctx, "report.json", []byte("partial"), ""); err == nil {
		t.Fatal("WriteAtomic with cancelled context succeeded")
	}
	if err := b.WriteAtomic(cctx, "never.json", []byte("partial"), ""); err == nil {
		t.Fatal("WriteAtomic with cancelled context succeeded")
	}
	if got, err := b.ReadAll(ctx, "report.json"); err != nil || string(got) != `{"a":2}` {
		t.Fatalf("after aborted overwrite ReadAll = %q, %v", got, err)
	}
	if ok, _ := b.Exists(ctx, "never.json"); ok {
		t.Fatal("aborted write left never.json behind")
	}

	// Delete.
	if err := b.Delete(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "empty"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}

	// A prefixed view of the same store sees the sub-folder.
	subURL, err := storage.Join(url, "models")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := storage.Open(ctx, subURL)
	if err != nil {
		t.Fatalf("Open(%q): %v", subURL, err)
	}
	defer sb.Close()
	keys, err := sb.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.onnx", "b.onnx", "sub/c.onnx"}; !slices.Equal(keys, want) {
		t.Fatalf("sub List = %q, want %q", keys, want)
	}
	if got, err := sb.ReadAll(ctx, "sub/c.onnx"); err != nil || string(got) != "cc" {
		t.Fatalf("sub ReadAll = %q, %v", got, err)
	}
	loc, _ := storage.Join(url, "models/sub/c.onnx")
	if got, err := storage.ReadLocation(ctx, loc); err != nil || string(got) != "cc" {
		t.Fatalf("ReadLocation(%q) = %q, %v", loc, got, err)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	exercise(t, "file://"+filepath.ToSlash(dir)+"/zoo")
	// No sidecars, no leftovers.
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	want := []string{"zoo/models/a.onnx", "zoo/models/b.onnx", "zoo/models/sub/c.onnx", "zoo/report.json"}
	if !slices.Equal(names, want) {
		t.Fatalf("files on disk = %q, want %q", names, want)
	}
}

func TestLocalPath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	exercise(t, filepath.Join("out", "run1"))
	if _, err := os.Stat(filepath.Join(dir, "out", "run1", "report.json")); err != nil {
		t.Fatal(err)
	}
}

func TestMem(t *testing.T) {
	exercise(t, "mem://storage-test/job")
	storage.DropMem("storage-test")
}

func TestMemShared(t *testing.T) {
	ctx := context.Background()
	defer storage.DropMem("shared")
	w, err := storage.Open(ctx, "mem://shared/out")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAtomic(ctx, "x", []byte("hello"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := storage.Open(ctx, "mem://shared")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.ReadAll(ctx, "out/x")
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll through second Open = %q, %v", got, err)
	}
	other, _ := storage.Open(ctx, "mem://other")
	defer other.Close()
	if ok, _ := other.Exists(ctx, "out/x"); ok {
		t.Fatal("mem://other sees mem://shared data")
	}
}

func TestS3(t *testing.T) {
	url := storagetest.StartS3(t)
	exercise(t, url)
	// The same store under a key prefix.
	sub, err := storage.Join(url, "runs/1")
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, sub)
}

func TestS3ErrorMessage(t *testing.T) {
	url := storagetest.StartS3(t)
	ctx := context.Background()
	b, err := storage.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.ReadAll(ctx, "x")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if want := "storage: read s3://bucket/x: "; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %q, want prefix %q", err, want)
	}
}

func TestFileTempHidden(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A temp file as fileblob would leave it after a crash.
	if err := os.WriteFile(filepath.Join(dir, "m.onnx.1823f0a4b7c6d5e4.tmp"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.tmp"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	b, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	keys, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"notes.tmp"}; !slices.Equal(keys, want) {
		t.Fatalf("List = %q, want %q", keys, want)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nope")
	for _, loc := range []string{
		"",
		missing,                  // Open does not create local folders
		"file://host/x",          // remote file hosts
		"s3:///prefix",           // no bucket
		"mem://x?nomd5",          // no query on mem
		"file:///tmp?metadata=x", // rejected by fileblob
		"nosuch://bucket",        // unregistered scheme
	} {
		if b, err := storage.Open(ctx, loc); err == nil {
			b.Close()
			t.Errorf("Open(%q) succeeded", loc)
		} else if !strings.HasPrefix(err.Error(), "storage: open ") {
			t.Errorf("Open(%q) error %q lacks context", loc, err)
		}
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		base, rel, want string
		wantErr         bool
	}{
		{"s3://b/zoo?endpoint=http://h:1&region=r", "m/a.onnx", "s3://b/zoo/m/a.onnx?endpoint=http://h:1&region=r", false},
		{"s3://b?region=r", "a.onnx", "s3://b/a.onnx?region=r", false},
		{"gs://b/zoo/", "./x/../a.onnx", "gs://b/zoo/a.onnx", false},
		{"mem://z", "a/b", "mem://z/a/b", false},
		{"mem://z/dir", ".", "mem://z/dir", false},
		{"file:///data/zoo?metadata=skip", "a.onnx", "file:///data/zoo/a.onnx?metadata=skip", false},
		{"file:///data/zoo", "/models/a.onnx", "file:///models/a.onnx", false},
		{"/data/zoo", "m/a.onnx", "/data/zoo/m/a.onnx", false},
		{"zoo", "a.onnx", "zoo/a.onnx", false},
		{"/data/zoo", "/abs/a.onnx", "/abs/a.onnx", false},
		{"/data/zoo", "gs://other/a.onnx", "gs://other/a.onnx", false},
		{"s3://b/zoo", "file:///x", "file:///x", false},
		{"s3://b/zoo", "a b%.onnx", "s3://b/zoo/a%20b%25.onnx", false},
		{"s3://b/zoo", "../a.onnx", "", true},
		{"s3://b/zoo", "x/../../a.onnx", "", true},
		{"s3://b/zoo", "..", "", true},
		{"/data/zoo", "../etc/passwd", "", true},
		{"s3://b/zoo", "/abs/a.onnx", "", true},
		{"s3://b/zoo", "", "", true},
		{"", "a", "", true},
	}
	for _, tc := range tests {
		got, err := storage.Join(tc.base, tc.rel)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Join(%q, %q) = %q, %v; want %q, err=%v", tc.base, tc.rel, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct{ loc, dir, key string }{
		{"s3://b/zoo/a.onnx?region=r", "s3://b/zoo?region=r", "a.onnx"},
		{"s3://b/a.onnx", "s3://b", "a.onnx"},
		{"mem://z/x", "mem://z", "x"},
		{"file:///a.onnx", "file:///", "a.onnx"},
		{"/data/zoo/a.onnx", "/data/zoo", "a.onnx"},
		{"a.onnx", ".", "a.onnx"},
	}
	for _, tc := range tests {
		dir, key, err := storage.Split(tc.loc)
		if err != nil || dir != tc.dir || key != tc.key {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", tc.loc, dir, key, err, tc.dir, tc.key)
		}
	}
	for _, loc := range []string{"", "s3://b", "s3://b/dir/", "/data/"} {
		if _, _, err := storage.Split(loc); err == nil {
			t.Errorf("Split(%q) succeeded", loc)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	b, err := storage.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGCS(t *testing.T) {
	url := storagetest.StartGCS(t)
	exercise(t, url)
	exercise(t, url+"/some/prefix")
}
