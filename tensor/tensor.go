package tensor

import (
	"fmt"
	"strings"
)

// DType is an element type. The numeric values equal ONNX TensorProto.DataType.
type DType int32

// Element types eightbit computes with. Bool is stored one byte per element in U8.
const (
	Undefined DType = 0
	Float32   DType = 1
	Uint8     DType = 2
	Int8      DType = 3
	Int32     DType = 6
	Int64     DType = 7
	Bool      DType = 9
)

// String returns the lower-case type name ("float32", "uint8", ...).
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Undefined:
		return "undefined"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Uint8, Int8, Bool:
		return 1
	case Int64:
		return 8
	}
	return 0
}

// Supported reports whether tensors of this type can be held in a Tensor.
func (d DType) Supported() bool { return d.Size() > 0 }

// Shape is a list of dimension sizes; a scalar has an empty shape.
type Shape []int

// Size returns the number of elements (1 for a scalar).
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether two shapes are identical.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of the shape.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Strides returns row-major element strides.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Tensor is a dense row-major tensor. Exactly one backing slice, the one that
// matches DType, is in use: F32 for Float32, U8 for Uint8 and Bool, I8 for
// Int8, I32 for Int32, I64 for Int64.
type Tensor struct {
	DType DType
	Shape Shape
	F32   []float32
	U8    []uint8
	I8    []int8
	I32   []int32
	I64   []int64
}

// New returns a zero-filled tensor. It panics on an unsupported type; callers
// that handle untrusted input check DType.Supported first.
func New(dt DType, shape Shape) *Tensor {
	t := &Tensor{DType: dt, Shape: shape.Clone()}
	n := shape.Size()
	switch dt {
	case Float32:
		t.F32 = make([]float32, n)
	case Uint8, Bool:
		t.U8 = make([]uint8, n)
	case Int8:
		t.I8 = make([]int8, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Int64:
		t.I64 = make([]int64, n)
	default:
		panic(fmt.Sprintf("tensor.New: unsupported type %v", dt))
	}
	return t
}

// FromFloat32 wraps data (not copied) as a float32 tensor of the given shape.
func FromFloat32(shape Shape, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape.Clone(), F32: data}
}

// FromUint8 wraps data (not copied) as a uint8 tensor.
func FromUint8(shape Shape, data []uint8) *Tensor {
	return &Tensor{DType: Uint8, Shape: shape.Clone(), U8: data}
}

// FromInt8 wraps data (not copied) as an int8 tensor.
func FromInt8(shape Shape, data []int8) *Tensor {
	return &Tensor{DType: Int8, Shape: shape.Clone(), I8: data}
}

// FromInt32 wraps data (not copied) as an int32 tensor.
func FromInt32(shape Shape, data []int32) *Tensor {
	return &Tensor{DType: Int32, Shape: shape.Clone(), I32: data}
}

// FromInt64 wraps data (not copied) as an int64 tensor.
func FromInt64(shape Shape, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape.Clone(), I64: data}
}

// ScalarFloat32 returns a rank-0 float32 tensor.
func ScalarFloat32(v float32) *Tensor { return FromFloat32(nil, []float32{v}) }

// Len returns the number of elements in the backing slice.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Uint8, Bool:
		return len(t.U8)
	case Int8:
		return len(t.I8)
	case Int32:
		return len(t.I32)
	case Int64:
		return len(t.I64)
	}
	return 0
}

// Bytes returns the size of the data in bytes.
func (t *Tensor) Bytes() int { return t.Len() * t.DType.Size() }

// Validate checks that the backing slice matches the type and shape.
func (t *Tensor) Validate() error {
	if !t.DType.Supported() {
		return fmt.Errorf("unsupported element type %v", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	if t.Len() != t.Shape.Size() {
		return fmt.Errorf("%v tensor of shape %v has %d elements, want %d", t.DType, t.Shape, t.Len(), t.Shape.Size())
	}
	return nil
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone()}
	if t.F32 != nil {
		c.F32 = append([]float32(nil), t.F32...)
	}
	if t.U8 != nil {
		c.U8 = append([]uint8(nil), t.U8...)
	}
	if t.I8 != nil {
		c.I8 = append([]int8(nil), t.I8...)
	}
	if t.I32 != nil {
		c.I32 = append([]int32(nil), t.I32...)
	}
	if t.I64 != nil {
		c.I64 = append([]int64(nil), t.I64...)
	}
	return c
}

// Reshaped returns a tensor sharing t's data with a new shape of equal size.
func (t *Tensor) Reshaped(shape Shape) (*Tensor, error) {
	if shape.Size() != t.Shape.Size() {
		return nil, fmt.Errorf("cannot reshape %v to %v", t.Shape, shape)
	}
	c := *t
	c.Shape = shape.Clone()
	return &c, nil
}

// Float64At returns element i converted to float64, whatever the type.
func (t *Tensor) Float64At(i int) float64 {
	switch t.DType {
	case Float32:
		return float64(t.F32[i])
	case Uint8, Bool:
		return float64(t.U8[i])
	case Int8:
		return float64(t.I8[i])
	case Int32:
		return float64(t.I32[i])
	case Int64:
		return float64(t.I64[i])
	}
	return 0
}

// Int64s returns the elements of an integer tensor as int64 (copying).
func (t *Tensor) Int64s() ([]int64, error) {
	out := make([]int64, t.Len())
	switch t.DType {
	case Int64:
		copy(out, t.I64)
	case Int32:
		for i, v := range t.I32 {
			out[i] = int64(v)
		}
	case Uint8, Bool:
		for i, v := range t.U8 {
			out[i] = int64(v)
		}
	case Int8:
		for i, v := range t.I8 {
			out[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("want an integer tensor, have %v", t.DType)
	}
	return out, nil
}

// Equal reports whether two tensors have the same type, shape and bits.
func (t *Tensor) Equal(o *Tensor) bool {
	if t.DType != o.DType || !t.Shape.Equal(o.Shape) || t.Len() != o.Len() {
		return false
	}
	switch t.DType {
	case Float32:
		for i := range t.F32 {
			if t.F32[i] != o.F32[i] && !(t.F32[i] != t.F32[i] && o.F32[i] != o.F32[i]) {
				return false
			}
		}
	case Uint8, Bool:
		return string(t.U8) == string(o.U8)
	case Int8:
		for i := range t.I8 {
			if t.I8[i] != o.I8[i] {
				return false
			}
		}
	case Int32:
		for i := range t.I32 {
			if t.I32[i] != o.I32[i] {
				return false
			}
		}
	case Int64:
		for i := range t.I64 {
			if t.I64[i] != o.I64[i] {
				return false
			}
		}
	}
	return true
}

// ArgMax returns the index of the largest value of a float32 slice (the first
// one on ties; NaN never wins).
func ArgMax(v []float32) int {
	best := -1
	for i, x := range v {
		if x != x {
			continue
		}
		if best < 0 || x > v[best] {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return best
}
