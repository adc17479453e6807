package transforms

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/internal/badinput"
)

// TestModelDigestCoversExternalData: a model whose weights live in an
// external file gets a digest that changes with that file, so no cache
// (range files, result rows, the process's model cache) reuses what was
// computed from other weights; a model without external data keeps the
// digest of its bytes.
func TestModelDigestCoversExternalData(t *testing.T) {
	dir := t.TempDir()
	model, weights := badinput.ValidExternal()
	os.WriteFile(filepath.Join(dir, "m.onnx"), model, 0o644)
	task := &ModelTask{ZooURL: dir, File: "m.onnx"}
	write := func(b []byte) {
		if err := os.WriteFile(filepath.Join(dir, "weights.bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(weights)
	ctx := context.Background()
	a := modelDigest(ctx, task, model)
	changed := append([]byte(nil), weights...)
	changed[5] ^= 1
	write(changed)
	b := modelDigest(ctx, task, model)
	if a == b || a == digest(model) {
		t.Errorf("digests %s and %s (file alone %s): the external weights are not covered", a, b, digest(model))
	}
	if d := modelDigest(ctx, task, badinput.ValidModel()); d != digest(badinput.ValidModel()) {
		t.Errorf("a model without external data: digest %s, want that of its bytes", d)
	}
}
