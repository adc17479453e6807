// Package jobs defines eightbit's named jobs. A job turns a validated
// configuration into a Beam pipeline built from package transforms, runs it
// through package pipeline, and reads its report back.
//
// quantize-zoo: for every model listed in a zoo manifest, calibrate
// activation ranges on the calibration split, quantize to 8 bits, evaluate
// float and int8 on the evaluation split, and write the quantized models,
// report.json and report.md under the output folder. Activation ranges are
// written to calibration/<model>.json and reused by later runs into the
// same folder when the model, the calibration split and the settings are
// unchanged (see docs/calibration.md).
package jobs
