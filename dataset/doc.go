// Package dataset decodes labeled image datasets from bytes and turns images
// into model input tensors. It does no I/O of its own: callers hand it the
// bytes that storage read.
package dataset
