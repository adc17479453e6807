package cputest

import (
	"testing"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// TestAllImplementations runs f as a subtest once per implementation of
// the kernel family that this CPU and build run (see cpu.Implementations),
// each subtest named after its implementation and with that
// implementation selected, and chooses the best one again afterwards. A
// family with a single implementation runs f once, as a subtest too. The
// subtests must not run in parallel with other users of the family.
func TestAllImplementations(t *testing.T, family string, f func(t *testing.T)) {
	t.Helper()
	names := cpu.Implementations(family)
	if len(names) == 0 {
		t.Fatalf("cputest: no kernel family %q (have %v)", family, cpu.Families())
	}
	defer cpu.Reset(family)
	for _, name := range names {
		if err := cpu.Select(family, name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, f)
	}
}
