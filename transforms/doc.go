// Package transforms holds eightbit's Beam transforms: every DoFn and
// CombineFn of its jobs. Elements are small work items — a model, or a
// (model, shard of samples) pair — never pixels; each worker reads what a
// work item names from blob storage and keeps parsed models, compiled
// programs and decoded datasets in a process-wide cache, so a model is loaded
// once per worker process.
//
// The stages of the quantize-zoo job:
//
//	ReadZoo        zoo URL → one ModelTask per manifest entry
//	LoadModels     read, parse, prepare and check each model; failures → rows
//	Calibrate      (model, calibration shard) → per-tensor ranges, combined per model
//	QuantizeModels ranges + model → quantized .onnx written atomically
//	Evaluate       (model, evaluation shard) → float and int8 top-1 counts, combined per model
//	WriteReport    all rows → report.json and report.md, written atomically
//
// The evaluation logic (batching, running the float, int8 and QDQ programs,
// scoring, per-layer statistics, culprit ranking) lives in the Beam-free
// package evaluate; the DoFns here plan work items, load what they name and
// combine the results.
//
// A model that cannot be read, parsed, run or quantized becomes a failed row
// of the report; it never stops the other models.
package transforms
