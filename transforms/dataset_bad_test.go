package transforms

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/failure"
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
	// The source: a#0 (1), a#1 (corrupt), a#2 (7: out of range), a#3 (0),
	// a#4 (truncated), b#0 (4). The rule split puts two of the six, good or
	// bad, in calibration and the other four in evaluation.
	if calib.len()+len(calib.bad) != 2 || eval.len()+len(eval.bad) != 4 || calib.len()+eval.len() != 3 {
		t.Fatalf("calibration %v %+v, evaluation %v %+v", calib.ids, calib.bad, eval.ids, eval.bad)
	}
	seen := map[string]string{}
	for _, d := range []*labeledImages{calib, eval} {
		for i := 0; i < d.len(); i++ {
			if seen[d.id(i)] != "" {
				t.Fatalf("%s in both splits", d.id(i))
			}
			seen[d.id(i)] = "ok"
		}
		for _, b := range d.bad {
			if seen[b.ID] != "" {
				t.Fatalf("%s in both splits", b.ID)
			}
			seen[b.ID] = b.Err
		}
	}
	for id, msg := range map[string]string{"a.tfrecord#0": "ok", "a.tfrecord#1": "image", "a.tfrecord#2": "outside [0,5)",
		"a.tfrecord#3": "ok", "a.tfrecord#4": "truncated", "b.tfrecord#0": "ok"} {
		if !strings.Contains(seen[id], msg) {
			t.Errorf("%s: %q, want %q", id, seen[id], msg)
		}
	}
	// Read back b#0 (label 4) from whichever split holds it.
	if !slices.Contains(eval.ids, "b.tfrecord#0") {
		eval = calib
	}
	k := slices.Index(eval.ids, "b.tfrecord#0")
	if k < 0 || eval.labels[k] != 4 {
		t.Fatalf("b.tfrecord#0 in neither split's samples: %v %v", eval.ids, eval.labels)
	}
	im, err := eval.image(k)
	if err != nil || im.W != 4 || im.C != 1 {
		t.Fatalf("image: %+v %v", im, err)
	}
	sub := eval.subset([]int{k})
	if sub.len() != 1 || sub.id(0) != "b.tfrecord#0" || sub.labels[0] != 4 {
		t.Fatalf("subset: %v %v", sub.ids, sub.labels)
	}
	if _, err := sub.image(0); err != nil {
		t.Fatal(err)
	}
}

// TestClassSortedFolderBalanced: on an image folder whose canonical order
// is sorted by class, a rule split and the --calib-samples and
// --eval-samples caps give every class its share, not the first classes.
func TestClassSortedFolderBalanced(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 5; c++ {
		cls := filepath.Join(dir, "photos", string(rune('a'+c))+"-class")
		if err := os.MkdirAll(cls, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i++ {
			if err := os.WriteFile(filepath.Join(cls, fmt.Sprintf("%03d.png", i)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := `
datasets:
  photos:
    format: image-folder
    classes: 5
    location: ` + dir + `/photos
    split: {calibration: 50}
models:
  - {name: m, file: ` + dir + `/m.onnx, dataset: photos}
`
	perClass := func(d *labeledImages, idx []int) []int {
		n := make([]int, 5)
		if idx == nil {
			for i := 0; i < d.len(); i++ {
				idx = append(idx, i)
			}
		}
		for _, i := range idx {
			n[d.labels[i]]++
		}
		return n
	}
	ctx := context.Background()
	task := zooTasks(t, manifest, ZooOptions{RunID: t.Name(), CalibSamples: 20, EvalSamples: 30})[0]
	calib, err := split(ctx, &task, SplitCalibration)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := split(ctx, &task, SplitEvaluation)
	if err != nil {
		t.Fatal(err)
	}
	if got := perClass(calib, nil); !slices.Equal(got, []int{10, 10, 10, 10, 10}) {
		t.Errorf("rule split calibration per class %v", got)
	}
	if got := perClass(calib, selectSamples(&task, SplitCalibration, calib, 20)); !slices.Equal(got, []int{4, 4, 4, 4, 4}) {
		t.Errorf("--calib-samples 20 per class %v", got)
	}
	if got := perClass(eval, nil); !slices.Equal(got, []int{6, 6, 6, 6, 6}) {
		t.Errorf("--eval-samples 30 per class %v", got)
	}
}

// TestAllBadSplitSaysWhy: a split whose samples are all bad (images
// outside class folders) is one failed work item that says so and names
// the first bad sample, not an empty split.
func TestAllBadSplitSaysWhy(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "flat"), 0o755)
	for _, n := range []string{"a.png", "b.png", "c.png"} {
		os.WriteFile(filepath.Join(dir, "flat", n), buf.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "m.onnx"), nil, 0o644)
	task := zooTasks(t, `
datasets:
  flat: {format: image-folder, classes: 2, location: `+dir+`/flat, split: {calibration: 1}}
models:
  - {name: m, file: `+dir+`/m.onnx, dataset: flat}
`, ZooOptions{RunID: t.Name()})[0]
	var shards []Shard
	planShards(context.Background(), &task, SplitEvaluation, nil, func(s Shard) { shards = append(shards, s) })
	if len(shards) != 1 || !strings.Contains(shards[0].Err, "the evaluation split has no usable samples: all 2 are bad (first: ") ||
		!strings.Contains(shards[0].Err, "not in a class folder") || failure.KindOf(failErr(shards[0].Err)) != failure.BadData {
		t.Fatalf("shards %+v", shards)
	}
}
