//go:build !amd64 || purego

package calibrate

// binVector and scanVector are the vector kernels (nil: the Go loops).
var (
	binVector  func(vs *float32, n int, idx *int32, p *binParams)
	scanVector func(vs *float32, n int, p *binParams)
)
