package dataset

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

func TestStratify(t *testing.T) {
	// 10 classes of 100, sorted by class as a class-folder tree lists them.
	var ids []string
	var labels []int
	for c := 0; c < 10; c++ {
		for i := 0; i < 100; i++ {
			ids = append(ids, fmt.Sprintf("train/class%d/%04d.png", c, i))
			labels = append(labels, c)
		}
	}
	perClass := func(sel []int) []int {
		n := make([]int, 10)
		for _, i := range sel {
			n[labels[i]]++
		}
		return n
	}
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{100, []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}},
		{15, []int{2, 2, 2, 2, 2, 1, 1, 1, 1, 1}}, // ties of the remainder go to the lower labels
		{1000, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
		{0, []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		sel := Stratify(ids, labels, tc.n)
		if got := perClass(sel); !slices.Equal(got, tc.want) || !slices.IsSorted(sel) || len(sel) != tc.n {
			t.Errorf("n=%d: per class %v, want %v (sorted %v)", tc.n, got, tc.want, slices.IsSorted(sel))
		}
	}
	// Unequal classes: shares follow the counts (3/4 and 1/4 of 8).
	uneven := Stratify([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"},
		[]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, 8)
	ones := 0
	for _, i := range uneven {
		if i >= 12 {
			ones++
		}
	}
	if len(uneven) != 8 || ones != 2 {
		t.Errorf("uneven: %v", uneven)
	}
	// The choice is a property of the ids and labels, not of their order.
	a := Stratify(ids, labels, 100)
	perm := rand.New(rand.NewSource(1)).Perm(len(ids))
	pids, plabels := make([]string, len(ids)), make([]int, len(ids))
	for k, i := range perm {
		pids[k], plabels[k] = ids[i], labels[i]
	}
	var got, want []string
	for _, k := range Stratify(pids, plabels, 100) {
		got = append(got, pids[k])
	}
	for _, i := range a {
		want = append(want, ids[i])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Error("a permuted split chose other samples")
	}
	// Without labels: one class, the smallest hashes.
	if sel := Stratify(ids, nil, 7); len(sel) != 7 {
		t.Errorf("unlabeled: %v", sel)
	}
}

// TestRuleSplitClassSorted: a manifest's `split: {calibration: 20}` on a
// class-folder tree (canonical order sorted by class) calibrates on every
// class, and evaluation is exactly the rest; `evaluation: M` takes M of the
// rest, per class again. Bad samples fall in one split only.
func TestRuleSplitClassSorted(t *testing.T) {
	src := mapSource{}
	for c := 0; c < 4; c++ {
		for i := 0; i < 25; i++ {
			src[fmt.Sprintf("c%d/%02d.png", c, i)] = pngGray(t, 2, 2, uint8(i))
		}
	}
	src["c3/zz-broken.png"] = []byte("\x89PNG garbage")
	set, err := Load(context.Background(), src, Spec{Format: FormatImageFolder, Classes: 4})
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *Samples) []int {
		n := make([]int, 4)
		for _, l := range s.Labels {
			n[l]++
		}
		return n
	}
	calib := set.RuleSplit("calibration", 20, 0)
	eval := set.RuleSplit("evaluation", 20, 0)
	if got := count(calib); !slices.Equal(got, []int{5, 5, 5, 5}) && !slices.Equal(got, []int{5, 5, 5, 4}) {
		t.Errorf("calibration per class %v", got)
	}
	if calib.N+len(calib.Bad) != 20 || calib.N+eval.N+len(calib.Bad)+len(eval.Bad) != 101 || len(calib.Bad)+len(eval.Bad) != 1 {
		t.Errorf("calibration %d+%d bad, evaluation %d+%d bad", calib.N, len(calib.Bad), eval.N, len(eval.Bad))
	}
	for _, id := range calib.IDs {
		if slices.Contains(eval.IDs, id) {
			t.Fatalf("%s in both splits", id)
		}
	}
	if !slices.IsSorted(eval.IDs) {
		t.Error("evaluation not in canonical order")
	}
	capped := set.RuleSplit("evaluation", 20, 40)
	if got := count(capped); capped.N+len(capped.Bad) != 40 || got[0] < 9 || got[1] < 9 || got[2] < 9 || got[3] < 9 {
		t.Errorf("evaluation of 40: per class %v, %d bad", got, len(capped.Bad))
	}
	for _, id := range capped.IDs {
		if !slices.Contains(eval.IDs, id) {
			t.Fatalf("capped evaluation sample %s not in the rest", id)
		}
	}
}
