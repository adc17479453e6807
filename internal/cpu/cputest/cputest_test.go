package cputest

import (
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/internal/cpu"
)

// chosen is the implementation of the example family in use.
var chosen string

// The example family of three implementations, registered once per
// process as a kernel package's would be.
func init() {
	fam := cpu.NewFamily("cputest.example", &chosen, "go", "go")
	fam.Register("avx512", cpu.AVX512F, "avx512")
	fam.Register("avx2", cpu.AVX2, "avx2")
}

// TestAllImplementationsSelectsEach checks that every implementation of the
// example family the CPU runs is selected in its subtest, in order, and
// that the best is back afterwards.
func TestAllImplementationsSelectsEach(t *testing.T) {
	want := cpu.Implementations("cputest.example")
	if len(want) == 0 || want[len(want)-1] != "go" {
		t.Fatalf("Implementations = %v, want the portable one last", want)
	}
	var seen []string
	TestAllImplementations(t, "cputest.example", func(t *testing.T) {
		seen = append(seen, chosen)
	})
	if !slices.Equal(seen, want) {
		t.Errorf("ran %v, want %v", seen, want)
	}
	if chosen != want[0] {
		t.Errorf("after the run %q is chosen, want the best, %q", chosen, want[0])
	}
	if err := cpu.Select("cputest.example", "nope"); err == nil {
		t.Error("Select of an unknown implementation succeeded")
	}
}
