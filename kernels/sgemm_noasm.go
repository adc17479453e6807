//go:build !amd64 || purego

package kernels

// sgemmNarrow returns impl: there is no assembly to choose from.
func sgemmNarrow(impl *sgemmImpl, n int) *sgemmImpl { return impl }
