package dataset

import (
	"context"
	"testing"
)

func FuzzTFRecord(f *testing.F) {
	img := []byte("\x89PNG\r\n\x1a\n")
	f.Add(AppendTFRecord(nil, AppendExample(nil, img, 3)))
	f.Add(AppendTFRecord(AppendTFRecord(nil, nil), []byte{0x0a, 0x02, 0x0a, 0x00}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range ReadTFRecords(b) {
			if r.Err == nil {
				DecodeExample(r.Data)
			}
		}
		DecodeExample(b)
		tfrecordEntries("f", b)
	})
}

func FuzzCIFAR(f *testing.F) {
	f.Add(cifarRecord(3, false, 0), false)
	f.Add(cifarRecord(3, true, 0)[:500], true)
	f.Fuzz(func(t *testing.T, b []byte, c100 bool) {
		im, labels, err := DecodeCIFAR(b, c100)
		rec := cifarPixels + 1
		if c100 {
			rec++
		}
		if im.N != len(b)/rec || len(labels) != im.N || (err != nil) != (len(b)%rec != 0) {
			t.Fatalf("%d bytes: N=%d labels=%d err=%v", len(b), im.N, len(labels), err)
		}
	})
}

func FuzzLabelFiles(f *testing.F) {
	f.Add([]byte("path,label\na/b.png,3\nc.jpg, 1\n"))
	f.Add([]byte("n01 tench\nn02 goldfish, x\n"))
	f.Add([]byte(",\n\n,,1\n../x,2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseLabelCSV(b)
		if err == nil {
			for i := 1; i < len(rows); i++ {
				if rows[i-1].Path >= rows[i].Path {
					t.Fatalf("rows not sorted and unique: %v", rows)
				}
			}
		}
		ParseSynsets(b)
		src := mapSource{"labels": b, "a/b.png": nil}
		for _, format := range []string{LabelsCSV, LabelsSynsets} {
			Load(context.Background(), src, Spec{Format: FormatImageFolder, Classes: 5, LabelFile: &LabelFile{Path: "labels", Format: format}})
		}
	})
}

func FuzzDecodeImage(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := DecodeImage(b)
		if err == nil && len(im.Pix) != im.W*im.H*im.C {
			t.Fatalf("%dx%dx%d with %d bytes", im.W, im.H, im.C, len(im.Pix))
		}
	})
}
