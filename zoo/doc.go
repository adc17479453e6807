// Package zoo parses and validates zoo manifests: the YAML file at the root
// of a model zoo that lists its models and the labeled datasets they are
// evaluated on. It does no I/O; locations in a manifest are resolved by the
// caller against the manifest's folder.
//
// A minimal manifest:
//
//	datasets:
//	  mnist:
//	    format: idx
//	    classes: 10
//	    calibration: {images: train-images.gz, labels: train-labels.gz}
//	    evaluation:  {images: t10k-images.gz, labels: t10k-labels.gz}
//	models:
//	  - name: lenet
//	    file: lenet.onnx
//	    dataset: mnist
//	    preprocess: {scale: 0.00392156862745098}
//
// Datasets may be IDX, CIFAR binary, TFRecord or image folders, split
// explicitly or by a rule (first N samples calibrate); models declare their
// preprocessing (resize, crop, normalization, layout, channel order) and a
// label offset. Locations outside the zoo are refused unless
// Options.AllowOutside is set. docs/zoo-manifest.md documents every field.
package zoo
