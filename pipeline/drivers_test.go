package pipeline

// The blob drivers this package's tests open locations with; package
// storage links none itself (see cmd/eightbit/drivers.go).
import (
	_ "gocloud.dev/blob/fileblob"
)
