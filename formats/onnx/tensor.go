package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

// ONNX element type codes that are converted on load but have no tensor.DType.
const (
	typeFloat16 = int32(onnxpb.TensorProto_FLOAT16)
	typeDouble  = int32(onnxpb.TensorProto_DOUBLE)
)

// DecodeTensor decodes one serialized ONNX TensorProto, such as the
// input_*.pb and output_*.pb files of the ONNX test data sets, and returns
// the tensor and the name stored with it (possibly empty).
func DecodeTensor(data []byte) (*tensor.Tensor, string, error) {
	var tp onnxpb.TensorProto
	if err := unmarshal(data, &tp); err != nil {
		return nil, "", fmt.Errorf("onnx: tensor: %w: %v", ErrInvalid, err)
	}
	t, err := tensorFromProto(&tp)
	if err != nil {
		return nil, tp.GetName(), fmt.Errorf("onnx: %s: %w", tensorLabel(tp.GetName()), err)
	}
	return t, tp.GetName(), nil
}

// EncodeTensor serializes t as an ONNX TensorProto named name, with its data
// in raw_data. The output is deterministic.
func EncodeTensor(t *tensor.Tensor, name string) ([]byte, error) {
	tp, err := tensorToProto(t, name)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", tensorLabel(name), err)
	}
	return marshal(tp)
}

func tensorLabel(name string) string {
	if name == "" {
		return "unnamed tensor"
	}
	return fmt.Sprintf("tensor %q", name)
}

// typeName names an ONNX element type code for messages ("FLOAT16", or the
// number when the code is unknown).
func typeName(code int32) string {
	if n, ok := onnxpb.TensorProto_DataType_name[code]; ok {
		return n
	}
	return fmt.Sprintf("data type %d", code)
}

// tensorFromProto converts a TensorProto. Errors do not name the tensor; the
// caller adds where it sits.
func tensorFromProto(tp *onnxpb.TensorProto) (*tensor.Tensor, error) {
	code := tp.GetDataType()
	if tp.GetDataLocation() == int32(onnxpb.TensorProto_EXTERNAL) || len(tp.GetExternalData()) > 0 {
		loc := ""
		for _, kv := range tp.GetExternalData() {
			if kv.GetKey() == "location" {
				loc = fmt.Sprintf(" (in %q)", kv.GetValue())
			}
		}
		return nil, fmt.Errorf("%w: external data%s (use DecodeWithExternal)", ErrUnsupported, loc)
	}
	if loc := tp.GetDataLocation(); loc != int32(onnxpb.TensorProto_DEFAULT) {
		return nil, fmt.Errorf("%w: unknown data_location %d", ErrInvalid, loc)
	}
	if tp.Segment != nil {
		return nil, fmt.Errorf("%w: segmented tensors are not supported", ErrUnsupported)
	}

	var dt tensor.DType
	var rawSize int // bytes per element in raw_data
	switch code {
	case typeFloat16:
		dt, rawSize = tensor.Float32, 2
	case typeDouble:
		dt, rawSize = tensor.Float32, 8
	default:
		dt = tensor.DType(code)
		if code == int32(onnxpb.TensorProto_UNDEFINED) {
			return nil, fmt.Errorf("%w: data type is not set", ErrInvalid)
		}
		if !dt.Supported() {
			return nil, fmt.Errorf("%w: element type %s", ErrUnsupported, typeName(code))
		}
		rawSize = dt.Size()
	}

	shape, n, err := tensorShape(tp.GetDims())
	if err != nil {
		return nil, err
	}

	if tp.RawData != nil || n == 0 && hasNoTypedData(tp) {
		raw := tp.GetRawData()
		// Check the length before allocating: n comes from the dims, which
		// cost the sender nothing, while raw is really there.
		if uint64(len(raw)) != uint64(n)*uint64(rawSize) || n > math.MaxInt/rawSize {
			return nil, fmt.Errorf("%w: raw_data holds %d bytes, %s of shape %v needs %d elements of %d bytes",
				ErrInvalid, len(raw), typeName(code), shape, n, rawSize)
		}
		return fromRaw(code, dt, shape, n, raw), nil
	}
	return fromTyped(tp, code, dt, shape, n)
}

func hasNoTypedData(tp *onnxpb.TensorProto) bool {
	return len(tp.FloatData) == 0 && len(tp.Int32Data) == 0 && len(tp.Int64Data) == 0 &&
		len(tp.DoubleData) == 0 && len(tp.Uint64Data) == 0 && len(tp.StringData) == 0
}

// tensorShape converts dims, rejecting negative sizes and element counts
// that overflow an int.
func tensorShape(dims []int64) (tensor.Shape, int, error) {
	if len(dims) == 0 {
		return nil, 1, nil
	}
	shape := make(tensor.Shape, len(dims))
	n := 1
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("%w: negative dimension %d in dims %v", ErrInvalid, d, dims)
		}
		if d > math.MaxInt {
			return nil, 0, fmt.Errorf("%w: dimension %d in dims %v is too large", ErrInvalid, d, dims)
		}
		shape[i] = int(d)
	}
	for _, d := range shape {
		if d == 0 {
			return shape, 0, nil
		}
	}
	for _, d := range shape {
		if n > math.MaxInt/d {
			return nil, 0, fmt.Errorf("%w: dims %v have too many elements", ErrInvalid, dims)
		}
		n *= d
	}
	return shape, n, nil
}

func fromRaw(code int32, dt tensor.DType, shape tensor.Shape, n int, raw []byte) *tensor.Tensor {
	t := &tensor.Tensor{DType: dt, Shape: shape}
	le := binary.LittleEndian
	switch code {
	case typeFloat16:
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = halfToFloat32(le.Uint16(raw[2*i:]))
		}
	case typeDouble:
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	default:
		switch dt {
		case tensor.Float32:
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			}
		case tensor.Uint8:
			t.U8 = append(make([]uint8, 0, n), raw...)
		case tensor.Bool:
			t.U8 = make([]uint8, n)
			for i, b := range raw {
				if b != 0 {
					t.U8[i] = 1
				}
			}
		case tensor.Int8:
			t.I8 = make([]int8, n)
			for i, b := range raw {
				t.I8[i] = int8(b)
			}
		case tensor.Int32:
			t.I32 = make([]int32, n)
			for i := range t.I32 {
				t.I32[i] = int32(le.Uint32(raw[4*i:]))
			}
		case tensor.Int64:
			t.I64 = make([]int64, n)
			for i := range t.I64 {
				t.I64[i] = int64(le.Uint64(raw[8*i:]))
			}
		}
	}
	return t
}

// fromTyped reads the type-specific repeated field. Its length must equal the
// element count, so allocations never exceed what the input holds.
func fromTyped(tp *onnxpb.TensorProto, code int32, dt tensor.DType, shape tensor.Shape, n int) (*tensor.Tensor, error) {
	t := &tensor.Tensor{DType: dt, Shape: shape}
	count := func(field string, have int) error {
		if have != n {
			if have == 0 && hasNoTypedData(tp) {
				return fmt.Errorf("%w: %s of shape %v has no data (want %d elements)", ErrInvalid, typeName(code), shape, n)
			}
			return fmt.Errorf("%w: %s of shape %v has %d values in %s, want %d", ErrInvalid, typeName(code), shape, have, field, n)
		}
		return nil
	}
	switch code {
	case typeFloat16:
		src := tp.GetInt32Data()
		if err := count("int32_data", len(src)); err != nil {
			return nil, err
		}
		t.F32 = make([]float32, n)
		for i, v := range src {
			t.F32[i] = halfToFloat32(uint16(v))
		}
		return t, nil
	case typeDouble:
		src := tp.GetDoubleData()
		if err := count("double_data", len(src)); err != nil {
			return nil, err
		}
		t.F32 = make([]float32, n)
		for i, v := range src {
			t.F32[i] = float32(v)
		}
		return t, nil
	}
	switch dt {
	case tensor.Float32:
		src := tp.GetFloatData()
		if err := count("float_data", len(src)); err != nil {
			return nil, err
		}
		t.F32 = append(make([]float32, 0, n), src...)
	case tensor.Int64:
		src := tp.GetInt64Data()
		if err := count("int64_data", len(src)); err != nil {
			return nil, err
		}
		t.I64 = append(make([]int64, 0, n), src...)
	case tensor.Int32:
		src := tp.GetInt32Data()
		if err := count("int32_data", len(src)); err != nil {
			return nil, err
		}
		t.I32 = append(make([]int32, 0, n), src...)
	case tensor.Uint8, tensor.Bool:
		src := tp.GetInt32Data()
		if err := count("int32_data", len(src)); err != nil {
			return nil, err
		}
		t.U8 = make([]uint8, n)
		for i, v := range src {
			switch {
			case dt == tensor.Bool:
				if v != 0 {
					t.U8[i] = 1
				}
			case v < 0 || v > math.MaxUint8:
				return nil, fmt.Errorf("%w: UINT8 value %d at index %d is out of range", ErrInvalid, v, i)
			default:
				t.U8[i] = uint8(v)
			}
		}
	case tensor.Int8:
		src := tp.GetInt32Data()
		if err := count("int32_data", len(src)); err != nil {
			return nil, err
		}
		t.I8 = make([]int8, n)
		for i, v := range src {
			if v < math.MinInt8 || v > math.MaxInt8 {
				return nil, fmt.Errorf("%w: INT8 value %d at index %d is out of range", ErrInvalid, v, i)
			}
			t.I8[i] = int8(v)
		}
	}
	return t, nil
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = frac * 2^-24, normal in float32.
	v := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// tensorToProto serializes t with raw_data.
func tensorToProto(t *tensor.Tensor, name string) (*onnxpb.TensorProto, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil tensor", ErrInvalid)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	raw := make([]byte, t.Bytes())
	le := binary.LittleEndian
	switch t.DType {
	case tensor.Float32:
		for i, v := range t.F32 {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case tensor.Uint8, tensor.Bool:
		copy(raw, t.U8)
	case tensor.Int8:
		for i, v := range t.I8 {
			raw[i] = byte(v)
		}
	case tensor.Int32:
		for i, v := range t.I32 {
			le.PutUint32(raw[4*i:], uint32(v))
		}
	case tensor.Int64:
		for i, v := range t.I64 {
			le.PutUint64(raw[8*i:], uint64(v))
		}
	}
	tp := &onnxpb.TensorProto{
		Dims:     dims,
		DataType: proto.Int32(int32(t.DType)),
		RawData:  raw,
	}
	if name != "" {
		tp.Name = proto.String(name)
	}
	return tp, nil
}
