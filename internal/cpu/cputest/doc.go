// Package cputest runs kernel tests once per implementation: the
// counterpart, for eightbit's assembly kernels, of Go crypto's
// cryptotest.TestAllImplementations.
package cputest
