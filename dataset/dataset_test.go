package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/eightbitml/eightbit/failure"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"slices"
	"strings"
	"testing"
)

// mapSource is an in-memory Source.
type mapSource map[string][]byte

func (m mapSource) ReadAll(_ context.Context, key string) ([]byte, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("read %s: %w", key, fs.ErrNotExist)
	}
	return b, nil
}

func (m mapSource) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func pngGray(t testing.TB, w, h int, v uint8) []byte {
	im := image.NewGray(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = v + uint8(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngRGB(t testing.TB, w, h int, c color.NRGBA) []byte {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegRGB(t testing.TB, w, h int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeImage(t *testing.T) {
	g, err := DecodeImage(pngGray(t, 3, 2, 10))
	if err != nil || g.C != 1 || g.W != 3 || g.H != 2 || g.Pix[5] != 15 {
		t.Fatalf("gray: %+v %v", g, err)
	}
	c, err := DecodeImage(pngRGB(t, 2, 2, color.NRGBA{10, 20, 30, 128}))
	if err != nil || c.C != 3 || !bytes.Equal(c.Pix[:3], []byte{10, 20, 30}) {
		t.Fatalf("rgb with alpha: %+v %v", c, err)
	}
	j, err := DecodeImage(jpegRGB(t, 16, 8))
	if err != nil || j.C != 3 || j.W != 16 || j.H != 8 {
		t.Fatalf("jpeg: %+v %v", j, err)
	}
	// The JPEG conversion matches image/color's YCbCr rule via At().
	src, _, _ := image.Decode(bytes.NewReader(jpegRGB(t, 16, 8)))
	r, gg, b, _ := src.At(5, 3).RGBA()
	o := (3*16 + 5) * 3
	if j.Pix[o] != uint8(r>>8) || j.Pix[o+1] != uint8(gg>>8) || j.Pix[o+2] != uint8(b>>8) {
		t.Fatalf("YCbCr conversion differs from image/color")
	}
	if _, err := DecodeImage([]byte("not an image")); err == nil {
		t.Fatal("garbage decoded")
	}
	trunc := jpegRGB(t, 64, 64)
	if _, err := DecodeImage(trunc[:len(trunc)/2]); err == nil {
		t.Fatal("truncated JPEG decoded")
	}
}

func TestImageFolder(t *testing.T) {
	src := mapSource{
		"train/cat/a.png":      pngGray(t, 4, 4, 1),
		"train/cat/b.JPG":      jpegRGB(t, 8, 8),
		"train/dog/c.png":      pngRGB(t, 5, 3, color.NRGBA{1, 2, 3, 255}),
		"train/dog/broken.png": []byte("\x89PNG garbage"),
		"train/dog/notes.txt":  []byte("ignored"),
		"train/loose.png":      pngGray(t, 2, 2, 0),
		"val/cat/z.png":        pngGray(t, 4, 4, 9),
	}
	set, err := Load(context.Background(), src, Spec{Format: FormatImageFolder, Classes: 2, Files: Files{Folder: "train"}})
	if err != nil {
		t.Fatal(err)
	}
	s := set.Samples(0, 0)
	if !slices.Equal(s.IDs, []string{"train/cat/a.png", "train/cat/b.JPG", "train/dog/c.png"}) || !slices.Equal(s.Labels, []int{0, 0, 1}) {
		t.Fatalf("ids %v labels %v", s.IDs, s.Labels)
	}
	if len(s.Bad) != 2 || s.Bad[0].ID != "train/dog/broken.png" || s.Bad[1].ID != "train/loose.png" || !strings.Contains(s.Bad[1].Err, "class folder") {
		t.Fatalf("bad %+v", s.Bad)
	}
	im, err := s.Image(2)
	if err != nil || im.C != 3 || im.W != 5 || im.Pix[2] != 3 {
		t.Fatalf("image 2: %+v %v", im, err)
	}
	// Split ranges cut the canonical order, bad samples included.
	if c := set.Samples(0, 2); c.N != 2 || len(c.Bad) != 0 {
		t.Fatalf("first two: %d good %d bad", c.N, len(c.Bad))
	}
	if e := set.Samples(2, 0); e.N != 1 || len(e.Bad) != 2 {
		t.Fatalf("rest: %d good %d bad", e.N, len(e.Bad))
	}
	// Three class folders for two classes is an error naming the fix.
	if _, err := Load(context.Background(), mapSource{"a/x.png": pngGray(t, 1, 1, 0), "b/x.png": pngGray(t, 1, 1, 0), "c/x.png": pngGray(t, 1, 1, 0)},
		Spec{Format: FormatImageFolder, Classes: 2}); err == nil || !strings.Contains(err.Error(), "label_file") {
		t.Fatalf("class count: %v", err)
	}
	// A folder without images names itself, and is bad data.
	_, err = Load(context.Background(), mapSource{"notes.txt": []byte("x")}, Spec{Format: FormatImageFolder, Classes: 2})
	if err == nil || !strings.Contains(err.Error(), "no images (.jpg, .jpeg, .png) in the dataset's folder") || !errors.Is(err, failure.BadData) {
		t.Fatalf("empty folder: %v", err)
	}
	_, err = Load(context.Background(), mapSource{"a/notes.txt": []byte("x")}, Spec{Format: FormatImageFolder, Classes: 2, Files: Files{Folder: "a"}})
	if err == nil || !strings.Contains(err.Error(), `under "a"`) {
		t.Fatalf("empty sub-folder: %v", err)
	}
	// Numeric folders are labels; out of range is a bad sample.
	set, err = Load(context.Background(), mapSource{"3/x.png": pngGray(t, 1, 1, 0), "12/y.png": pngGray(t, 1, 1, 0)}, Spec{Format: FormatImageFolder, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	s = set.Samples(0, 0)
	if s.N != 1 || s.Labels[0] != 3 || len(s.Bad) != 1 || s.Bad[0].ID != "12/y.png" || !strings.Contains(s.Bad[0].Err, "outside [0,10)") {
		t.Fatalf("numeric: %+v", s)
	}
}

func TestImageFolderLabelFiles(t *testing.T) {
	src := mapSource{
		"synsets.txt":      []byte("n02 dog, doggy\n\nn01 cat\n"),
		"n01_tabby.png":    pngGray(t, 2, 2, 0),
		"n02_husky.png":    pngGray(t, 2, 2, 0),
		"n03_fox.png":      pngGray(t, 2, 2, 0),
		"labels.csv":       []byte("path,label\nimg/b.png, 4\nimg/a.png,1\nimg/missing.png,2\n"),
		"img/a.png":        pngGray(t, 2, 2, 0),
		"img/b.png":        pngGray(t, 2, 2, 0),
		"img/unlisted.png": pngGray(t, 2, 2, 0),
		"n02/n01_odd.png":  pngGray(t, 2, 2, 0),
	}
	set, err := Load(context.Background(), src, Spec{Format: FormatImageFolder, Classes: 2, LabelFile: &LabelFile{Path: "synsets.txt", Format: LabelsSynsets}})
	if err != nil {
		t.Fatal(err)
	}
	s := set.Samples(0, 0)
	// img/ files belong to a folder "img" that is no synset, n03 is not listed: bad.
	want := map[string]int{"n01_tabby.png": 1, "n02_husky.png": 0, "n02/n01_odd.png": 0}
	for i, id := range s.IDs {
		if l, ok := want[id]; !ok || l != s.Labels[i] {
			t.Errorf("sample %s label %d", id, s.Labels[i])
		}
	}
	if s.N != 3 || len(s.Bad) != 4 {
		t.Fatalf("good %v bad %+v", s.IDs, s.Bad)
	}
	set, err = Load(context.Background(), src, Spec{Format: FormatImageFolder, Classes: 3, LabelFile: &LabelFile{Path: "labels.csv", Format: LabelsCSV}})
	if err != nil {
		t.Fatal(err)
	}
	s = set.Samples(0, 0)
	if !slices.Equal(s.IDs, []string{"img/a.png"}) || s.Labels[0] != 1 || len(s.Bad) != 2 {
		t.Fatalf("csv: %v %v %+v", s.IDs, s.Labels, s.Bad)
	}
	if s.Bad[0].ID != "img/b.png" || !strings.Contains(s.Bad[0].Err, "outside") || s.Bad[1].Err != "file not found" {
		t.Fatalf("csv bad: %+v", s.Bad)
	}
}

func TestParseLabelFilesErrors(t *testing.T) {
	for _, in := range []string{"a.png,x\nb.png,y\n", "a.png\n", "../a.png,1\n", "a.png,1\na.png,2\n", "/a.png,1\n"} {
		if _, err := ParseLabelCSV([]byte(in)); err == nil {
			t.Errorf("ParseLabelCSV(%q) accepted", in)
		}
	}
	for _, in := range []string{"", "a\na x\n"} {
		if _, err := ParseSynsets([]byte(in)); err == nil {
			t.Errorf("ParseSynsets(%q) accepted", in)
		}
	}
}

func cifarRecord(label byte, cifar100 bool, seed byte) []byte {
	var r []byte
	if cifar100 {
		r = append(r, 7)
	}
	r = append(r, label)
	for i := 0; i < cifarPixels; i++ {
		r = append(r, byte(i)+seed)
	}
	return r
}

func TestCIFAR(t *testing.T) {
	for _, c100 := range []bool{false, true} {
		var f1, f2 []byte
		f1 = append(f1, cifarRecord(3, c100, 0)...)
		f1 = append(f1, cifarRecord(42, c100, 1)...)
		f2 = append(f2, cifarRecord(1, c100, 2)...)
		f2 = append(f2, cifarRecord(5, c100, 3)[:100]...) // truncated
		format := FormatCIFAR10
		if c100 {
			format = FormatCIFAR100
		}
		set, err := Load(context.Background(), mapSource{"data_batch_1.bin": f1, "data_batch_2.bin": f2},
			Spec{Format: format, Classes: 10, Files: Files{Files: []string{"data_batch_*.bin"}}})
		if err != nil {
			t.Fatal(err)
		}
		s := set.Samples(0, 0)
		if !slices.Equal(s.IDs, []string{"data_batch_1.bin#0", "data_batch_2.bin#0"}) || !slices.Equal(s.Labels, []int{3, 1}) {
			t.Fatalf("%s: %v %v", format, s.IDs, s.Labels)
		}
		if len(s.Bad) != 2 || s.Bad[0].ID != "data_batch_1.bin#1" || s.Bad[1].ID != "data_batch_2.bin#1" || !strings.Contains(s.Bad[1].Err, "truncated") {
			t.Fatalf("%s bad: %+v", format, s.Bad)
		}
		im, _ := s.Image(1)
		// pixel (0,1): red plane byte 1, green 1025, blue 2049, seed 2.
		if im.Pix[3] != 1+2 || im.Pix[4] != byte(1025%256)+2 || im.Pix[5] != byte(2049%256)+2 {
			t.Fatalf("%s pixels %v", format, im.Pix[3:6])
		}
		if f := s.Fixed(); f != nil {
			t.Fatal("samples with a gap reported as one block")
		}
	}
}

func TestTFRecord(t *testing.T) {
	img := pngGray(t, 3, 3, 5)
	var file []byte
	file = AppendTFRecord(file, AppendExample(nil, img, 2))
	file = AppendTFRecord(file, AppendExample(nil, img, 11)) // label out of range
	bad := AppendTFRecord(nil, AppendExample(nil, img, 1))
	bad[len(bad)-1] ^= 0xff // data checksum
	file = append(file, bad...)
	file = AppendTFRecord(file, AppendExample(nil, []byte("junk"), 4)) // corrupt image
	file = AppendTFRecord(file, AppendExample(nil, img, 3))
	last := AppendTFRecord(nil, AppendExample(nil, img, 0))
	file = append(file, last[:len(last)-7]...) // truncated
	set, err := Load(context.Background(), mapSource{"x.tfrecord": file}, Spec{Format: FormatTFRecord, Classes: 10, Files: Files{Files: []string{"x.tfrecord"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := set.Samples(0, 0)
	if !slices.Equal(s.IDs, []string{"x.tfrecord#0", "x.tfrecord#4"}) || !slices.Equal(s.Labels, []int{2, 3}) {
		t.Fatalf("%v %v", s.IDs, s.Labels)
	}
	wantBad := []string{"x.tfrecord#1:outside", "x.tfrecord#2:checksum", "x.tfrecord#3:image", "x.tfrecord#5:truncated"}
	if len(s.Bad) != len(wantBad) {
		t.Fatalf("bad %+v", s.Bad)
	}
	for i, w := range wantBad {
		id, msg, _ := strings.Cut(w, ":")
		if s.Bad[i].ID != id || !strings.Contains(s.Bad[i].Err, msg) {
			t.Errorf("bad[%d] = %+v, want %s", i, s.Bad[i], w)
		}
	}
	// A length whose checksum fails ends the file.
	broken := AppendTFRecord(nil, AppendExample(nil, img, 1))
	broken[8] ^= 1
	recs := ReadTFRecords(append(broken, AppendTFRecord(nil, []byte("x"))...))
	if len(recs) != 1 || recs[0].Err == nil || !strings.Contains(recs[0].Err.Error(), "length checksum") {
		t.Fatalf("%+v", recs)
	}
}

// A known TFRecord frame: the masked CRC32C values of an empty record are
// fixed by the format.
func TestTFRecordEmptyRecordFrame(t *testing.T) {
	f := AppendTFRecord(nil, nil)
	if len(f) != 16 {
		t.Fatal(len(f))
	}
	// CRC32C of the empty string is 0, masked: 0 + 0xa282ead8.
	if got := f[12:]; !bytes.Equal(got, []byte{0xd8, 0xea, 0x82, 0xa2}) {
		t.Fatalf("empty data CRC % x", got)
	}
	if recs := ReadTFRecords(f); len(recs) != 1 || recs[0].Err != nil || len(recs[0].Data) != 0 {
		t.Fatalf("%+v", recs)
	}
}

func TestSpecCheck(t *testing.T) {
	for _, s := range []Spec{
		{Format: "parquet", Classes: 1},
		{Format: FormatIDX, Classes: 1, Files: Files{Images: "a"}},
		{Format: FormatTFRecord, Classes: 1},
		{Format: FormatCIFAR10, Classes: 1, Files: Files{Files: []string{"["}}},
		{Format: FormatImageFolder, Classes: 1, Files: Files{Files: []string{"a"}}},
		{Format: FormatImageFolder, Classes: 0},
		{Format: FormatImageFolder, Classes: 1, LabelFile: &LabelFile{Path: "x", Format: "json"}},
		{Format: FormatTFRecord, Classes: 1, Files: Files{Files: []string{"a"}}, LabelFile: &LabelFile{Path: "x", Format: "csv"}},
	} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func approx(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }
