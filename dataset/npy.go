package dataset

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/tensor"
)

// NumPy arrays: .npy files (numpy.save) and .npz archives (numpy.savez,
// numpy.savez_compressed). Format: docs of numpy.lib.format: the magic
// "\x93NUMPY", a version (1.0, 2.0 or 3.0), a little-endian header length
// (uint16 in 1.0, uint32 after), an ASCII (UTF-8 in 3.0) Python dict
// literal with 'descr', 'fortran_order' and 'shape', padding, then the
// data.

// MaxArrayElements bounds the element count of one decoded array (2^28,
// 1 GiB of float32), so that a header claiming a huge shape is an error
// rather than an allocation.
const MaxArrayElements = 1 << 28

// NPYArray is a decoded array. Types map to the tensor types eightbit
// computes with: float32 stays, float16 and float64 become float32
// (Converted says so), int64 stays, int32, int16 and uint16 become int32,
// uint32 becomes int64, int8, uint8 and bool stay.
type NPYArray struct {
	*tensor.Tensor
	// Descr is NumPy's type string as written ("<f4", "|u1", ...).
	Descr string
	// Converted is set when the values were converted to another type.
	Converted bool
}

// DecodeNPY decodes one .npy file.
func DecodeNPY(data []byte) (*NPYArray, error) {
	descr, fortran, shape, body, err := npyHeader(data)
	if err != nil {
		return nil, err
	}
	a, err := npyData(descr, shape, body)
	if err != nil {
		return nil, err
	}
	if fortran && len(shape) > 1 {
		a.Tensor = fortranToC(a.Tensor)
	}
	return a, nil
}

func npyHeader(data []byte) (descr string, fortran bool, shape []int, body []byte, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: npy: "+format, append([]any{ErrFormat}, args...)...)
	}
	if len(data) < 10 || string(data[:6]) != "\x93NUMPY" {
		return "", false, nil, nil, bad("not a .npy file (no \\x93NUMPY magic)")
	}
	major := data[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return "", false, nil, nil, bad("truncated header")
		}
		l := binary.LittleEndian.Uint32(data[8:12])
		if l > 1<<20 {
			return "", false, nil, nil, bad("header of %d bytes", l)
		}
		hlen, off = int(l), 12
	default:
		return "", false, nil, nil, bad("unknown format version %d.%d", major, data[7])
	}
	if off+hlen > len(data) {
		return "", false, nil, nil, bad("header of %d bytes in a %d-byte file", hlen, len(data))
	}
	h := strings.TrimSpace(string(data[off : off+hlen]))
	fields, perr := parsePyDict(h)
	if perr != nil {
		return "", false, nil, nil, bad("header %q: %v", h, perr)
	}
	d, ok := fields["descr"]
	if !ok || !strings.HasPrefix(d, "'") {
		return "", false, nil, nil, bad("header %q: no descr string (structured arrays are not supported)", h)
	}
	descr = strings.Trim(d, "'")
	switch fields["fortran_order"] {
	case "True":
		fortran = true
	case "False":
	default:
		return "", false, nil, nil, bad("header %q: fortran_order is not True or False", h)
	}
	s, ok := fields["shape"]
	if !ok || !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return "", false, nil, nil, bad("header %q: no shape tuple", h)
	}
	n := 1
	for _, part := range strings.Split(strings.Trim(s, "()"), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(part, "L"))
		if err != nil || v < 0 {
			return "", false, nil, nil, bad("header %q: bad dimension %q", h, part)
		}
		if v > 0 && n > MaxArrayElements/v {
			return "", false, nil, nil, bad("shape %s has more than %d elements", s, MaxArrayElements)
		}
		n *= v
		shape = append(shape, v)
	}
	return descr, fortran, shape, data[off+hlen:], nil
}

// parsePyDict parses the flat dict literal of a .npy header: string keys,
// values that are strings, True/False, or tuples of integers.
func parsePyDict(s string) (map[string]string, error) {
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("not a dict")
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	out := map[string]string{}
	for s != "" {
		if s[0] != '\'' && s[0] != '"' {
			return nil, fmt.Errorf("key at %q is not a string", s)
		}
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return nil, fmt.Errorf("unterminated key")
		}
		key := s[1 : 1+end]
		s = strings.TrimSpace(s[2+end:])
		if !strings.HasPrefix(s, ":") {
			return nil, fmt.Errorf("no ':' after key %q", key)
		}
		s = strings.TrimSpace(s[1:])
		var val string
		switch {
		case s == "":
			return nil, fmt.Errorf("no value for key %q", key)
		case s[0] == '\'' || s[0] == '"':
			q := s[0]
			e := strings.IndexByte(s[1:], q)
			if e < 0 {
				return nil, fmt.Errorf("unterminated value of %q", key)
			}
			val, s = "'"+s[1:1+e]+"'", s[2+e:]
		case s[0] == '(':
			e := strings.IndexByte(s, ')')
			if e < 0 {
				return nil, fmt.Errorf("unterminated tuple of %q", key)
			}
			val, s = s[:e+1], s[e+1:]
		case s[0] == '[':
			return nil, fmt.Errorf("value of %q is a list (structured dtype)", key)
		default:
			e := strings.IndexAny(s, ",}")
			if e < 0 {
				e = len(s)
			}
			val, s = strings.TrimSpace(s[:e]), s[e:]
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("key %q twice", key)
		}
		out[key] = val
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, ",") {
			s = strings.TrimSpace(s[1:])
		} else if s != "" {
			return nil, fmt.Errorf("junk %q after value of %q", s, key)
		}
	}
	return out, nil
}

func npyData(descr string, shape []int, body []byte) (*NPYArray, error) {
	if len(descr) < 3 {
		return nil, fmt.Errorf("%w: npy: type %q is not supported", ErrFormat, descr)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch descr[0] {
	case '<', '|', '=':
	case '>':
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: npy: type %q is not supported", ErrFormat, descr)
	}
	kind, size := descr[1], descr[2:]
	n := tensor.Shape(shape).Size()
	width, err := strconv.Atoi(size)
	if err != nil || width <= 0 {
		return nil, fmt.Errorf("%w: npy: type %q is not supported", ErrFormat, descr)
	}
	if len(body) != n*width {
		return nil, fmt.Errorf("%w: npy: %v %s needs %d data bytes, the file has %d", ErrFormat, shape, descr, n*width, len(body))
	}
	a := &NPYArray{Descr: descr}
	u16 := func(i int) uint16 { return order.Uint16(body[2*i:]) }
	u32 := func(i int) uint32 { return order.Uint32(body[4*i:]) }
	u64 := func(i int) uint64 { return order.Uint64(body[8*i:]) }
	switch {
	case kind == 'f' && width == 4:
		a.Tensor = tensor.New(tensor.Float32, shape)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(u32(i))
		}
	case kind == 'f' && width == 8:
		a.Tensor, a.Converted = tensor.New(tensor.Float32, shape), true
		for i := range a.F32 {
			a.F32[i] = float32(math.Float64frombits(u64(i)))
		}
	case kind == 'f' && width == 2:
		a.Tensor, a.Converted = tensor.New(tensor.Float32, shape), true
		for i := range a.F32 {
			a.F32[i] = halfToFloat(u16(i))
		}
	case kind == 'i' && width == 8:
		a.Tensor = tensor.New(tensor.Int64, shape)
		for i := range a.I64 {
			a.I64[i] = int64(u64(i))
		}
	case kind == 'i' && width == 4:
		a.Tensor = tensor.New(tensor.Int32, shape)
		for i := range a.I32 {
			a.I32[i] = int32(u32(i))
		}
	case kind == 'i' && width == 2, kind == 'u' && width == 2:
		a.Tensor, a.Converted = tensor.New(tensor.Int32, shape), true
		for i := range a.I32 {
			if kind == 'i' {
				a.I32[i] = int32(int16(u16(i)))
			} else {
				a.I32[i] = int32(u16(i))
			}
		}
	case kind == 'u' && width == 4:
		a.Tensor, a.Converted = tensor.New(tensor.Int64, shape), true
		for i := range a.I64 {
			a.I64[i] = int64(u32(i))
		}
	case kind == 'u' && width == 8:
		a.Tensor, a.Converted = tensor.New(tensor.Int64, shape), true
		for i := range a.I64 {
			v := u64(i)
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("%w: npy: uint64 value %d at %d does not fit int64", ErrFormat, v, i)
			}
			a.I64[i] = int64(v)
		}
	case kind == 'i' && width == 1:
		a.Tensor = tensor.New(tensor.Int8, shape)
		for i := range a.I8 {
			a.I8[i] = int8(body[i])
		}
	case kind == 'u' && width == 1:
		a.Tensor = tensor.New(tensor.Uint8, shape)
		copy(a.U8, body)
	case kind == 'b' && width == 1:
		a.Tensor = tensor.New(tensor.Bool, shape)
		for i, b := range body {
			if b > 1 {
				return nil, fmt.Errorf("%w: npy: bool value %d at %d", ErrFormat, b, i)
			}
			a.U8[i] = b
		}
	default:
		return nil, fmt.Errorf("%w: npy: type %q is not supported (have float16/32/64, int8/16/32/64, uint8/16/32/64, bool)", ErrFormat, descr)
	}
	return a, nil
}

// halfToFloat converts IEEE binary16 bits to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// fortranToC reorders a column-major tensor into row-major order.
func fortranToC(t *tensor.Tensor) *tensor.Tensor {
	shape := t.Shape
	out := tensor.New(t.DType, shape)
	n := shape.Size()
	idx := make([]int, len(shape))
	strides := shape.Strides() // C strides
	for f := 0; f < n; f++ {
		// f enumerates elements in Fortran order: the first index fastest.
		c := 0
		for d := range idx {
			c += idx[d] * strides[d]
		}
		copyElem(out, c, t, f)
		for d := 0; d < len(idx); d++ {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

func copyElem(dst *tensor.Tensor, di int, src *tensor.Tensor, si int) {
	switch src.DType {
	case tensor.Float32:
		dst.F32[di] = src.F32[si]
	case tensor.Uint8, tensor.Bool:
		dst.U8[di] = src.U8[si]
	case tensor.Int8:
		dst.I8[di] = src.I8[si]
	case tensor.Int32:
		dst.I32[di] = src.I32[si]
	case tensor.Int64:
		dst.I64[di] = src.I64[si]
	}
}

// NPZEntry is one array of an .npz archive: its name (the member's file
// name without ".npy") and value.
type NPZEntry struct {
	Name  string
	Array *NPYArray
}

// MaxNPZBytes bounds the uncompressed size of one .npz member (1 GiB).
const MaxNPZBytes = 1 << 30

// DecodeNPZ decodes an .npz archive (stored or deflated members) into its
// arrays, in archive order.
func DecodeNPZ(data []byte) ([]NPZEntry, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: npz: %v", ErrFormat, err)
	}
	var out []NPZEntry
	seen := map[string]bool{}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, fmt.Errorf("%w: npz: member %q is not a .npy file", ErrFormat, f.Name)
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		if seen[name] {
			return nil, fmt.Errorf("%w: npz: array %q twice", ErrFormat, name)
		}
		seen[name] = true
		if f.UncompressedSize64 > MaxNPZBytes {
			return nil, fmt.Errorf("%w: npz: member %q of %d bytes", ErrFormat, f.Name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: npz: member %q: %v", ErrFormat, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxNPZBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: npz: member %q: %v", ErrFormat, f.Name, err)
		}
		if len(b) > MaxNPZBytes {
			return nil, fmt.Errorf("%w: npz: member %q is larger than %d bytes", ErrFormat, f.Name, MaxNPZBytes)
		}
		a, err := DecodeNPY(b)
		if err != nil {
			return nil, fmt.Errorf("npz member %q: %w", f.Name, err)
		}
		out = append(out, NPZEntry{Name: name, Array: a})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: npz: no arrays", ErrFormat)
	}
	return out, nil
}

// EncodeNPY writes t as a version 1.0 little-endian .npy file (float32,
// uint8, int8, int32, int64, bool), as numpy.save does.
func EncodeNPY(t *tensor.Tensor) ([]byte, error) {
	var descr string
	switch t.DType {
	case tensor.Float32:
		descr = "<f4"
	case tensor.Uint8:
		descr = "|u1"
	case tensor.Int8:
		descr = "|i1"
	case tensor.Int32:
		descr = "<i4"
	case tensor.Int64:
		descr = "<i8"
	case tensor.Bool:
		descr = "|b1"
	default:
		return nil, fmt.Errorf("npy: cannot write %v", t.DType)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	// Header padded with spaces to a multiple of 64 bytes, ending in '\n'.
	total := 10 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(h)))
	b = append(b, h...)
	switch t.DType {
	case tensor.Float32:
		for _, v := range t.F32 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case tensor.Uint8, tensor.Bool:
		b = append(b, t.U8...)
	case tensor.Int8:
		for _, v := range t.I8 {
			b = append(b, byte(v))
		}
	case tensor.Int32:
		for _, v := range t.I32 {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	case tensor.Int64:
		for _, v := range t.I64 {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b, nil
}
