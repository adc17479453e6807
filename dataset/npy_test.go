package dataset

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/tensor"
)

// npyFile builds a .npy file from a header dict and raw data, as
// numpy.save lays it out (version 1.0, header padded to 64 bytes).
func npyFile(header string, data []byte) []byte {
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(header)))
	return append(append(b, header...), data...)
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func TestDecodeNPY(t *testing.T) {
	f32 := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		file      []byte
		dtype     tensor.DType
		shape     tensor.Shape
		want      any
		converted bool
	}{
		{"float32 2x3", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32(0, 1, 2, 3, 4, 5)), tensor.Float32, tensor.Shape{2, 3}, []float32{0, 1, 2, 3, 4, 5}, false},
		{"fortran order", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f32(0, 3, 1, 4, 2, 5)), tensor.Float32, tensor.Shape{2, 3}, []float32{0, 1, 2, 3, 4, 5}, false},
		{"float64", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f64(0.5, -1e10)), tensor.Float32, tensor.Shape{2}, []float32{0.5, -1e10}, true},
		{"float16", npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0xff, 0x7b}), tensor.Float32, tensor.Shape{5},
			[]float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1)), 65504}, true},
		{"big-endian int32", npyFile("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", []byte{0, 0, 0, 7, 0xff, 0xff, 0xff, 0xfe}), tensor.Int32, tensor.Shape{2}, []int32{7, -2}, false},
		{"int64 token ids", npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", append(binary.LittleEndian.AppendUint64(nil, 101), binary.LittleEndian.AppendUint64(nil, 2054)...)), tensor.Int64, tensor.Shape{1, 2}, []int64{101, 2054}, false},
		{"uint16", npyFile("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", []byte{0xff, 0xff, 1, 0}), tensor.Int32, tensor.Shape{2}, []int32{65535, 1}, true},
		{"uint8 image", npyFile("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", []byte{0, 255, 7, 9}), tensor.Uint8, tensor.Shape{1, 1, 2, 2}, []uint8{0, 255, 7, 9}, false},
		{"bool", npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", []byte{1, 0, 1}), tensor.Bool, tensor.Shape{3}, []uint8{1, 0, 1}, false},
		{"scalar", npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", le32(42)), tensor.Int32, tensor.Shape{}, []int32{42}, false},
		{"empty", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", nil), tensor.Float32, tensor.Shape{0, 4}, []float32{}, false},
		{"double quotes, no trailing comma", npyFile(`{"descr": "<i4", "shape": (1,), "fortran_order": False}`, le32(3)), tensor.Int32, tensor.Shape{1}, []int32{3}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := DecodeNPY(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if a.DType != tc.dtype || !a.Shape.Equal(tc.shape) || a.Converted != tc.converted {
				t.Fatalf("got %v %v converted=%v", a.DType, a.Shape, a.Converted)
			}
			var got any
			switch a.DType {
			case tensor.Float32:
				got = a.F32
			case tensor.Int32:
				got = a.I32
			case tensor.Int64:
				got = a.I64
			case tensor.Uint8, tensor.Bool:
				got = a.U8
			}
			if !equalAny(got, tc.want) {
				t.Errorf("values %v, want %v", got, tc.want)
			}
		})
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []float32:
		y := b.([]float32)
		return len(x) == len(y) && slices.EqualFunc(x, y, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
	case []int32:
		return slices.Equal(x, b.([]int32))
	case []int64:
		return slices.Equal(x, b.([]int64))
	case []uint8:
		return slices.Equal(x, b.([]uint8))
	}
	return false
}

func TestDecodeNPYRejects(t *testing.T) {
	good := npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", le32(1, 2))
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"no magic", "no \\x93NUMPY magic", []byte("PK\x03\x04 not npy at all")},
		{"truncated data", "needs 8 data bytes, the file has 7", good[:len(good)-1]},
		{"trailing data", "needs 8 data bytes, the file has 9", append(slices.Clone(good), 0)},
		{"header past the end", "header of", good[:20]},
		{"version 4", "unknown format version 4.0", append([]byte("\x93NUMPY\x04\x00"), good[8:]...)},
		{"structured dtype", "structured", npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", le32(1))},
		{"complex", `type "<c8" is not supported`, npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", le32(1, 2))},
		{"object", `type "|O" is not supported`, npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", []byte{1})},
		{"huge shape", "more than", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", nil)},
		{"negative dim", "bad dimension", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil)},
		{"no shape", "no shape tuple", npyFile("{'descr': '<f4', 'fortran_order': False, }", nil)},
		{"bad fortran", "fortran_order", npyFile("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }", le32(1))},
		{"bool 2", "bool value 2", npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", []byte{2})},
		{"not a dict", "not a dict", npyFile("descr=<f4", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNPY(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrFormat) {
				t.Errorf("error %v, want ErrFormat containing %q", err, tc.want)
			}
		})
	}
}

func npzFile(t *testing.T, method uint16, members map[string][]byte, order []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range order {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(members[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNPYRoundTripAndNPZ(t *testing.T) {
	ids := tensor.FromInt64(tensor.Shape{1, 3}, []int64{5, 6, 7})
	feats := tensor.FromFloat32(tensor.Shape{1, 2, 2}, []float32{0.5, -1, 2, 3})
	mask := &tensor.Tensor{DType: tensor.Bool, Shape: tensor.Shape{1, 3}, U8: []uint8{1, 1, 0}}
	members := map[string][]byte{}
	for name, x := range map[string]*tensor.Tensor{"input_ids.npy": ids, "features.npy": feats, "mask.npy": mask} {
		b, err := EncodeNPY(x)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeNPY(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.DType != x.DType || !back.Shape.Equal(x.Shape) || !slices.Equal(back.I64, x.I64) || !slices.Equal(back.F32, x.F32) || !slices.Equal(back.U8, x.U8) {
			t.Errorf("%s: round trip gives %+v", name, back.Tensor)
		}
		if (10+int(binary.LittleEndian.Uint16(b[8:])))%64 != 0 {
			t.Errorf("%s: header not padded to 64 bytes", name)
		}
		members[name] = b
	}
	order := []string{"input_ids.npy", "mask.npy", "features.npy"}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		entries, err := DecodeNPZ(npzFile(t, method, members, order))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, []string{"input_ids", "mask", "features"}) || !slices.Equal(entries[0].Array.I64, ids.I64) {
			t.Errorf("method %d: entries %v", method, names)
		}
	}
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"not zip", "npz:", []byte("nope")},
		{"empty", "no arrays", npzFile(t, zip.Store, nil, nil)},
		{"other member", `member "x.txt" is not a .npy file`, npzFile(t, zip.Store, map[string][]byte{"x.txt": []byte("hi")}, []string{"x.txt"})},
		{"bad member", `npz member "a.npy"`, npzFile(t, zip.Store, map[string][]byte{"a.npy": []byte("junk")}, []string{"a.npy"})},
	} {
		if _, err := DecodeNPZ(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want ErrFormat containing %q", tc.name, err, tc.want)
		}
	}
}

func FuzzDecodeNPY(f *testing.F) {
	f.Add(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", le32(1, 2, 3, 4)))
	f.Add(npyFile("{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)))
	f.Add(npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (), }", []byte{0, 0x3c}))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeNPY(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if a.Len() != a.Shape.Size() {
			t.Fatalf("%d values for shape %v", a.Len(), a.Shape)
		}
	})
}

func FuzzDecodeNPZ(f *testing.F) {
	b, _ := EncodeNPY(tensor.FromFloat32(tensor.Shape{2}, []float32{1, 2}))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x.npy")
	w.Write(b)
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := DecodeNPZ(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if len(entries) == 0 {
			t.Fatal("no entries and no error")
		}
	})
}
