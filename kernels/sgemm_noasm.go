//go:build !amd64 || purego

package kernels

// sgemmImpls lists the assembly implementations: none without assembly, so
// Gemm runs the pure-Go gemmGo.
func sgemmImpls() []*sgemmImpl { return nil }

// sgemmNarrow returns impl: there is no assembly to choose from.
func sgemmNarrow(impl *sgemmImpl, n int) *sgemmImpl { return impl }
