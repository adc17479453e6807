//go:build !amd64 || purego

package kernels

func availableKernels() []*kernelSet { return []*kernelSet{goKernels} }

func bestKernels() *kernelSet { return goKernels }
