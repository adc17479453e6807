// Package storage is eightbit's portable file layer: the only package, besides
// the Beam transforms, that performs I/O. It is a thin layer over
// gocloud.dev/blob that opens *folders* and reads and writes keys inside them.
//
// # Locations
//
// Open and Create accept a folder location in one of these forms:
//
//	/abs/dir, rel/dir            local paths, turned into file:// URLs
//	file:///abs/dir              local folder ("file://./rel" is relative)
//	mem://name/prefix            in-memory store shared by name in the process
//	s3://bucket/prefix?endpoint=http://host:port&use_path_style=true&region=us-east-1
//	gs://bucket/prefix           Google Cloud Storage
//	azblob://container/prefix    Azure Blob Storage
//
// A path after the bucket is a key prefix (blob.PrefixedBucket), so the keys
// used with a Bucket are always relative to the folder. Query parameters go to
// the gocloud.dev driver unchanged (see its URL openers), with these defaults
// for local folders unless the location sets them itself:
//
//   - metadata=skip: no ".attrs" sidecar files next to the data;
//   - no_tmp_dir=1: fileblob stages writes in a temporary file next to the
//     target instead of in TMPDIR, so the final rename never crosses file
//     systems;
//   - create_dir=1, only with Create: the folder is created if missing.
//     Open fails on a missing local folder.
//
// storage links no blob driver: the program's main package blank-imports
// the drivers of the schemes it accepts (cmd/eightbit imports fileblob,
// s3blob, gcsblob and azureblob; a test imports what it opens), so a binary
// carries only the cloud SDKs it uses. Opening a file://, s3://, gs:// or
// azblob:// location whose driver is missing fails with an error naming the
// import.
//
// mem:// stores live for the whole process and are shared by name, so a test
// and the pipeline it runs in-process see the same data; DropMem forgets one.
// Credentials are never part of a location: S3 uses the AWS SDK's usual
// environment and config files, GCS the application-default credentials.
//
// # Atomic writes
//
// WriteAtomic never exposes a partial object at its key: cloud writers only
// commit on Close, and fileblob writes "<key>.<hex>.tmp" and renames it over
// the key. On any failure the writer's context is cancelled before Close,
// which makes every driver drop the upload. List hides fileblob's temp files.
//
// # Relative locations
//
// Join resolves a path found in a manifest against the manifest's folder,
// refusing paths that climb out of it (Resolve allows that, for locations
// the user let out of the zoo); Split and ReadLocation handle a full object
// location.
//
// # Errors
//
// Every error from a Bucket is a *Error of the form
// "storage: read s3://bucket/dir/key: <driver error>" (query parameters are
// left out), and errors.Is(err, ErrNotFound) (and fs.ErrNotExist) holds for
// missing keys.
//
// # Retries
//
// Every Bucket operation retries transient failures (see Transient: HTTP
// 408/429/5xx, resource exhausted or internal driver errors, reset or
// refused connections, timeouts) under a bounded exponential backoff with
// jitter, DefaultRetry unless SetRetry changes it: at most 5 attempts.
// Missing keys, permission errors and cancelled contexts are never retried.
// Writes are retried whole, which is safe because they are atomic.
//
// Tests can get real S3 and GCS endpoints from storagetest.StartS3 and
// storagetest.StartGCS.
package storage
