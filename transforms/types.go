package transforms

import (
	"fmt"
	"path"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*ModelTask)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*RangeSet)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*EvalCounts)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Row)(nil)).Elem())
}

// ModelTask is one model of a zoo as it moves through the job. Stages fill
// in more fields as they learn them.
type ModelTask struct {
	// RunID namespaces worker caches; it is fixed when the pipeline is built.
	RunID string
	Name  string
	// ZooURL is the folder holding the manifest; the keys below are relative
	// to it.
	ZooURL  string
	File    string
	Dataset string
	Classes int
	// CalibImages, CalibLabels, EvalImages and EvalLabels are dataset keys.
	CalibImages, CalibLabels string
	EvalImages, EvalLabels   string
	Input, Output            string
	// Preprocess is a JSON-encoded dataset.Preprocess.
	Preprocess []byte
	// CalibSamples and EvalSamples cap the samples used (0: the whole split).
	CalibSamples, EvalSamples int
	// ShardSize is the number of samples in one work item.
	ShardSize int
	// OutURL is the output folder of the job.
	OutURL string

	// Set by LoadModels.
	Digest     string // hex SHA-256 of the model file
	FloatBytes int64
	Ops        []string // op type histogram as "Op=count", sorted
	Params     int64
	Opset      int64

	// Set by QuantizeModels.
	CalibUsed  int64  // calibration samples observed
	Int8Key    string // key of the quantized model under OutURL
	Int8Bytes  int64
	Int8Digest string
}

// Int8Name returns the output key of the model's quantized file.
func (t *ModelTask) Int8Name() string {
	return path.Join("models", t.Name+".int8.onnx")
}

// Shard is a work item: a range [Start, End) of one split of the model's
// dataset.
type Shard struct {
	Task       ModelTask
	Split      string // "calibration" or "evaluation"
	Start, End int
	// Err is set instead of a range when the split could not be read.
	Err string
}

// Splits.
const (
	SplitCalibration = "calibration"
	SplitEvaluation  = "evaluation"
)

// RangeSet is the observed range of every float tensor of a model (the
// canonical JSON of calibrate.Ranges) as it travels between workers. Merging
// is exact and independent of order. Err records the failure of the failing
// shard with the lowest start, so the result does not depend on sharding.
type RangeSet struct {
	Ranges   []byte
	Samples  int64
	Err      string
	ErrShard int64
}

// EvalCounts are the per-model evaluation tallies. Agree counts samples
// whose int8 top-1 class equals the float one.
type EvalCounts struct {
	Samples      int64
	FloatCorrect int64
	Int8Correct  int64
	Agree        int64
	Err          string
	ErrShard     int64
}

// Row is one model's finished report entry, JSON-encoded.
type Row struct {
	Name string
	JSON []byte
}

func shardLabel(s *Shard) string {
	return fmt.Sprintf("%s samples [%d,%d)", s.Split, s.Start, s.End)
}
