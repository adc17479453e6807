package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/internal/zootest"
)

// FuzzDecode checks that Decode and DecodeTensor never panic and that
// whatever Decode accepts encodes, round-trips and encodes deterministically.
func FuzzDecode(f *testing.F) {
	f.Add(mustEncode(f, buildModel(8)))
	f.Add(mustEncode(f, buildModel(3)))
	f.Add(mustMarshal(f, validModel()))
	for _, name := range []string{"w", "i64", "flags"} {
		b, err := EncodeTensor(buildModel(8).Graph.Initializers[name], name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A few small official models, when the shared zoo is there.
	if root := zootest.Root(); root != "" {
		for _, name := range []string{"test_add", "test_constant", "test_quantizelinear", "test_if", "test_cast_FLOAT_to_FLOAT16"} {
			if b, err := os.ReadFile(filepath.Join(root, "onnx-node-tests", "v1.12.0", name, "model.onnx")); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = DecodeTensor(data)
		m, err := Decode(data)
		if err != nil {
			return
		}
		b1, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded model: %v", err)
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("Decode of an encoded model: %v", err)
		}
		if m.IRVersion == 0 {
			m.IRVersion = DefaultIRVersion
		}
		if d := diffModels(m, m2); d != "" {
			t.Fatalf("round trip differs: %s", d)
		}
		b2, err := Encode(m2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
	})
}
