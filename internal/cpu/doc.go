// Package cpu is eightbit's one dispatch registry for its assembly
// kernels: it reads the x86 instruction-set features once from
// golang.org/x/sys/cpu, and holds, per kernel family, the implementations
// that registered themselves with a name and the features they need.
//
// Features. Has reports a Feature (AVX2, FMA, AVX512F, AVX512VNNI,
// AVX512VBMI). The environment variable EIGHTBIT_CPU_DISABLE, a
// comma-separated list of "avx512" and "avx2", hides features to run the
// slower implementations on a fast machine: "avx512" hides AVX512F,
// AVX512VNNI and AVX512VBMI (the AVX2 kernels run where the CPU has AVX2),
// "avx2" hides AVX2 and FMA, so "avx512,avx2" runs the pure-Go kernels.
// It is read once, at start-up.
//
// Families. A package that has several implementations of one kernel
// family declares a variable of the implementation's type and binds it
// with NewFamily, giving the portable (pure-Go) implementation; its
// assembly files Register the others, fastest first. The variable is set
// to the first registered implementation whose features the CPU has (the
// portable one when there is none), once, at initialization: the kernels
// read a plain variable, never a map. Tests list the implementations this
// CPU runs (Implementations), force one (Select) and go back to the best
// (Reset); cputest.TestAllImplementations runs a test once per
// implementation.
package cpu
