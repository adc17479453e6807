package tfgraph

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/tensor"
)

// maxFill bounds the elements of a constant whose typed values are fewer
// than its shape implies. TensorFlow repeats the last value to fill such a
// tensor, so a few bytes can describe a huge one; beyond this size the
// constant is rejected rather than allocated.
const maxFill = 1 << 24

// dtypeOf maps a TensorFlow element type to the type eightbit holds it as.
// DT_DOUBLE, DT_HALF and DT_BFLOAT16 become float32, DT_INT16 and
// DT_UINT16 int32, and the quantized types their storage types.
func dtypeOf(dt tfpb.DataType) (tensor.DType, error) {
	if dt > 100 {
		dt -= 100 // reference types hold the same elements
	}
	switch dt {
	case tfpb.DataType_DT_FLOAT, tfpb.DataType_DT_DOUBLE, tfpb.DataType_DT_HALF, tfpb.DataType_DT_BFLOAT16:
		return tensor.Float32, nil
	case tfpb.DataType_DT_INT32, tfpb.DataType_DT_INT16, tfpb.DataType_DT_UINT16, tfpb.DataType_DT_QINT32:
		return tensor.Int32, nil
	case tfpb.DataType_DT_INT64:
		return tensor.Int64, nil
	case tfpb.DataType_DT_UINT8, tfpb.DataType_DT_QUINT8:
		return tensor.Uint8, nil
	case tfpb.DataType_DT_INT8, tfpb.DataType_DT_QINT8:
		return tensor.Int8, nil
	case tfpb.DataType_DT_BOOL:
		return tensor.Bool, nil
	}
	return tensor.Undefined, fmt.Errorf("%w: element type %v", ErrUnsupported, dt)
}

// shapeOf reads a TensorShapeProto: nil for an unknown rank, -1 for an
// unknown dimension.
func shapeOf(sp *tfpb.TensorShapeProto) ([]int, error) {
	if sp == nil || sp.GetUnknownRank() {
		return nil, nil
	}
	if len(sp.GetDim()) > 32 {
		return nil, fmt.Errorf("%w: shape of rank %d", ErrInvalid, len(sp.GetDim()))
	}
	s := make([]int, len(sp.GetDim()))
	for i, d := range sp.GetDim() {
		v := d.GetSize()
		if v < -1 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: dimension %d of a shape is %d", ErrInvalid, i, v)
		}
		s[i] = int(v)
	}
	return s, nil
}

// elements returns the number of elements of a fully known shape, failing
// on overflow.
func elements(s []int) (int, error) {
	n := 1
	for _, d := range s {
		if d < 0 {
			return 0, fmt.Errorf("%w: shape %v is not fully known", ErrInvalid, s)
		}
		if d != 0 && n > math.MaxInt32/d {
			return 0, fmt.Errorf("%w: shape %v has too many elements", ErrInvalid, s)
		}
		n *= d
	}
	return n, nil
}

// tensorOf converts a constant TensorProto. The element count implied by the
// shape is checked against the data present before anything is allocated.
func tensorOf(tp *tfpb.TensorProto) (*tensor.Tensor, error) {
	dt, err := dtypeOf(tp.GetDtype())
	if err != nil {
		return nil, err
	}
	if tp.GetTensorShape().GetUnknownRank() {
		return nil, fmt.Errorf("%w: constant of unknown rank", ErrInvalid)
	}
	shape, err := shapeOf(tp.GetTensorShape())
	if err != nil {
		return nil, err
	}
	n, err := elements(shape)
	if err != nil {
		return nil, err
	}
	src := tp.GetDtype()
	if content := tp.GetTensorContent(); len(content) > 0 {
		size := wireSize(src)
		if size == 0 {
			return nil, fmt.Errorf("%w: tensor_content of element type %v", ErrUnsupported, src)
		}
		if len(content) != n*size {
			return nil, fmt.Errorf("%w: tensor_content has %d bytes, shape %v of %v needs %d", ErrInvalid, len(content), shape, src, n*size)
		}
		t := tensor.New(dt, tensor.Shape(shape))
		for i := 0; i < n; i++ {
			b := content[i*size : (i+1)*size]
			switch src {
			case tfpb.DataType_DT_FLOAT:
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b))
			case tfpb.DataType_DT_DOUBLE:
				t.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			case tfpb.DataType_DT_HALF:
				t.F32[i] = halfToFloat(binary.LittleEndian.Uint16(b))
			case tfpb.DataType_DT_BFLOAT16:
				t.F32[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
			case tfpb.DataType_DT_INT32, tfpb.DataType_DT_QINT32:
				t.I32[i] = int32(binary.LittleEndian.Uint32(b))
			case tfpb.DataType_DT_INT16:
				t.I32[i] = int32(int16(binary.LittleEndian.Uint16(b)))
			case tfpb.DataType_DT_UINT16:
				t.I32[i] = int32(binary.LittleEndian.Uint16(b))
			case tfpb.DataType_DT_INT64:
				t.I64[i] = int64(binary.LittleEndian.Uint64(b))
			case tfpb.DataType_DT_UINT8, tfpb.DataType_DT_QUINT8, tfpb.DataType_DT_BOOL:
				t.U8[i] = b[0]
			case tfpb.DataType_DT_INT8, tfpb.DataType_DT_QINT8:
				t.I8[i] = int8(b[0])
			}
		}
		if dt == tensor.Bool {
			for i, v := range t.U8 {
				if v > 1 {
					t.U8[i] = 1
				}
			}
		}
		return t, nil
	}

	// Typed values: fewer than n repeat the last one; none means zeros.
	var count int
	var at func(i int) float64
	var atInt func(i int) int64
	switch src {
	case tfpb.DataType_DT_FLOAT:
		v := tp.GetFloatVal()
		count, at = len(v), func(i int) float64 { return float64(v[i]) }
	case tfpb.DataType_DT_DOUBLE:
		v := tp.GetDoubleVal()
		count, at = len(v), func(i int) float64 { return v[i] }
	case tfpb.DataType_DT_HALF:
		v := tp.GetHalfVal()
		count, at = len(v), func(i int) float64 { return float64(halfToFloat(uint16(v[i]))) }
	case tfpb.DataType_DT_BFLOAT16:
		v := tp.GetHalfVal()
		count, at = len(v), func(i int) float64 { return float64(math.Float32frombits(uint32(uint16(v[i])) << 16)) }
	case tfpb.DataType_DT_INT32, tfpb.DataType_DT_INT16, tfpb.DataType_DT_UINT16, tfpb.DataType_DT_UINT8,
		tfpb.DataType_DT_INT8, tfpb.DataType_DT_QINT8, tfpb.DataType_DT_QUINT8, tfpb.DataType_DT_QINT32:
		v := tp.GetIntVal()
		count, atInt = len(v), func(i int) int64 { return int64(v[i]) }
	case tfpb.DataType_DT_INT64:
		v := tp.GetInt64Val()
		count, atInt = len(v), func(i int) int64 { return v[i] }
	case tfpb.DataType_DT_BOOL:
		v := tp.GetBoolVal()
		count, atInt = len(v), func(i int) int64 {
			if v[i] {
				return 1
			}
			return 0
		}
	default:
		return nil, fmt.Errorf("%w: constant of element type %v", ErrUnsupported, src)
	}
	if count > n {
		return nil, fmt.Errorf("%w: %d values for shape %v (%d elements)", ErrInvalid, count, shape, n)
	}
	if count < n && n > maxFill {
		return nil, fmt.Errorf("%w: %d values fill shape %v (%d elements, more than the %d eightbit expands)", ErrUnsupported, count, shape, n, maxFill)
	}
	t := tensor.New(dt, tensor.Shape(shape))
	if count == 0 {
		return t, nil
	}
	for i := 0; i < n; i++ {
		j := min(i, count-1)
		switch dt {
		case tensor.Float32:
			t.F32[i] = float32(at(j))
		case tensor.Int32:
			t.I32[i] = int32(atInt(j))
		case tensor.Int64:
			t.I64[i] = atInt(j)
		case tensor.Uint8, tensor.Bool:
			t.U8[i] = uint8(atInt(j))
		case tensor.Int8:
			t.I8[i] = int8(atInt(j))
		}
	}
	return t, nil
}

// wireSize is the size of one element in tensor_content.
func wireSize(dt tfpb.DataType) int {
	switch dt {
	case tfpb.DataType_DT_FLOAT, tfpb.DataType_DT_INT32, tfpb.DataType_DT_QINT32:
		return 4
	case tfpb.DataType_DT_DOUBLE, tfpb.DataType_DT_INT64:
		return 8
	case tfpb.DataType_DT_HALF, tfpb.DataType_DT_BFLOAT16, tfpb.DataType_DT_INT16, tfpb.DataType_DT_UINT16:
		return 2
	case tfpb.DataType_DT_UINT8, tfpb.DataType_DT_INT8, tfpb.DataType_DT_QUINT8, tfpb.DataType_DT_QINT8, tfpb.DataType_DT_BOOL:
		return 1
	}
	return 0
}

// halfToFloat converts an IEEE 754 half-precision bit pattern.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(frac) / 1024 / 16384
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// attrs reads the attributes of one node, naming it in errors.
type attrs struct {
	node *tfpb.NodeDef
}

func (a attrs) errf(name, format string, args ...any) error {
	return fmt.Errorf("attr %q: "+format, append([]any{name}, args...)...)
}

func (a attrs) has(name string) bool { _, ok := a.node.GetAttr()[name]; return ok }

func (a attrs) str(name, def string) (string, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return def, nil
	}
	s, ok := v.GetValue().(*tfpb.AttrValue_S)
	if !ok {
		return "", a.errf(name, "%w: want a string", ErrInvalid)
	}
	return string(s.S), nil
}

func (a attrs) integer(name string, def int64) (int64, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return def, nil
	}
	i, ok := v.GetValue().(*tfpb.AttrValue_I)
	if !ok {
		return 0, a.errf(name, "%w: want an int", ErrInvalid)
	}
	return i.I, nil
}

func (a attrs) float(name string, def float32) (float32, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return def, nil
	}
	f, ok := v.GetValue().(*tfpb.AttrValue_F)
	if !ok {
		return 0, a.errf(name, "%w: want a float", ErrInvalid)
	}
	return f.F, nil
}

func (a attrs) boolean(name string, def bool) (bool, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return def, nil
	}
	b, ok := v.GetValue().(*tfpb.AttrValue_B)
	if !ok {
		return false, a.errf(name, "%w: want a bool", ErrInvalid)
	}
	return b.B, nil
}

func (a attrs) ints(name string) ([]int64, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return nil, nil
	}
	l, ok := v.GetValue().(*tfpb.AttrValue_List)
	if !ok {
		return nil, a.errf(name, "%w: want a list of ints", ErrInvalid)
	}
	return l.List.GetI(), nil
}

func (a attrs) dtype(name string) (tfpb.DataType, bool, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return 0, false, nil
	}
	t, ok := v.GetValue().(*tfpb.AttrValue_Type)
	if !ok {
		return 0, false, a.errf(name, "%w: want a type", ErrInvalid)
	}
	return t.Type, true, nil
}

func (a attrs) shape(name string) ([]int, bool, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return nil, false, nil
	}
	s, ok := v.GetValue().(*tfpb.AttrValue_Shape)
	if !ok {
		return nil, false, a.errf(name, "%w: want a shape", ErrInvalid)
	}
	sh, err := shapeOf(s.Shape)
	if err != nil {
		return nil, false, a.errf(name, "%w", err)
	}
	return sh, true, nil
}

func (a attrs) tensor(name string) (*tensor.Tensor, error) {
	v, ok := a.node.GetAttr()[name]
	if !ok {
		return nil, a.errf(name, "%w: the attribute is missing", ErrInvalid)
	}
	t, ok := v.GetValue().(*tfpb.AttrValue_Tensor)
	if !ok {
		return nil, a.errf(name, "%w: want a tensor", ErrInvalid)
	}
	tt, err := tensorOf(t.Tensor)
	if err != nil {
		return nil, a.errf(name, "%w", err)
	}
	return tt, nil
}
