package transforms

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/dataset"
)

// TestDatasetBadSamples checks that a corrupt image, a truncated TFRecord
// and a label out of range are listed on the split and the rest is kept.
func TestDatasetBadSamples(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	img := buf.Bytes()
	var rec []byte
	for i, label := range []int64{1, 2, 7, 0} {
		enc := img
		if i == 1 {
			enc = []byte("corrupt")
		}
		rec = dataset.AppendTFRecord(rec, dataset.AppendExample(nil, enc, label))
	}
	last := dataset.AppendTFRecord(nil, dataset.AppendExample(nil, img, 3))
	rec = append(rec, last[:len(last)-10]...)
	if err := os.MkdirAll(filepath.Join(dir, "tf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tf/a.tfrecord": rec, "tf/b.tfrecord": dataset.AppendTFRecord(nil, dataset.AppendExample(nil, img, 4)), "m.onnx": nil} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `
datasets:
  tf:
    format: tfrecord
    classes: 5
    location: ` + dir + `/tf
    files: ["*.tfrecord"]
    split: {calibration: 2}
models:
  - {name: m, file: ` + dir + `/m.onnx, dataset: tf}
`
	task := zooTasks(t, manifest, ZooOptions{RunID: t.Name()})[0]
	ctx := context.Background()
	calib, err := split(ctx, &task, SplitCalibration)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := split(ctx, &task, SplitEvaluation)
	if err != nil {
		t.Fatal(err)
	}
	// Canonical order: a#0 (1), a#1 (corrupt), | a#2 (7: out of range), a#3 (0), a#4 (truncated), b#0 (4).
	if calib.len() != 1 || calib.id(0) != "a.tfrecord#0" || len(calib.bad) != 1 || !strings.Contains(calib.bad[0].Err, "image") {
		t.Fatalf("calibration: %v %+v", calib.ids, calib.bad)
	}
	if eval.len() != 2 || eval.id(0) != "a.tfrecord#3" || eval.id(1) != "b.tfrecord#0" || eval.labels[1] != 4 {
		t.Fatalf("evaluation: %v %v", eval.ids, eval.labels)
	}
	want := []string{"a.tfrecord#2:outside [0,5)", "a.tfrecord#4:truncated"}
	if len(eval.bad) != len(want) {
		t.Fatalf("evaluation bad: %+v", eval.bad)
	}
	for i, w := range want {
		id, msg, _ := strings.Cut(w, ":")
		if eval.bad[i].ID != id || !strings.Contains(eval.bad[i].Err, msg) {
			t.Errorf("bad[%d] = %+v, want %s", i, eval.bad[i], w)
		}
	}
	im, err := eval.image(1)
	if err != nil || im.W != 4 || im.C != 1 {
		t.Fatalf("image: %+v %v", im, err)
	}
	sub := eval.subset([]int{1})
	if sub.len() != 1 || sub.id(0) != "b.tfrecord#0" || sub.labels[0] != 4 {
		t.Fatalf("subset: %v %v", sub.ids, sub.labels)
	}
	if _, err := sub.image(0); err != nil {
		t.Fatal(err)
	}
}
