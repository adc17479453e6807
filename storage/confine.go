package storage

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/eightbitml/eightbit/failure"
)

// ErrOutside is wrapped by the errors of ReadInside for a path that leaves
// its folder. Such paths come from the files a model names next to itself
// (ONNX external data), so the error has kind failure.InvalidModel.
var ErrOutside = failure.Errorf(failure.InvalidModel, "storage: path leaves its folder")

// ReadInside reads the file rel names inside the folder location base,
// refusing every way out of the folder: rel must be a relative,
// slash-separated path without ".." steps that climb out, and, for a local
// folder (a plain path or a file:// URL), the file it names must still lie
// inside the folder once symbolic links are followed (the folder's own
// path may contain links). The file read is the one the check resolved.
// Errors of a path outside the folder wrap ErrOutside; a missing file is
// ErrNotFound as for ReadLocation.
func ReadInside(ctx context.Context, base, rel string) ([]byte, error) {
	if rel == "" || isURL(rel) || strings.HasPrefix(rel, "/") || strings.ContainsAny(rel, "\\\x00") || len(rel) >= 2 && rel[1] == ':' {
		return nil, fmt.Errorf("%q in %s: not a relative path: %w", rel, base, ErrOutside)
	}
	if c := path.Clean(rel); c == ".." || strings.HasPrefix(c, "../") {
		return nil, fmt.Errorf("%q in %s: %w", rel, base, ErrOutside)
	}
	dir, local, err := localFolder(base)
	if err != nil {
		return nil, &Error{Op: "read", Location: base, Err: err}
	}
	if !local {
		full, err := Join(base, rel)
		if err != nil {
			return nil, err
		}
		return ReadLocation(ctx, full)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, &Error{Op: "read", Location: base, Err: err}
	}
	full := filepath.Join(dir, filepath.FromSlash(path.Clean(rel)))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		// A missing file (or a dangling link) reads as not found.
		return ReadLocation(ctx, full)
	}
	if r, err := filepath.Rel(realDir, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return nil, fmt.Errorf("%q in %s is a link to %s: %w", rel, base, real, ErrOutside)
	}
	return ReadLocation(ctx, real)
}

// localFolder returns the local path of a folder location and whether it
// is local.
func localFolder(base string) (string, bool, error) {
	if !isURL(base) {
		abs, err := filepath.Abs(base)
		return abs, true, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(u.Scheme, "file") {
		return "", false, nil
	}
	u, err = parseFolder(base)
	if err != nil {
		return "", false, err
	}
	return filepath.FromSlash(u.Path), true, nil
}

// ProbeKey is the prefix of the key of the marker Probe writes and
// deletes (a random suffix keeps concurrent probes apart).
const ProbeKey = ".eightbit-probe-"

// Probe checks that location is a folder eightbit can write to: it creates
// the folder (local folders) and writes, reads back and deletes a small
// marker, ProbeKey, without retrying transient failures. Jobs probe their
// output folder before they read any model, so that a folder they cannot
// write fails at once instead of after the work.
func Probe(ctx context.Context, location string) (err error) {
	b, err := Create(ctx, location)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); err == nil {
			err = cerr
		}
	}()
	b.SetRetry(RetryPolicy{Attempts: 1})
	key := ProbeKey + rand.Text()[:10]
	marker := []byte("eightbit output probe\n")
	if err := b.WriteAtomic(ctx, key, marker, "text/plain"); err != nil {
		return err
	}
	got, err := b.ReadAll(ctx, key)
	if err == nil && string(got) != string(marker) {
		err = &Error{Op: "read", Location: b.loc(key), Err: fmt.Errorf("read back %d bytes that differ from the %d written", len(got), len(marker))}
	}
	if derr := b.Delete(ctx, key); err == nil {
		err = derr
	}
	return err
}

// TooLargeError is the error of ReadLocationLimit for an object larger
// than the limit: it is refused before it is read.
type TooLargeError struct {
	Location    string
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("storage: %s has %d bytes, more than the limit of %d", e.Location, e.Size, e.Limit)
}

// ReadLocationLimit is ReadLocation for an object of at most limit bytes
// (limit ≤ 0: no limit): a larger one is a *TooLargeError before any byte
// is read, so a huge file cannot exhaust memory.
func ReadLocationLimit(ctx context.Context, location string, limit int64) ([]byte, error) {
	if limit <= 0 {
		return ReadLocation(ctx, location)
	}
	dir, key, err := Split(location)
	if err != nil {
		return nil, &Error{Op: "read", Location: location, Err: err}
	}
	b, err := Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if err := checkKey(key); err != nil {
		return nil, b.fail("read", key, err)
	}
	var size int64
	err = b.do(ctx, "read", key, func() error {
		a, err := b.b.Attributes(ctx, b.keyPrefix+key)
		if err == nil {
			size = a.Size
		}
		return err
	})
	if err != nil {
		return nil, b.fail("read", key, err)
	}
	if size > limit {
		return nil, &TooLargeError{Location: b.loc(key), Size: size, Limit: limit}
	}
	data, err := b.ReadAll(ctx, key)
	if err == nil && int64(len(data)) > limit {
		return nil, &TooLargeError{Location: b.loc(key), Size: int64(len(data)), Limit: limit}
	}
	return data, err
}
