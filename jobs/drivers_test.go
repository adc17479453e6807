package jobs

// The blob drivers this package's tests open locations with; package
// storage links none itself (see cmd/eightbit/drivers.go).
import (
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
)
