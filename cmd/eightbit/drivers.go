package storage

// Blank imports register the URL openers of every driver this package
// supports with gocloud.dev/blob's default URL mux.
import (
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/memblob"   // mem:// (opened through the shared registry in mem.go)
	_ "gocloud.dev/blob/s3blob"    // s3://
)
