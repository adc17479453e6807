package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/internal/demozoo"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/storage/storagetest"
)

const imageFolderZoo = `name: image-folder-zoo
datasets:
  digits:
    format: image-folder
    classes: 10
    location: digits
    calibration: {folder: calib}
    evaluation: {folder: eval}
models:
  - name: mnist-mlp
    file: models/mnist-mlp.onnx
    dataset: digits
    preprocess: {divide: 255, channels: 1}
`

// imageFolderFiles returns the files of a small zoo: the demo zoo's MLP and
// an image folder of MNIST digits as PNG files in class folders (60
// calibration images from MNIST train, 150 evaluation images from t10k),
// plus a corrupt PNG and an image in a class folder beyond the 10 classes.
func imageFolderFiles(t *testing.T) map[string][]byte {
	t.Helper()
	src := demozoo.FS()
	read := func(p string) []byte {
		b, err := fs.ReadFile(src, p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files := map[string][]byte{
		"zoo.yaml":              []byte(imageFolderZoo),
		"models/mnist-mlp.onnx": read("mnist/mnist-mlp.onnx"),
	}
	for _, sp := range []struct {
		folder, images, labels string
		n                      int
	}{
		{"calib", "demo-data/demo-train-images-idx3-ubyte.gz", "demo-data/demo-train-labels-idx1-ubyte.gz", 60},
		{"eval", "demo-data/demo-t10k-images-idx3-ubyte.gz", "demo-data/demo-t10k-labels-idx1-ubyte.gz", 150},
	} {
		im, err := dataset.DecodeIDXImages(read(sp.images))
		if err != nil {
			t.Fatal(err)
		}
		labels, err := dataset.DecodeIDXLabels(read(sp.labels))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < sp.n; i++ {
			g := &image.Gray{Pix: im.Image(i), Stride: im.W, Rect: image.Rect(0, 0, im.W, im.H)}
			var buf bytes.Buffer
			if err := png.Encode(&buf, g); err != nil {
				t.Fatal(err)
			}
			files[fmt.Sprintf("digits/%s/%d/%04d.png", sp.folder, labels[i], i)] = buf.Bytes()
		}
	}
	files["digits/eval/3/corrupt.png"] = []byte("\x89PNG\r\n\x1a\nthis is not a PNG")
	files["digits/eval/12/0000.png"] = files["digits/eval/7/0000.png"] // label 12 of 10 classes
	return files
}

func upload(t *testing.T, url string, files map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Create(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for k, v := range files {
		if err := b.WriteAtomic(ctx, k, v, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDatasetSameReportOnEveryStore runs quantize-zoo over the same
// image-folder zoo from a local folder, an S3 server and a GCS server, and
// checks that the reports are identical (apart from the zoo location) and
// that the bad samples were left out while the rest was evaluated.
func TestDatasetSameReportOnEveryStore(t *testing.T) {
	files := imageFolderFiles(t)
	local := filepath.Join(t.TempDir(), "zoo")
	upload(t, local, files)
	s3 := storagetest.StartS3(t)
	gcs := storagetest.StartGCS(t)
	stores := []struct{ name, zoo, out string }{
		{"file", "file://" + filepath.ToSlash(local), "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "out"))},
		{"s3", s3, ""},
		{"gcs", gcs + "/zoo", gcs + "/out"},
	}
	var err error
	if stores[1].zoo, err = storage.Join(s3, "zoo"); err != nil {
		t.Fatal(err)
	}
	if stores[1].out, err = storage.Join(s3, "out"); err != nil {
		t.Fatal(err)
	}
	upload(t, stores[1].zoo, files)
	upload(t, stores[2].zoo, files)
	var first []byte
	for _, st := range stores {
		// Whole splits (60 and 150 samples): capped calibration of encoded
		// datasets needs shards.go to gather with labeledImages.subset.
		res, err := (&QuantizeZoo{Zoo: st.zoo, Out: st.out, ShardSize: 50}).Run(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.OK != 1 || res.Failed != 0 {
			t.Fatalf("%s: %d ok, %d failed: %+v", st.name, res.OK, res.Failed, res.Report.Models)
		}
		m := res.Report.Models[0]
		if m.Status != report.StatusOK || m.Float.Samples != 150 || m.Int8.Samples != 150 || m.Float.Top1 == nil {
			t.Fatalf("%s: %+v", st.name, m)
		}
		t.Logf("%s: float top-1 %.4f int8 %.4f on %d samples", st.name, *m.Float.Top1, *m.Int8.Top1, m.Float.Samples)
		rep := *res.Report
		rep.Zoo = ""
		js, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = js
		} else if !bytes.Equal(js, first) {
			t.Fatalf("%s report differs from file's:\n%s\n%s", st.name, js, first)
		}
	}
}
