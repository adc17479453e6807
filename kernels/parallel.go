package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Multi-core execution. A large kernel cuts its output into chunks that the
// calling goroutine and pooled worker goroutines claim one after another
// from a shared counter. Two things make this faster than starting
// goroutines per call:
//
//   - An idle core takes tens of microseconds to wake up (more inside a
//     virtual machine), as long as a whole small convolution. The workers
//     therefore keep polling for new work for workerSpin after their last
//     chunk before they block, so the next kernel of a model, which follows
//     within microseconds, finds them awake. While polling they yield to any
//     other runnable goroutine.
//   - Claiming chunks dynamically means a worker that joins late, or a core
//     that is busy with something else, does less of the work instead of
//     delaying the whole call.
//
// Which goroutine runs which chunk varies from call to call; every chunk
// writes only its own part of the output, so results do not depend on it.

// workerSpin is how long an idle worker keeps polling for work.
const workerSpin = 200 * time.Microsecond

// parallelChunksPerThread is how many chunks per goroutine parallelFor
// cuts its range into.
const parallelChunksPerThread = 8

// chunkJob is one parallel call. Goroutine t (the caller is 0, workers
// number themselves as they join) owns the contiguous chunks
// [t·chunks/nt, (t+1)·chunks/nt) and runs them front to back; when its own
// are done it takes chunks from the back of the others' ranges. In the
// usual case every goroutine runs just its own range, so the same core
// writes the same part of the output on every call and no cache line moves
// between cores (slow when they sit on different chips); when a goroutine
// starts late or runs slowly, the others finish its work.
type chunkJob struct {
	fn     func(c int)
	nt     int
	ranges []atomic.Uint64 // per goroutine: front<<32 | back
	joined atomic.Int64
	left   atomic.Int64 // chunks not finished
	done   chan struct{}
}

func newChunkJob(nt, chunks int, fn func(c int)) *chunkJob {
	j := &chunkJob{fn: fn, nt: nt, ranges: make([]atomic.Uint64, nt), done: make(chan struct{})}
	for t := range j.ranges {
		j.ranges[t].Store(uint64(t*chunks/nt)<<32 | uint64((t+1)*chunks/nt))
	}
	j.left.Store(int64(chunks))
	return j
}

// claim takes the first (front) or last chunk of range t; -1 when empty.
func (j *chunkJob) claim(t int, front bool) int {
	r := &j.ranges[t]
	for {
		v := r.Load()
		f, b := v>>32, v&(1<<32-1)
		if f >= b {
			return -1
		}
		nv, c := (f+1)<<32|b, f
		if !front {
			nv, c = f<<32|(b-1), b-1
		}
		if r.CompareAndSwap(v, nv) {
			return int(c)
		}
	}
}

// work runs goroutine t's chunks, then helps with the others'.
func (j *chunkJob) work(t int) {
	for k := 0; k < j.nt; k++ {
		r := (t + k) % j.nt
		for {
			c := j.claim(r, k == 0)
			if c < 0 {
				break
			}
			j.fn(c)
			if j.left.Add(-1) == 0 {
				close(j.done)
			}
		}
	}
}

// join numbers a worker joining j.
func (j *chunkJob) join() int { return int(j.joined.Add(1)) % j.nt }

var workers struct {
	mu    sync.Mutex
	n     int
	queue chan *chunkJob
}

// ensureWorkers starts workers until n are running.
func ensureWorkers(n int) {
	workers.mu.Lock()
	defer workers.mu.Unlock()
	if workers.queue == nil {
		workers.queue = make(chan *chunkJob, 256)
	}
	for ; workers.n < n; workers.n++ {
		go worker(workers.queue)
	}
}

func worker(queue chan *chunkJob) {
	for {
		var j *chunkJob
		start := time.Now()
	spin:
		for i := 1; ; i++ {
			select {
			case j = <-queue:
				break spin
			default:
			}
			if i%64 == 0 {
				if time.Since(start) > workerSpin {
					j = <-queue
					break spin
				}
				runtime.Gosched()
			}
		}
		j.work(j.join())
	}
}

// runChunks calls fn(c) once for every c in [0, chunks), on up to nt
// goroutines (the caller and nt−1 workers), and returns when all calls have
// returned.
func runChunks(nt, chunks int, fn func(c int)) {
	nt = min(nt, chunks)
	if nt <= 1 {
		for c := 0; c < chunks; c++ {
			fn(c)
		}
		return
	}
	ensureWorkers(nt - 1)
	j := newChunkJob(nt, chunks, fn)
	for t := 1; t < nt; t++ {
		select {
		case workers.queue <- j:
		default: // every worker is busy and the queue is full: do more here
		}
	}
	j.work(0)
	// The other chunks are running; they are short, so poll before
	// blocking.
	for i := 0; i < 1000 && j.left.Load() > 0; i++ {
		runtime.Gosched()
	}
	<-j.done
}

// parallelFor runs fn over [0, n) in contiguous chunks (see runChunks) when
// work (multiply-adds) is large enough to split.
func parallelFor(n, work int, fn func(lo, hi int)) {
	parallelForChunks(n, work, parallelChunksPerThread*threads(), fn)
}

// parallelForChunks is parallelFor cutting [0, n) into (at most) chunks
// chunks.
func parallelForChunks(n, work, chunks int, fn func(lo, hi int)) {
	nt := threads()
	if work < gemmParallelWork || n < 2 || nt < 2 {
		fn(0, n)
		return
	}
	chunks = min(n, max(chunks, 1))
	runChunks(nt, chunks, func(c int) {
		fn(c*n/chunks, (c+1)*n/chunks)
	})
}
