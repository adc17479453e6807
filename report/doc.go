// Package report defines report.json, the machine-readable result of a
// quantization job, and renders it as JSON and Markdown. It performs no I/O:
// callers get bytes and write them through package storage.
//
// # Schema eightbit.report/v1
//
// Field names and nesting are a contract: later versions may add fields but
// must not rename, move or change the meaning of these. Empty fields are
// omitted. A report holds no timestamps or durations, so running the same job
// on the same inputs yields byte-identical files.
//
//	{
//	  "schema": "eightbit.report/v1",
//	  "job": "nightly",
//	  "zoo": "s3://models/zoo",
//	  "eightbit_version": "v0.1.0",
//	  "models": [
//	    {
//	      "name": "lenet",
//	      "status": "ok",
//	      "file": "lenet/model.onnx",
//	      "format": "onnx",
//	      "dataset": "mnist",
//	      "scheme": "qdq-s8-per-tensor",
//	      "calibration": {"method": "minmax", "samples": 512, "ranges": "calibration/lenet.json"},
//	      "float": {"bytes": 246784, "top1": 0.9912, "samples": 10000},
//	      "int8": {"bytes": 63488, "top1": 0.9907, "samples": 10000, "model": "models/lenet.int8.onnx"},
//	      "agreement": 0.9978,
//	      "size_ratio": 0.25726,
//	      "ops": {"Conv": 2, "Gemm": 2, "Relu": 3}
//	    }
//	  ]
//	}
//
// Top level (Report):
//
//   - schema: always "eightbit.report/v1" (Schema); Parse refuses anything else.
//   - job: name of the job that produced the report.
//   - zoo: URL of the model zoo that was quantized.
//   - eightbit_version: version of eightbit that wrote the report.
//   - models: one entry per model of the zoo, sorted by name; always present,
//     possibly empty. Names are unique.
//
// Per model (Model):
//
//   - name: model name from the zoo manifest.
//   - status: "ok" when the model was quantized and evaluated, "failed"
//     otherwise (StatusOK, StatusFailed).
//   - error: why the model failed; present on failed rows only, and required
//     there.
//   - file: the float model's location, relative to the zoo folder.
//   - format: the float model's file format, such as "onnx".
//   - dataset: name of the dataset the model was calibrated and evaluated on.
//   - scheme: the quantization scheme applied (weights and activations).
//   - calibration.method: how activation ranges were chosen: "minmax",
//     "percentile", "entropy" or "mse" (see package calibrate).
//   - calibration.samples: number of calibration samples used.
//   - calibration.percentile: share of values the percentile method keeps,
//     in percent; percentile only.
//   - calibration.bins: histogram bins of the percentile, entropy and mse
//     methods.
//   - calibration.symmetric: true when ranges are symmetric about zero.
//   - calibration.ranges: path of the range file holding every tensor's
//     chosen and observed range, relative to the folder of report.json
//     (format in docs/calibration.md).
//   - float.bytes: size of the float model file in bytes.
//   - float.top1: top-1 accuracy of the float model, a fraction in [0,1].
//   - float.samples: number of evaluation samples behind float.top1.
//   - int8.bytes, int8.top1, int8.samples: the same for the quantized model.
//   - int8.model: path of the quantized model file, relative to the folder of
//     report.json.
//   - agreement: share of evaluation samples on which the int8 model's top-1
//     class equals the float model's, a fraction in [0,1]. Unlike the
//     difference of the top-1 values, it also counts samples where both
//     models are wrong in different ways.
//   - size_ratio: int8.bytes / float.bytes (see Ratio).
//   - ops: histogram of the float model's operator types (op type → node count).
//   - failed_ops: op types that could not be quantized or run, sorted; usually
//     on failed rows.
//
// Fractions and sizes that were not measured are absent rather than zero:
// Top1, Agreement and SizeRatio are pointers (write new(0.98) to set one).
//
// # Rendering
//
// JSON writes 2-space indented JSON with a trailing newline, models sorted by
// name and map keys sorted; Markdown writes a table with one row per model
// (float and int8 top-1 in percent, their difference in percentage points,
// agreement, sizes in KiB and the size ratio), a line per model with bad
// samples (count and first ids, Model.BadSamplesLine) and a legend. Both
// render the same bytes for the same content regardless of model order.
package report
