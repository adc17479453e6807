package infer

import (
	"runtime"
	"sync"

	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// Buffer reuse
//
// Every Run takes an arena from its Program (one per concurrent Run). The
// kernels of the hot operators (allocKernel) take their output tensor, and
// Conv its im2col scratch, from the arena instead of the heap. The arena
// keeps free backing slices by element type and exact length; the shapes
// of a model repeat from layer to layer and from Run to Run, so after the
// first Run a Run takes nearly all of its memory from the arena.
//
// A buffer goes back to the arena when no live value can still read it.
// Compile groups the value slots that may share memory (aliasGroups): the
// output of a step that may return a view of its inputs (Reshape, Flatten,
// Squeeze, Identity and, conservatively, every operator not known to
// allocate its result) joins the group of its inputs. The buffers
// allocated for a group's values are released after the last reader of the
// group's last value; a group that holds a graph output is never released,
// so outputs handed to the caller are never overwritten or recycled.

// arenaPool is a typed free list: backing slices keyed by exact length.
type arenaPool[T any] struct {
	free map[int][][]T
	// used marks the lengths taken during the current Run; the others are
	// dropped when the Run ends, so an arena holds at most what one Run of
	// the latest batch size needs.
	used map[int]bool
}

func (p *arenaPool[T]) get(n int) []T {
	if p.used == nil {
		p.free, p.used = map[int][][]T{}, map[int]bool{}
	}
	p.used[n] = true
	if l := p.free[n]; len(l) > 0 {
		s := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[n] = l[:len(l)-1]
		return s
	}
	return make([]T, n)
}

func (p *arenaPool[T]) put(s []T) {
	if p.free == nil || len(s) == 0 {
		return
	}
	n := len(s)
	p.free[n] = append(p.free[n], s[:n:n])
}

// trim drops the free lists of lengths not taken since the last trim.
func (p *arenaPool[T]) trim() {
	for n := range p.free {
		if !p.used[n] {
			delete(p.free, n)
		}
	}
	clear(p.used)
}

// arena hands out the memory of one Run at a time. It implements
// kernels.Alloc: tensors it hands out are recorded for the alias group
// being written (owner), scratch memory goes back at once.
type arena struct {
	f32 arenaPool[float32]
	u8  arenaPool[uint8]
	i8  arenaPool[int8]
	i32 arenaPool[int32]

	// owner is the alias group of the step output being computed, -1 for
	// none (the memory is then never returned).
	owner int
	// held lists per alias group the tensors allocated for it.
	held [][]*tensor.Tensor
	// spare holds the headers of released tensors, reused (with their
	// shape's backing array) by later ones: no live value refers to them,
	// as a group is released only when all its values are dead.
	spare []*tensor.Tensor
	// vals and args are the value slots and the argument list of the Run.
	vals, args []*tensor.Tensor
}

var _ kernels.Alloc = (*arena)(nil)

// Tensor returns a tensor with undefined contents (kernels.Alloc).
func (a *arena) Tensor(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	n := shape.Size()
	if n == 0 || a.owner < 0 {
		return tensor.New(dt, shape)
	}
	var t *tensor.Tensor
	if k := len(a.spare); k > 0 {
		t = a.spare[k-1]
		a.spare = a.spare[:k-1]
		*t = tensor.Tensor{DType: dt, Shape: append(t.Shape[:0], shape...)}
	} else {
		t = &tensor.Tensor{DType: dt, Shape: shape.Clone()}
	}
	switch dt {
	case tensor.Float32:
		t.F32 = a.f32.get(n)
	case tensor.Uint8:
		t.U8 = a.u8.get(n)
	case tensor.Int8:
		t.I8 = a.i8.get(n)
	case tensor.Int32:
		t.I32 = a.i32.get(n)
	default:
		return tensor.New(dt, shape)
	}
	a.held[a.owner] = append(a.held[a.owner], t)
	return t
}

// Float32s returns scratch memory (kernels.Alloc).
func (a *arena) Float32s(n int) []float32 {
	if n == 0 {
		return nil
	}
	return a.f32.get(n)
}

// PutFloat32s takes scratch memory back (kernels.Alloc).
func (a *arena) PutFloat32s(s []float32) { a.f32.put(s) }

// release returns the buffers of alias group g to the free lists.
func (a *arena) release(g int) {
	for i, t := range a.held[g] {
		switch t.DType {
		case tensor.Float32:
			a.f32.put(t.F32)
		case tensor.Uint8:
			a.u8.put(t.U8)
		case tensor.Int8:
			a.i8.put(t.I8)
		case tensor.Int32:
			a.i32.put(t.I32)
		}
		a.spare = append(a.spare, t)
		a.held[g][i] = nil
	}
	a.held[g] = a.held[g][:0]
}

// reset forgets the buffers still held (graph outputs now owned by the
// caller, or the values of a failed Run) and trims the free lists.
func (a *arena) reset() {
	for g := range a.held {
		clear(a.held[g])
		a.held[g] = a.held[g][:0]
	}
	a.owner = -1
	a.f32.trim()
	a.u8.trim()
	a.i8.trim()
	a.i32.trim()
}

// arenas is a Program's stock of idle arenas, at most one per processor.
type arenas struct {
	mu   sync.Mutex
	idle []*arena
}

func (s *arenas) get(groups int) *arena {
	s.mu.Lock()
	var a *arena
	if n := len(s.idle); n > 0 {
		a = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
	}
	s.mu.Unlock()
	if a == nil {
		a = &arena{owner: -1}
	}
	if len(a.held) < groups {
		a.held = make([][]*tensor.Tensor, groups)
	}
	return a
}

func (s *arenas) put(a *arena) {
	a.reset()
	s.mu.Lock()
	if len(s.idle) < runtime.GOMAXPROCS(0) {
		s.idle = append(s.idle, a)
	}
	s.mu.Unlock()
}

// allocKernel is a kernel that takes its (single) output from a, or from
// the heap when a is nil. Its output never shares an input's memory.
type allocKernel func(in []*tensor.Tensor, a kernels.Alloc) ([]*tensor.Tensor, error)

// allocTensor returns an output tensor from a, or from the heap when a is
// nil; its contents are undefined.
func allocTensor(a kernels.Alloc, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if a == nil {
		return tensor.New(dt, shape)
	}
	return a.Tensor(dt, shape)
}

// heap returns k as a kernelFunc allocating from the heap.
func (k allocKernel) heap() kernelFunc {
	return func(in []*tensor.Tensor) ([]*tensor.Tensor, error) { return k(in, nil) }
}

// aliasGroups assigns every slot an alias group and computes, per step, the
// groups whose buffers may be released after it. last[s] is the index of
// the last step reading (or writing) slot s, -1 for none.
func (p *Program) aliasGroups(last []int, isOut []bool) {
	parent := make([]int, p.nslots)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(s int) int {
		for parent[s] != s {
			parent[s] = parent[parent[s]]
			s = parent[s]
		}
		return s
	}
	for _, st := range p.steps {
		if st.fresh {
			continue
		}
		// The outputs may be views of any runtime input.
		for _, o := range st.out {
			if o < 0 {
				continue
			}
			for _, s := range st.in {
				if s >= 0 && p.consts[s] == nil {
					parent[find(o)] = find(s)
				}
			}
		}
	}
	ids := make([]int, p.nslots)
	for i := range ids {
		ids[i] = -1
	}
	p.group = make([]int, p.nslots)
	var end []int
	for s := range parent {
		r := find(s)
		if ids[r] < 0 {
			ids[r] = len(end)
			end = append(end, -1)
		}
		g := ids[r]
		p.group[s] = g
		switch {
		case end[g] == -2:
		case isOut[s]:
			end[g] = -2 // never released
		case last[s] > end[g]:
			end[g] = last[s]
		}
	}
	p.ngroups = len(end)
	for g, i := range end {
		if i >= 0 {
			p.steps[i].release = append(p.steps[i].release, g)
		}
	}
}
