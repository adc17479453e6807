package dataset

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Source is where dataset readers get their bytes: keys relative to the
// dataset's folder. *storage.Bucket satisfies it.
type Source interface {
	ReadAll(ctx context.Context, key string) ([]byte, error)
	// List returns every key under prefix, recursively, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// BadSample is a sample that could not be used: an image that does not
// decode, a record that is truncated or fails its checksum, a label outside
// the dataset's classes. Readers list bad samples and carry on with the rest.
type BadSample struct {
	ID  string `json:"id"`
	Err string `json:"error"`
}

// entry is one sample of a Set, in canonical order; exactly one of err,
// fixed or encoded is set.
type entry struct {
	id      string
	label   int
	err     string
	fixed   *Images // shared pixel block of equally sized images
	index   int     // image index in fixed
	encoded []byte  // an encoded JPEG or PNG
}

// Set is every sample of one dataset source in canonical order (see Load),
// good and bad. It holds raw pixels only for fixed-size formats (IDX,
// CIFAR); encoded images are kept encoded and decoded on demand, so memory
// is bounded by the size of the files.
type Set struct {
	entries []entry
}

// Len returns the number of samples, good and bad.
func (s *Set) Len() int { return len(s.entries) }

// Samples returns the samples [from, to) of the canonical order (to ≤ 0 or
// past the end means the end), good ones first-class and bad ones listed.
func (s *Set) Samples(from, to int) *Samples {
	if to <= 0 || to > len(s.entries) {
		to = len(s.entries)
	}
	from = min(max(from, 0), to)
	idx := make([]int, to-from)
	for i := range idx {
		idx[i] = from + i
	}
	return s.pick(idx)
}

// Samples is one split of a dataset: N usable samples with stable ids and
// labels, and the bad samples that were left out.
type Samples struct {
	N      int
	IDs    []string
	Labels []int
	Bad    []BadSample
	items  []entry
}

// Image returns the pixels of sample i, decoding it if it is stored
// encoded. The result must not be modified.
func (s *Samples) Image(i int) (*Image, error) {
	if i < 0 || i >= s.N {
		return nil, fmt.Errorf("dataset: sample %d out of range [0,%d)", i, s.N)
	}
	e := &s.items[i]
	if e.fixed != nil {
		return &Image{H: e.fixed.H, W: e.fixed.W, C: e.fixed.C, Pix: e.fixed.Image(e.index)}, nil
	}
	im, err := DecodeImage(e.encoded)
	if err != nil {
		return nil, fmt.Errorf("sample %s: %w", e.id, err)
	}
	return im, nil
}

// Fixed returns the samples as one block of equally sized images when they
// all come from one such block (IDX, CIFAR) in order, and nil otherwise.
func (s *Samples) Fixed() *Images {
	if s.N == 0 || s.items[0].fixed == nil {
		return nil
	}
	f := s.items[0].fixed
	for i, e := range s.items {
		if e.fixed != f || e.index != s.items[0].index+i {
			return nil
		}
	}
	sz := f.H * f.W * f.C
	start := s.items[0].index
	return &Images{N: s.N, H: f.H, W: f.W, C: f.C, Pix: f.Pix[start*sz : (start+s.N)*sz]}
}

// checkLabels marks samples whose label lies outside [0, classes) bad.
func (s *Set) checkLabels(classes int) {
	if classes <= 0 {
		return
	}
	for i := range s.entries {
		e := &s.entries[i]
		if e.err == "" && (e.label < 0 || e.label >= classes) {
			e.err = fmt.Sprintf("label %d is outside [0,%d)", e.label, classes)
			e.fixed, e.encoded = nil, nil
		}
	}
}

// validateEncoded decodes every encoded image once, in parallel, and marks
// the ones that fail bad. The pixels are dropped again.
func (s *Set) validateEncoded(ctx context.Context) error {
	var idx []int
	for i, e := range s.entries {
		if e.err == "" && e.encoded != nil {
			idx = append(idx, i)
		}
	}
	return parallel(ctx, len(idx), runtime.GOMAXPROCS(0), func(k int) error {
		e := &s.entries[idx[k]]
		if _, err := DecodeImage(e.encoded); err != nil {
			e.err = err.Error()
			e.encoded = nil
		}
		return nil
	})
}

// parallel runs f(0..n-1) on up to workers goroutines and returns the first
// error (by index) any call returned.
func parallel(ctx context.Context, n, workers int, f func(i int) error) error {
	if n == 0 {
		return nil
	}
	workers = max(1, min(workers, n))
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(firstNonNil(errs))
}

func firstNonNil(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Subset returns the samples idx as Samples of their own (bad samples are
// not carried over). Pixel data and encoded images are shared, not copied.
func (s *Samples) Subset(idx []int) *Samples {
	out := &Samples{N: len(idx), IDs: make([]string, len(idx)), Labels: make([]int, len(idx)), items: make([]entry, len(idx))}
	for k, i := range idx {
		out.IDs[k], out.Labels[k], out.items[k] = s.IDs[i], s.Labels[i], s.items[i]
	}
	return out
}

// joinFixed moves the raw pixels of all fixed-size entries (which must share
// one image size) into a single block, so that any contiguous range of
// samples is one Images block.
func (s *Set) joinFixed() {
	var first *Images
	n := 0
	for _, e := range s.entries {
		if e.fixed == nil {
			continue
		}
		if first == nil {
			first = e.fixed
		}
		if e.fixed.H != first.H || e.fixed.W != first.W || e.fixed.C != first.C {
			return
		}
		n++
	}
	if first == nil {
		return
	}
	sz := first.H * first.W * first.C
	all := &Images{N: n, H: first.H, W: first.W, C: first.C, Pix: make([]uint8, 0, n*sz)}
	k := 0
	for i := range s.entries {
		e := &s.entries[i]
		if e.fixed == nil {
			continue
		}
		all.Pix = append(all.Pix, e.fixed.Image(e.index)...)
		e.fixed, e.index = all, k
		k++
	}
}
