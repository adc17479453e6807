package main

// Blank imports register the URL openers of the blob drivers eightbit
// supports with gocloud.dev/blob's default URL mux; package storage opens
// locations through that mux and links no driver itself. mem:// needs no
// import: storage serves it.
import (
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file:// and local paths
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/s3blob"    // s3://
)
