package storage

import (
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// memblob's own URL opener returns a fresh, empty bucket on every call. This
// package instead keeps one memblob store per name for the whole process, so
// that a test and the pipeline it runs (in the same process) share data.
var (
	memMu      sync.Mutex
	memBuckets = map[string]*blob.Bucket{}
)

// memBucket returns the process-wide memblob store called name, creating it on
// first use. The returned bucket must never be closed.
func memBucket(name string) *blob.Bucket {
	memMu.Lock()
	defer memMu.Unlock()
	b, ok := memBuckets[name]
	if !ok {
		b = memblob.OpenBucket(nil)
		memBuckets[name] = b
	}
	return b
}

// DropMem forgets the shared mem:// store called name and its data; the next
// Open of mem://name starts empty. Buckets already open keep the old store.
// Tests use it to isolate themselves.
func DropMem(name string) {
	memMu.Lock()
	defer memMu.Unlock()
	if b, ok := memBuckets[name]; ok {
		_ = b.Close()
		delete(memBuckets, name)
	}
}
