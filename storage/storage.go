package storage

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/eightbitml/eightbit/failure"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrNotFound is matched (with errors.Is) by every error this package returns
// for a key that does not exist.
var ErrNotFound = failure.Errorf(failure.NotFound, "storage: not found")

// Error is the error type returned by Bucket methods and Open. It records the
// operation and the location (URL without query, plus key) it concerns.
type Error struct {
	Op       string // "open", "read", "write", "list", "exists", "close"
	Location string // folder URL or folder URL + "/" + key, query stripped
	Err      error  // underlying error, usually from gocloud.dev/blob
}

func (e *Error) Error() string {
	return "storage: " + e.Op + " " + e.Location + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the error is ErrNotFound; it is when the underlying
// driver reports gcerrors.NotFound.
// It also matches fs.ErrNotExist and failure.NotFound then, so that
// packages that only know the standard library (dataset) can tell a missing
// file from other failures. Any other storage error has kind failure.IO.
func (e *Error) Is(target error) bool {
	notFound := gcerrors.Code(e.Err) == gcerrors.NotFound
	switch target {
	case ErrNotFound, fs.ErrNotExist, failure.NotFound:
		return notFound
	case failure.IO:
		return !notFound
	}
	return false
}

// Bucket is a folder in some blob store: every key is relative to the folder
// URL it was opened with. It is safe for concurrent use.
type Bucket struct {
	url       string       // normalized folder URL as given to Open (with query)
	display   string       // url without query, used in error messages
	b         *blob.Bucket // prefixed view, or the shared root for mem://
	keyPrefix string       // only for mem://: prefix applied by hand
	shared    bool         // b is a shared mem:// root: do not close it
	isFile    bool         // fileblob: hide in-flight temp files from List

	retry RetryPolicy
	// fault, when set (tests only), runs before every attempt of an
	// operation; an error it returns counts as that attempt's failure.
	fault func(op, key string) error

	closeOnce sync.Once
	closeErr  error
}

// Open opens the folder at location for reading and writing. See the package
// documentation for the accepted forms. A local folder must already exist;
// use Create to make it.
func Open(ctx context.Context, location string) (*Bucket, error) {
	return open(ctx, location, false)
}

// Create is like Open but creates a local folder (file:// or plain path) if it
// does not exist yet, by defaulting fileblob's create_dir=1. For remote
// schemes it is identical to Open: folders there are just key prefixes.
func Create(ctx context.Context, location string) (*Bucket, error) {
	return open(ctx, location, true)
}

func open(ctx context.Context, location string, create bool) (*Bucket, error) {
	u, err := parseFolder(location)
	if err != nil {
		return nil, &Error{Op: "open", Location: location, Err: err}
	}
	bk := &Bucket{url: u.String(), display: displayURL(u), retry: DefaultRetry}
	if err := checkDriver(u.Scheme, blob.DefaultURLMux().ValidBucketScheme); err != nil {
		return nil, &Error{Op: "open", Location: bk.display, Err: err}
	}
	switch u.Scheme {
	case "mem":
		if u.RawQuery != "" {
			return nil, &Error{Op: "open", Location: bk.display, Err: errors.New("mem:// URLs take no query parameters")}
		}
		bk.b = memBucket(u.Host)
		bk.shared = true
		bk.keyPrefix = folderPrefix(u.Path)
		return bk, nil
	case "file":
		bk.isFile = true
		q := u.Query()
		setDefault(q, "metadata", "skip")
		setDefault(q, "no_tmp_dir", "1")
		if create {
			setDefault(q, "create_dir", "1")
		}
		fu := *u
		fu.RawQuery = q.Encode()
		b, err := blob.OpenBucket(ctx, fu.String())
		if err != nil {
			return nil, &Error{Op: "open", Location: bk.display, Err: err}
		}
		bk.b = b
		return bk, nil
	default:
		// The path of s3://bucket/a/b or gs://bucket/a/b is a key prefix.
		prefix := folderPrefix(u.Path)
		ru := *u
		ru.Path, ru.RawPath = "", ""
		b, err := blob.OpenBucket(ctx, ru.String())
		if err != nil {
			return nil, &Error{Op: "open", Location: bk.display, Err: err}
		}
		if prefix != "" {
			b = blob.PrefixedBucket(b, prefix)
		}
		bk.b = b
		return bk, nil
	}
}

// URL returns the folder URL of the bucket (local paths are returned as
// file:// URLs, including any query parameters the caller gave).
func (b *Bucket) URL() string { return b.url }

// setDefault sets q[k] = v unless the caller already set k (to any value).
func setDefault(q url.Values, k, v string) {
	if _, ok := q[k]; !ok {
		q.Set(k, v)
	}
}

// folderPrefix turns a URL path such as "/a/b/" into the key prefix "a/b/".
func folderPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// displayURL renders u without its query, for error messages.
func displayURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment = "", false, ""
	return strings.TrimSuffix(c.String(), "/")
}

func (b *Bucket) loc(key string) string {
	if key == "" {
		return b.display
	}
	return b.display + "/" + key
}

func (b *Bucket) fail(op, key string, err error) error {
	return &Error{Op: op, Location: b.loc(key), Err: err}
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("key %q must not start with /", key)
	}
	return nil
}

// ReadAll returns the content of key. A missing key yields an error matching
// ErrNotFound.
func (b *Bucket) ReadAll(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, b.fail("read", key, err)
	}
	var data []byte
	err := b.do(ctx, "read", key, func() (err error) {
		data, err = b.b.ReadAll(ctx, b.keyPrefix+key)
		return err
	})
	if err != nil {
		return nil, b.fail("read", key, err)
	}
	return data, nil
}

// Exists reports whether key exists.
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, b.fail("exists", key, err)
	}
	var ok bool
	err := b.do(ctx, "exists", key, func() (err error) {
		ok, err = b.b.Exists(ctx, b.keyPrefix+key)
		return err
	})
	if err != nil {
		return false, b.fail("exists", key, err)
	}
	return ok, nil
}

// fileblobTemp matches the names fileblob gives in-flight writes when temp
// files live next to their target (no_tmp_dir): "<key>.<hex nanoseconds>.tmp".
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]{8,16}\.tmp$`)

// List returns every key under prefix (recursively, "" for all), sorted.
// Keys are relative to the bucket folder. On file buckets, temporary files of
// writes in progress (or of crashed writers) are left out.
func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	if err := b.do(ctx, "list", prefix, func() error {
		var err error
		keys, err = b.list(ctx, prefix)
		return err
	}); err != nil {
		return nil, b.fail("list", prefix, err)
	}
	return keys, nil
}

func (b *Bucket) list(ctx context.Context, prefix string) ([]string, error) {
	it := b.b.List(&blob.ListOptions{Prefix: b.keyPrefix + prefix})
	var keys []string
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if obj.IsDir {
			continue
		}
		key := strings.TrimPrefix(obj.Key, b.keyPrefix)
		if b.isFile && fileblobTemp.MatchString(key) {
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys, nil
}

// WriteAtomic stores data at key, replacing any previous object. Readers see
// either the previous object or the complete new one, never a partial write:
//
//   - blob writers only commit on Close (S3 PutObject or CompleteMultipartUpload,
//     GCS upload finalization, memblob map assignment);
//   - fileblob writes to a temporary file "<key>.<hex>.tmp" in the same
//     directory (this package defaults no_tmp_dir=1, which also avoids
//     cross-device renames when TMPDIR is another file system) and renames it
//     over the key on Close; os.Rename is atomic on POSIX file systems.
//
// The writer's context is cancelled before Close whenever anything fails, which
// makes every driver discard the upload (fileblob removes its temp file).
// The MD5 of data is passed to the driver, so a corrupted upload is refused.
// An empty contentType lets the driver sniff it.
func (b *Bucket) WriteAtomic(ctx context.Context, key string, data []byte, contentType string) error {
	if err := checkKey(key); err != nil {
		return b.fail("write", key, err)
	}
	if err := b.do(ctx, "write", key, func() error { return b.write(ctx, key, data, contentType) }); err != nil {
		return b.fail("write", key, err)
	}
	return nil
}

// write is one attempt of WriteAtomic.
func (b *Bucket) write(ctx context.Context, key string, data []byte, contentType string) error {
	sum := md5.Sum(data)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.b.NewWriter(wctx, b.keyPrefix+key, &blob.WriterOptions{
		ContentType: contentType,
		ContentMD5:  sum[:],
	})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel() // abort: Close must not commit
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return nil
}

// Delete removes key. A missing key yields an error matching ErrNotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return b.fail("delete", key, err)
	}
	if err := b.do(ctx, "delete", key, func() error { return b.b.Delete(ctx, b.keyPrefix+key) }); err != nil {
		return b.fail("delete", key, err)
	}
	return nil
}

// Close releases the bucket. Closing twice is harmless. Shared mem:// stores
// stay alive (and keep their data) for the life of the process.
func (b *Bucket) Close() error {
	b.closeOnce.Do(func() {
		if b.shared {
			return
		}
		if err := b.b.Close(); err != nil {
			b.closeErr = b.fail("close", "", err)
		}
	})
	return b.closeErr
}

// ReadLocation reads the object at a full location (a folder location as
// accepted by Open, followed by "/key"), such as the result of Join.
func ReadLocation(ctx context.Context, location string) ([]byte, error) {
	dir, key, err := Split(location)
	if err != nil {
		return nil, &Error{Op: "read", Location: location, Err: err}
	}
	b, err := Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.ReadAll(ctx, key)
}

// localToURL turns a local path into a file:// URL of its absolute form.
func localToURL(p string) (*url.URL, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}
