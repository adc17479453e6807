package transforms

import (
	"fmt"
	"path"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/eightbitml/eightbit/evaluate"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*ModelTask)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*RangeSet)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*TensorStats)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*CalibPart)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*EvalCounts)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Row)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*LayerPart)(nil)).Elem())
}

// ModelTask is one model of a zoo as it moves through the job. Stages fill
// in more fields as they learn them.
type ModelTask struct {
	// RunID namespaces worker caches; it is fixed when the pipeline is built.
	RunID string
	Name  string
	// CalibName is the name a sweep variant ("<model>@<label>") calibrates
	// under: the manifest's model name, shared by all its variants, whose
	// activation ranges do not depend on the quantizer settings. Empty
	// means Name.
	CalibName string
	// ZooURL is the folder holding the manifest; the keys below are relative
	// to it.
	ZooURL  string
	File    string
	Dataset string
	Classes int
	// CalibImages, CalibLabels, EvalImages and EvalLabels are dataset keys.
	CalibImages, CalibLabels string
	EvalImages, EvalLabels   string
	// Format is the model file's format (formats.Names; "" is onnx).
	// CutInput and CutOutput are the manifest's input and output tensor
	// names of a TensorFlow graph ("Mul:0"), where the importer cuts it.
	Format              string
	CutInput, CutOutput string
	// Input and Output name the graph values fed with images and scored
	// (IR names: formats.ValueName of the manifest's names).
	Input, Output string
	// Preprocess is a JSON-encoded dataset.Preprocess.
	Preprocess []byte
	// CalibSamples and EvalSamples cap the samples used (0: the whole split).
	CalibSamples, EvalSamples int
	// ShardSize is the number of samples in one work item.
	ShardSize int
	// BatchSize is the number of samples per inference call for models
	// whose batch dimension is free (0: 50); a model declaring a fixed
	// batch always runs with it.
	BatchSize int
	// MeasureSpeed times a plain float and int8 run of every evaluation
	// batch; the report then carries ms_per_image and images_per_sec (and
	// is no longer byte-identical between runs).
	MeasureSpeed bool
	// OutURL is the output folder of the job.
	OutURL string
	// Quantize are the quantizer settings.
	Quantize QuantizeOptions

	// Set by SkipDone (quantize-zoo): the result key (see ResultKey) and
	// the JSON of what it hashes.
	ResultKey    string
	ResultInputs []byte

	// Set by LoadModels.
	Digest     string // hex SHA-256 of the model file
	FloatBytes int64
	Ops        []string // op type histogram as "Op=count", sorted
	Params     int64
	Opset      int64

	// Set by Calibrate: the calibration cache key (see CalibFile) and the
	// digest of the calibration split's files.
	CalibKey, CalibDatasetDigest string

	// Set by QuantizeModels.
	CalibUsed int64 // calibration samples observed
	// CLEPairs and CLEClips say what cross-layer equalization did
	// (quantize.Equalization), when the task asked for it.
	CLEPairs, CLEClips int
	// CalibPerClass counts them by dataset label.
	CalibPerClass []int64
	// CalibMethod, CalibPercentile, CalibBins and CalibSymmetric are the
	// calibration settings behind the ranges; CalibFile is the range file's
	// key under OutURL.
	CalibMethod     string
	CalibPercentile float64
	CalibBins       int
	CalibSymmetric  bool
	CalibFile       string
	Int8Key         string // key of the quantized model under OutURL
	Int8Bytes       int64
	Int8Digest      string

	// Dataset reading, set by ReadZoo (issue 7). DatasetURL is the folder of
	// the dataset's files (the keys in the specs are relative to it);
	// CalibSpec and EvalSpec are JSON dataset.Spec values naming each
	// split's source, and [CalibFrom, CalibTo) / [EvalFrom, EvalTo) the
	// part of the source's canonical order the split uses (To 0: the end).
	// LabelOffset is added to dataset labels to get model classes.
	// FileLocation is the model's location as resolved from the manifest
	// (differs from ZooURL/File for models outside the zoo).
	// SplitRule marks a manifest's rule split (`split: {calibration: N,
	// evaluation: M}`): CalibTo is N and EvalTo−EvalFrom is M (EvalTo 0:
	// the rest), and the samples are chosen per class by
	// dataset.Set.RuleSplit instead of taken as ranges.
	DatasetURL          string
	CalibSpec, EvalSpec []byte
	CalibFrom, CalibTo  int
	EvalFrom, EvalTo    int
	SplitRule           bool
	LabelOffset         int
	FileLocation        string
}

// Int8Name returns the output key of the model's quantized file.
func (t *ModelTask) Int8Name() string {
	return path.Join("models", t.Name+".int8.onnx")
}

// Shard is a work item: a range [Start, End) of one split of the model's
// dataset. When a calibration split is capped (ModelTask.CalibSamples), the
// range indexes the samples chosen by the hash of their ids, in index order
// (see selectSamples), not the split itself.
type Shard struct {
	Task       ModelTask
	Split      string // "calibration" or "evaluation"
	Start, End int
	// Err is set instead of a range when the split could not be read.
	Err string
	// Variants are the other sweep variants of Task's model that share
	// this evaluation work item (same float model, samples and settings):
	// each batch runs through the float program once for all of them.
	Variants []ModelTask
	// Pass1 is the first calibration pass's result (canonical JSON of
	// calibrate.Ranges) that second-pass shards lay their histograms over.
	Pass1 []byte
}

// Splits.
const (
	SplitCalibration = "calibration"
	SplitEvaluation  = "evaluation"
)

// RangeSet is a model's calibration result: Ranges holds the bytes of its
// range file (canonical JSON of CalibFile). Err records the failure of the
// failing shard with the lowest start, so the result does not depend on
// sharding.
type RangeSet struct {
	Ranges   []byte
	Samples  int64
	Err      string
	ErrShard int64
	// File is the range file's key under the output folder; Cached is set
	// when it was reused from an earlier run instead of computed.
	File   string
	Cached bool
}

// TensorStats is the state of one tensor's observer (the JSON of a
// calibrate.MinMax in the first pass, of a calibrate.Histogram in the
// second), keyed by model and tensor between workers. The entry with an
// empty Tensor carries the model's sample count and failure instead.
type TensorStats struct {
	Model, Tensor string
	State         []byte
	Samples       int64
	// PerClass counts the samples by label (model entry only).
	PerClass []int64
	Err      string
	ErrShard int64
}

// CalibPart is part of a model's calibration table: chosen ranges of some
// tensors (JSON of []calibrate.TensorResult, sorted by name), and the
// sample count or failure.
type CalibPart struct {
	Tensors  []byte
	Samples  int64
	PerClass []int64
	Err      string
	ErrShard int64
}

// EvalCounts are the per-model evaluation tallies (evaluate.Counts).
type EvalCounts = evaluate.Counts

// LayerPart is the per-layer error statistics of one quantized tensor over
// some samples: the JSON of a report.LayerStats, keyed by model and tensor
// between workers. Index is the tensor's position in the quantized graph.
// Stats compares the float activations with the int8 model's; Local
// compares them with their own quantization (DequantizeLinear of
// QuantizeLinear of the float values), the error the tensor adds by itself.
type LayerPart struct {
	Model string
	Index int
	// RangeOf is the tensor whose range the quantization parameters come
	// from (quantize.Activation.RangeOf).
	RangeOf string
	Stats   []byte
	Local   []byte
	Err     string
}

// Row is one model's finished report entry, JSON-encoded.
type Row struct {
	Name string
	JSON []byte
	// Key is the result key of a complete row (ModelTask.ResultKey) and
	// Inputs the JSON of what it hashes; both are empty for a row that is
	// not to be reused. Cached marks a row read back from an earlier run.
	Key    string
	Inputs []byte
	Cached bool
	// Int8Digest is the hex SHA-256 of the row's quantized model file.
	Int8Digest string
}

func shardLabel(s *Shard) string {
	return fmt.Sprintf("%s samples [%d,%d)", s.Split, s.Start, s.End)
}

// shardError is err of a work item as its stage reports it: "calibration,
// calibration samples [0,250): ..."; a work item that stands for a whole
// split that could not be read (Shard.Err) is not a range of samples, and
// only the stage is named.
func shardError(stage string, s *Shard, err error) error {
	if s.Err != "" {
		return fmt.Errorf("%s: %w", stage, err)
	}
	return fmt.Errorf("%s, %s: %w", stage, shardLabel(s), err)
}
