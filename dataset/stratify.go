package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// Stratify chooses n of the samples with the given ids and labels, class by
// class, and returns their indices in increasing order. Each label gets
// its share of n in proportion to its count (floor(n·count/total), the
// remaining places to the labels with the largest fractional parts, ties
// to the lower label); within a label the samples whose ids have the
// smallest SHA-256 (first 8 bytes, ties by id, then index) are taken. The
// choice depends only on the ids, labels and n: it is the same on every
// run, worker and sharding, whatever order the samples are listed in, and
// a class-sorted source gives every class its share. labels may be nil
// (one class). n ≥ len(ids) returns every index.
func Stratify(ids []string, labels []int, n int) []int {
	total := len(ids)
	if n >= total {
		out := make([]int, total)
		for i := range out {
			out[i] = i
		}
		return out
	}
	if n <= 0 {
		return nil
	}
	label := func(i int) int {
		if labels == nil {
			return 0
		}
		return labels[i]
	}
	byLabel := map[int][]int{}
	for i := range ids {
		byLabel[label(i)] = append(byLabel[label(i)], i)
	}
	keys := make([]int, 0, len(byLabel))
	for l := range byLabel {
		keys = append(keys, l)
	}
	sort.Ints(keys)
	// Quotas by largest remainder, computed in integers.
	quota := make(map[int]int, len(keys))
	rem := make([]int, len(keys))
	left := n
	for k, l := range keys {
		c := len(byLabel[l])
		quota[l] = n * c / total
		rem[k] = n * c % total
		left -= quota[l]
	}
	order := make([]int, len(keys))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for _, k := range order[:left] {
		quota[keys[k]]++
	}
	out := make([]int, 0, n)
	for _, l := range keys {
		out = append(out, rankByID(ids, byLabel[l])[:quota[l]]...)
	}
	sort.Ints(out)
	return out
}

// rankByID orders the indices idx by the SHA-256 of their ids (first 8
// bytes), then id, then index.
func rankByID(ids []string, idx []int) []int {
	type ranked struct {
		h  uint64
		id string
		i  int
	}
	rs := make([]ranked, len(idx))
	for k, i := range idx {
		sum := sha256.Sum256([]byte(ids[i]))
		rs[k] = ranked{binary.BigEndian.Uint64(sum[:8]), ids[i], i}
	}
	sort.Slice(rs, func(a, b int) bool {
		x, y := &rs[a], &rs[b]
		if x.h != y.h {
			return x.h < y.h
		}
		if x.id != y.id {
			return x.id < y.id
		}
		return x.i < y.i
	})
	out := make([]int, len(rs))
	for k, r := range rs {
		out[k] = r.i
	}
	return out
}

// RuleSplit cuts a source into a calibration and an evaluation split by
// counts (a manifest's `split: {calibration: N, evaluation: M}`):
// calibration is Stratify of every sample, good or bad, with N; evaluation
// is Stratify of the rest with M (M ≤ 0: all the rest). which is
// "calibration" or "evaluation"; the result holds that split's samples in
// canonical order, bad ones in Bad.
func (s *Set) RuleSplit(which string, calibration, evaluation int) *Samples {
	ids := make([]string, len(s.entries))
	labels := make([]int, len(s.entries))
	for i, e := range s.entries {
		ids[i], labels[i] = e.id, e.label
	}
	calib := Stratify(ids, labels, calibration)
	chosen := calib
	if which != "calibration" {
		in := make([]bool, len(ids))
		for _, i := range calib {
			in[i] = true
		}
		var rest []int
		for i := range ids {
			if !in[i] {
				rest = append(rest, i)
			}
		}
		chosen = rest
		if evaluation > 0 {
			restIDs, restLabels := make([]string, len(rest)), make([]int, len(rest))
			for k, i := range rest {
				restIDs[k], restLabels[k] = ids[i], labels[i]
			}
			sel := Stratify(restIDs, restLabels, evaluation)
			chosen = make([]int, len(sel))
			for k, j := range sel {
				chosen[k] = rest[j]
			}
		}
	}
	return s.pick(chosen)
}

// pick is Samples of the entries idx (increasing).
func (s *Set) pick(idx []int) *Samples {
	out := &Samples{}
	for _, i := range idx {
		e := s.entries[i]
		if e.err != "" {
			out.Bad = append(out.Bad, BadSample{ID: e.id, Err: e.err})
			continue
		}
		out.IDs = append(out.IDs, e.id)
		out.Labels = append(out.Labels, e.label)
		out.items = append(out.items, e)
	}
	out.N = len(out.items)
	return out
}
