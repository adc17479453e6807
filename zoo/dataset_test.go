package zoo

import (
	"errors"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/dataset"
)

const formats = `
datasets:
  cifar-jpeg:
    format: image-folder
    classes: 10
    location: data/cifar10/test
    split: {calibration: 1000}
  imagenet:
    format: image-folder
    classes: 1000
    location: data/imagenet-sample
    label_file: {path: synset_labels.txt, format: synsets}
    split: {calibration: 100, evaluation: 500}
  cifar-bin:
    format: cifar10
    classes: 10
    calibration: {files: [cifar/data_batch_1.bin]}
    evaluation: {files: [cifar/test_batch.bin]}
  tf:
    format: tfrecord
    classes: 1000
    calibration: {files: ["train-*"]}
    evaluation: {files: ["validation-*"]}
  folders:
    format: image-folder
    classes: 3
    calibration: {folder: train}
    evaluation: {folder: val}
models:
  - name: resnet
    file: m/resnet.onnx
    dataset: imagenet
    label_offset: 1
    preprocess:
      channels: 3
      resize: {shorter: 256, filter: catmull-rom}
      crop: {width: 224, height: 224}
      order: BGR
      divide: 255
      mean: [0.406, 0.456, 0.485]
      std: [0.225, 0.224, 0.229]
      layout: NHWC
  - {name: small, file: m/small.onnx, dataset: cifar-jpeg, preprocess: {resize: {width: 32, height: 32}}}
  - {name: bin, file: m/small.onnx, dataset: cifar-bin}
  - {name: tf, file: m/small.onnx, dataset: tf}
  - {name: folders, file: m/small.onnx, dataset: folders}
`

func TestParseFormats(t *testing.T) {
	m, err := Parse([]byte(formats))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Models[0]
	if r.LabelOffset != 1 || r.Preprocess.Resize.Shorter != 256 || r.Preprocess.Crop.Width != 224 || r.Preprocess.Order != "BGR" {
		t.Fatalf("%+v", r)
	}
	spec, from, to := m.Datasets["imagenet"].Source("evaluation")
	if spec.Format != dataset.FormatImageFolder || spec.LabelFile.Format != "synsets" || from != 100 || to != 600 {
		t.Fatalf("imagenet evaluation %+v [%d,%d)", spec, from, to)
	}
	spec, from, to = m.Datasets["cifar-jpeg"].Source("calibration")
	if from != 0 || to != 1000 || spec.Classes != 10 {
		t.Fatalf("cifar calibration [%d,%d)", from, to)
	}
	if _, from, to = m.Datasets["cifar-jpeg"].Source("evaluation"); from != 1000 || to != 0 {
		t.Fatalf("cifar evaluation [%d,%d)", from, to)
	}
	spec, _, _ = m.Datasets["tf"].Source("evaluation")
	if spec.Files.Files[0] != "validation-*" {
		t.Fatalf("%+v", spec)
	}
}

func TestParseFormatErrors(t *testing.T) {
	table := []struct{ name, from, to, want string }{
		{"unknown preprocess field", "order: BGR", "ordre: BGR", "ordre"},
		{"filter", "filter: catmull-rom", "filter: lanczos", "resize.filter"},
		{"crop", "crop: {width: 224, height: 224}", "crop: {width: 224}", "crop"},
		{"order", "order: BGR", "order: GBR", "order"},
		{"channels", "channels: 3", "channels: 4", "channels"},
		{"label offset", "label_offset: 1", "label_offset: -1", "label_offset"},
		{"split and explicit", "    split: {calibration: 1000}\n", "    split: {calibration: 1000}\n    calibration: {folder: a}\n", "not both"},
		{"split zero", "split: {calibration: 1000}", "split: {calibration: 0}", "split.calibration"},
		{"label file format", "format: synsets}", "format: json}", "label_file.format"},
		{"label file escape", "path: synset_labels.txt", "path: ../labels.txt", "label_file.path"},
		{"files escape", "cifar/test_batch.bin", "../test_batch.bin", "evaluation.files[0]"},
		{"same files", "cifar/test_batch.bin", "cifar/data_batch_1.bin", "both list"},
		{"overlapping folders", "evaluation: {folder: val}", "evaluation: {folder: train/x}", "overlap"},
		{"wrong fields for format", "calibration: {files: [cifar/data_batch_1.bin]}", "calibration: {images: a, labels: b}", "cifar-bin.calibration: format cifar10 needs files"},
		{"files without split", "    location: data/cifar10/test\n    split: {calibration: 1000}\n", "    location: data/cifar10/test\n    folder: x\n    calibration: {folder: a}\n    evaluation: {folder: b}\n", "need a split rule"},
		{"dataset location escape", "location: data/imagenet-sample", "location: ../imagenet", "escapes the zoo"},
		{"dataset location url", "location: data/imagenet-sample", "location: gs://other/imagenet", "allow-outside"},
		{"unknown dataset field", "classes: 3", "classes: 3\n    colour: red", "colour"},
	}
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(formats, c.from, c.to, 1)
			if src == formats {
				t.Fatalf("replacement %q not applied", c.from)
			}
			_, err := Parse([]byte(src))
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrManifest mentioning %q", err, c.want)
			}
		})
	}
}

func TestAllowOutside(t *testing.T) {
	src := strings.Replace(strings.Replace(formats, "file: m/resnet.onnx", "file: s3://models/resnet.onnx", 1),
		"location: data/imagenet-sample", "location: ../shared/imagenet", 1)
	if _, err := Parse([]byte(src)); err == nil {
		t.Fatal("outside locations accepted by default")
	}
	if _, err := ParseWith([]byte(src), Options{AllowOutside: true}); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseFormats(f *testing.F) {
	f.Add([]byte(formats))
	f.Add([]byte(good))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, opt := range []Options{{}, {AllowOutside: true}} {
			m, err := ParseWith(b, opt)
			if err != nil {
				continue
			}
			for _, d := range m.Datasets {
				for _, which := range []string{"calibration", "evaluation"} {
					spec, _, _ := d.Source(which)
					if err := spec.Check(); err != nil {
						t.Fatalf("valid manifest gives an invalid %s spec: %v", which, err)
					}
				}
			}
		}
	})
}
