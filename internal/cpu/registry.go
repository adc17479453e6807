package cpu

import (
	"fmt"
	"slices"
	"sort"
)

// Family is one kernel family's implementations of type T, and the
// variable the kernels read the chosen one from.
type Family[T any] struct {
	name  string
	dst   *T
	impls []impl[T] // registered, fastest first; the portable one last
}

type impl[T any] struct {
	name  string
	needs Feature
	v     T
}

// families are the families by name, for Implementations, Select and
// Reset.
var families = map[string]family{}

// family is what the registry needs of a Family whatever its T.
type family interface {
	available() []string
	choose(name string) bool
	reset()
}

// NewFamily registers the kernel family name whose chosen implementation
// lives in *dst, with the portable implementation v (named portable, which
// needs no feature); *dst is set to v until Register adds a faster one the
// CPU runs. Each name may be used once.
func NewFamily[T any](name string, dst *T, portable string, v T) *Family[T] {
	if _, dup := families[name]; dup {
		panic("cpu: family " + name + " registered twice")
	}
	f := &Family[T]{name: name, dst: dst, impls: []impl[T]{{name: portable, v: v}}}
	families[name] = f
	f.reset()
	return f
}

// Register adds the implementation v, named name, which needs the features
// needs, after the others registered so far (so register the fastest
// first) but before the portable one, and chooses the best available
// implementation again.
func (f *Family[T]) Register(name string, needs Feature, v T) {
	for _, im := range f.impls {
		if im.name == name {
			panic("cpu: implementation " + name + " of " + f.name + " registered twice")
		}
	}
	n := len(f.impls) - 1
	f.impls = slices.Insert(f.impls, n, impl[T]{name: name, needs: needs, v: v})
	f.reset()
}

// Available returns the implementations the CPU runs, fastest first; the
// last is the portable one.
func (f *Family[T]) Available() []T {
	var vs []T
	for _, im := range f.impls {
		if Has(im.needs) {
			vs = append(vs, im.v)
		}
	}
	return vs
}

func (f *Family[T]) available() []string {
	var names []string
	for _, im := range f.impls {
		if Has(im.needs) {
			names = append(names, im.name)
		}
	}
	return names
}

func (f *Family[T]) choose(name string) bool {
	for _, im := range f.impls {
		if im.name == name && Has(im.needs) {
			*f.dst = im.v
			return true
		}
	}
	return false
}

// reset chooses the first implementation the CPU runs.
func (f *Family[T]) reset() {
	for _, im := range f.impls {
		if Has(im.needs) {
			*f.dst = im.v
			return
		}
	}
}

// Families returns the names of the registered kernel families, sorted.
func Families() []string {
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Implementations returns the names of the implementations of the family
// that this CPU (and build) runs, fastest first; the first is the one in
// use unless Select chose another. It is nil for an unknown family.
func Implementations(familyName string) []string {
	if f, ok := families[familyName]; ok {
		return f.available()
	}
	return nil
}

// Select makes the family use the implementation name, which the CPU
// must run. It is for tests and benchmarks, and not safe while kernels of
// the family run.
func Select(familyName, name string) error {
	f, ok := families[familyName]
	if !ok {
		return fmt.Errorf("cpu: no kernel family %q", familyName)
	}
	if !f.choose(name) {
		return fmt.Errorf("cpu: kernel family %q has no implementation %q on this CPU (have %v)", familyName, name, f.available())
	}
	return nil
}

// Reset makes the family use its best implementation again.
func Reset(familyName string) {
	if f, ok := families[familyName]; ok {
		f.reset()
	}
}
