package kernels

import (
	"sync"
	"unsafe"

	"github.com/eightbitml/eightbit/tensor"
)

// sink is where the engine's corrected accumulators go: requantized bytes
// (ONNX Runtime rule, vectorized epilogue) or raw int32 (ConvInteger /
// MatMulInteger).
type sink struct {
	y       *tensor.Tensor
	bytes   []byte
	int32s  bool
	perCol  bool // channel index is the column (GEMM) rather than the row (conv)
	zy      int64
	flo     float32
	fhi     float32
	kernels *kernelSet
}

func newSink(y *tensor.Tensor, rq *Requant, perCol bool, ks *kernelSet) *sink {
	s := &sink{y: y, perCol: perCol, kernels: ks}
	switch y.DType {
	case tensor.Int32:
		s.int32s = true
		return s
	case tensor.Int8:
		s.bytes = int8Bytes(y.I8)
	default:
		s.bytes = y.U8
	}
	lo, hi := rq.bounds()
	s.zy = int64(rq.ZeroPoint)
	s.flo, s.fhi = float32(lo-rq.ZeroPoint), float32(hi-rq.ZeroPoint)
	return s
}

// emit finishes e (whose acc, strides, rows, n and correction vectors are
// set) into the output starting at element off; ch0 is the channel of row 0
// (conv) or column 0 (GEMM); mult is the multiplier vector for that
// channel range.
func (s *sink) emit(e *epiArgs, off int, ch0 int, mult []float32) {
	switch {
	case s.int32s:
		out := s.y.I32
		stride := int(e.outStride)
		epilogueValues(e, func(r, c int, v int32) { out[off+r*stride+c] = v })
	default:
		e.out = unsafe.Pointer(&s.bytes[off])
		e.mult = &mult[0]
		if s.perCol {
			e.multCol = 1
		}
		e.zy, e.flo, e.fhi = s.zy, s.flo, s.fhi
		s.kernels.epi(e)
	}
}

// expandMult returns n multipliers (one per channel) from r.Multiplier.
func expandMult(r *Requant, n int) []float32 {
	m := make([]float32, n)
	for i := range m {
		switch {
		case len(r.Multiplier) == 0:
			m[i] = 1
		case len(r.Multiplier) == 1:
			m[i] = r.Multiplier[0]
		case i < len(r.Multiplier):
			m[i] = r.Multiplier[i]
		}
	}
	return m
}

var bytePool sync.Pool

func getBytes(n int) []byte {
	if b, ok := bytePool.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func putBytes(b []byte) { bytePool.Put(&b) }
