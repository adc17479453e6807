package cpu

import "testing"

// TestDetectDisable checks the EIGHTBIT_CPU_DISABLE names: each hides its
// features and only them.
func TestDetectDisable(t *testing.T) {
	all := detect("")
	cases := []struct {
		disable string
		hidden  Feature
	}{
		{"", 0},
		{"avx512", AVX512F | AVX512VNNI | AVX512VBMI},
		{"avx2", AVX2 | FMA},
		{"avx512, avx2", AVX512F | AVX512VNNI | AVX512VBMI | AVX2 | FMA},
		{"sse9", 0},
	}
	for _, c := range cases {
		if got, want := detect(c.disable), all&^c.hidden; got != want {
			t.Errorf("detect(%q) = %v, want %v", c.disable, got, want)
		}
	}
}
