// Package dataset reads labeled image datasets and turns images into model
// input tensors. It does no I/O of its own: readers take the bytes, or a
// Source (a folder of keys, which *storage.Bucket satisfies) that hands
// them out.
//
// Formats: IDX (MNIST, gzip or not), CIFAR-10/100 binary batches, TFRecord
// files of tf.train.Example (length and data checked against their masked
// CRC32C), and image folders of JPEG/PNG files labeled by class sub-folder,
// a synset list or a path,label CSV. Load reads one source into a Set: every
// sample in a canonical order with a stable id ("<file>#<record>" or the
// image's path). Samples that cannot be used (an image that does not decode,
// a corrupt or truncated record, a label outside the classes) are kept in
// the order as BadSamples, so a split rule such as "the first 1000 samples"
// does not move when a file is corrupt, and are listed instead of used.
// Images of fixed-size formats are kept as raw pixels; encoded images stay
// encoded and are decoded per batch, so memory is bounded by the files.
//
// Preprocess turns images into tensors: channel conversion, resize
// (golang.org/x/image/draw filters), center crop, channel order, scale,
// per-channel mean and std, layout. docs/zoo-manifest.md documents every
// step exactly.
package dataset
