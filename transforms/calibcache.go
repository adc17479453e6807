package transforms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/calibrate"
	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/report"
)

func init() {
	register.DoFn4x0[context.Context, ModelTask, func(string, RangeSet), func(ModelTask)](&calibCacheFn{})
	register.Emitter2[string, RangeSet]()
	register.DoFn5x1[context.Context, string, func(*ModelTask) bool, func(*CalibPart) bool, func(string, RangeSet), error](&writeCalibFn{})
	register.Iter1[CalibPart]()
}

// CalibFileVersion is the version of the range file format.
const CalibFileVersion = 2

// sampleSelection names how a capped calibration split picks its samples
// (see selectSamples); it is part of the cache key.
const sampleSelection = "per-label-share,sha256(id)-smallest"

// CalibFile is a model's range file, calibration/<model>.json under the
// output folder: the chosen range of every float tensor and what it was
// computed from. Key is the hex SHA-256 of the canonical JSON of CalibKey;
// a later run reuses the file when its own key is equal. The file holds no
// run-specific data, so the same inputs give byte-identical files.
type CalibFile struct {
	Version int      `json:"version"`
	Key     string   `json:"key"`
	Model   string   `json:"model"`
	Inputs  CalibKey `json:"inputs"`
	Samples int64    `json:"samples"`
	// PerClass counts the samples by dataset label (element k: label k).
	PerClass []int64 `json:"per_class,omitempty"`
	// Table holds the settings and the per-tensor ranges.
	Table calibrate.Table `json:"table"`
}

// CalibKey is everything a model's ranges depend on.
type CalibKey struct {
	ModelDigest   string          `json:"model_digest"`
	DatasetDigest string          `json:"dataset_digest"`
	Input         string          `json:"input,omitempty"`
	Preprocess    json.RawMessage `json:"preprocess,omitempty"`
	CalibSamples  int             `json:"calib_samples,omitempty"`
	// Equalized is set when the model was calibrated after cross-layer
	// equalization (QuantizeOptions.CLE).
	Equalized   bool              `json:"equalized,omitempty"`
	Selection   string            `json:"selection,omitempty"`
	Options     calibrate.Options `json:"options"`
	FileVersion int               `json:"file_version"`
}

// CalibFileKey returns the key of a model's range file under the output
// folder.
func CalibFileKey(model string) string { return path.Join("calibration", model+".json") }

// calibKey computes a task's cache key from the digests and settings.
func calibKey(t *ModelTask, datasetDigest string, o calibrate.Options) CalibKey {
	k := CalibKey{
		ModelDigest:   t.Digest,
		DatasetDigest: datasetDigest,
		Input:         t.Input,
		CalibSamples:  t.CalibSamples,
		Equalized:     t.Quantize.CLE,
		Options:       o,
		FileVersion:   CalibFileVersion,
	}
	if len(t.Preprocess) > 0 && string(t.Preprocess) != "null" {
		k.Preprocess = append(json.RawMessage(nil), t.Preprocess...)
	}
	if k.CalibSamples > 0 {
		k.Selection = sampleSelection
	}
	return k
}

func (k CalibKey) hash() string {
	b, err := json.Marshal(k)
	if err != nil {
		panic(err) // plain fields only
	}
	return digest(b)
}

// datasetDigests memoizes, per process, the digest of a split's files.
var datasetDigests flight[string]

// calibDatasetDigest hashes a task's calibration split. Tasks with a
// dataset spec (every format) hash the spec (format, file keys relative to
// the dataset folder, ...), the split's range of the canonical order and the
// split's samples (ids, labels, bytes and bad samples:
// dataset.Samples.Digest). The folder URL is left out on purpose: the
// content is hashed, and the same dataset read from another store or
// folder must give the same range file (tests check this). Tasks from
// before specs existed hash their IDX files (images then labels, each
// preceded by its key and length).
func calibDatasetDigest(ctx context.Context, t *ModelTask) (string, error) {
	return splitDigest(ctx, t, SplitCalibration)
}

// splitDigest is calibDatasetDigest for either split.
func splitDigest(ctx context.Context, t *ModelTask, which string) (string, error) {
	spec, images, labels := t.CalibSpec, t.CalibImages, t.CalibLabels
	if which == SplitEvaluation {
		spec, images, labels = t.EvalSpec, t.EvalImages, t.EvalLabels
	}
	if len(spec) > 0 {
		return datasetDigests.get("split\x00"+splitKey(t, which), func() (string, error) {
			spec, _, from, to, err := splitSource(t, which)
			if err != nil {
				return "", err
			}
			data, err := split(ctx, t, which)
			if err != nil {
				return "", err
			}
			h := sha256.New()
			fmt.Fprintf(h, "%d\x00%s\x00%d:%d\x00", len(spec), spec, from, to)
			if data.samples != nil {
				fmt.Fprintf(h, "samples\x00%s", data.samples.Digest())
			} else {
				for i := 0; i < data.len(); i++ {
					fmt.Fprintf(h, "%s\x00%d\x00", data.id(i), data.labels[i])
				}
				h.Write(data.images.Pix)
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		})
	}
	return datasetDigests.get(t.RunID+"\x00"+t.ZooURL+"\x00"+images+"\x00"+labels, func() (string, error) {
		h := sha256.New()
		for _, key := range []string{images, labels} {
			b, err := readKey(ctx, t.ZooURL, key)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", key, len(b))
			h.Write(b)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
}

// EncodeCalibFile renders a range file canonically (indented, trailing
// newline).
func EncodeCalibFile(f *CalibFile) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeCalibFile parses and checks a range file.
func DecodeCalibFile(b []byte) (*CalibFile, error) {
	var f CalibFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("range file: %w", err)
	}
	if f.Version != CalibFileVersion {
		return nil, fmt.Errorf("range file: version %d, want %d", f.Version, CalibFileVersion)
	}
	if f.Key != f.Inputs.hash() {
		return nil, fmt.Errorf("range file: key does not match its inputs")
	}
	return &f, nil
}

// calibCacheFn computes each model's cache key and emits the models whose
// range file from an earlier run matches it as hits, the others as misses
// carrying the key.
type calibCacheFn struct {
	Opt CalibOptions
}

func (f *calibCacheFn) ProcessElement(ctx context.Context, t ModelTask, hit func(string, RangeSet), miss func(ModelTask)) {
	dd, err := calibDatasetDigest(ctx, &t)
	if err != nil {
		miss(t) // the shards will report the unreadable split
		return
	}
	k := calibKey(&t, dd, f.Opt.Calibrate)
	t.CalibKey, t.CalibDatasetDigest = k.hash(), dd
	if !f.Opt.Recalibrate && t.OutURL != "" {
		if b, err := outBucket(ctx, t.OutURL); err == nil {
			if data, err := b.ReadAll(ctx, CalibFileKey(t.Name)); err == nil {
				if cf, err := DecodeCalibFile(data); err == nil && cf.Key == t.CalibKey && cf.Model == t.Name {
					hit(t.Name, RangeSet{Ranges: data, Samples: cf.Samples, File: CalibFileKey(t.Name), Cached: true})
					return
				}
			}
		}
	}
	miss(t)
}

// writeCalibFn writes each calibrated model's range file and emits it.
type writeCalibFn struct {
	Opt CalibOptions
}

func (f *writeCalibFn) ProcessElement(ctx context.Context, name string, taskIter func(*ModelTask) bool, partIter func(*CalibPart) bool, emit func(string, RangeSet)) error {
	var t ModelTask
	if !taskIter(&t) {
		return nil
	}
	var p CalibPart
	if !partIter(&p) {
		return nil // no calibration samples: QuantizeModels reports it
	}
	if p.Err != "" {
		emit(name, RangeSet{Samples: p.Samples, Err: p.Err, ErrShard: p.ErrShard})
		return nil
	}
	dd := t.CalibDatasetDigest
	cf := &CalibFile{
		Version:  CalibFileVersion,
		Model:    t.Name,
		Inputs:   calibKey(&t, dd, f.Opt.Calibrate),
		Samples:  p.Samples,
		PerClass: p.PerClass,
		Table:    calibrate.Table{Version: calibrate.TableVersion, Options: f.Opt.Calibrate, Tensors: []calibrate.TensorResult{}},
	}
	cf.Key = cf.Inputs.hash()
	if len(p.Tensors) > 0 {
		if err := json.Unmarshal(p.Tensors, &cf.Table.Tensors); err != nil {
			return err
		}
	}
	if err := cf.Table.Check(); err != nil {
		emit(name, RangeSet{Samples: p.Samples, Err: failText(fmt.Errorf("calibration: %w", err))})
		return nil
	}
	data, err := EncodeCalibFile(cf)
	if err != nil {
		return err
	}
	out, err := outBucket(ctx, t.OutURL)
	if err != nil {
		return err
	}
	key := CalibFileKey(t.Name)
	if err := out.WriteAtomic(ctx, key, data, "application/json"); err != nil {
		return err
	}
	emit(name, RangeSet{Ranges: data, Samples: p.Samples, File: key})
	return nil
}

// calibRanges decodes a model's RangeSet into the ranges the quantizer
// takes and records the calibration settings on the task.
func calibRanges(t *ModelTask, rs *RangeSet) (map[string]qmath.Range, error) {
	cf, err := DecodeCalibFile(rs.Ranges)
	if err != nil {
		return nil, err
	}
	o := cf.Table.Options
	t.CalibUsed, t.CalibPerClass = cf.Samples, cf.PerClass
	t.CalibMethod = string(o.Method)
	t.CalibPercentile, t.CalibBins, t.CalibSymmetric = o.Percentile, o.Bins, o.Symmetric
	t.CalibFile = rs.File
	return cf.Table.Ranges(), nil
}

// calibrationInfo is the report's calibration entry of a quantized model.
func calibrationInfo(t *ModelTask) *report.Calibration {
	m := t.CalibMethod
	if m == "" {
		m = string(calibrate.MethodMinMax)
	}
	return &report.Calibration{
		Method:     m,
		Samples:    int(t.CalibUsed),
		Limit:      max(t.CalibSamples, 0),
		Percentile: t.CalibPercentile,
		Bins:       t.CalibBins,
		Symmetric:  t.CalibSymmetric,
		Ranges:     t.CalibFile,
		PerClass:   classCountsOf(t.CalibPerClass, t.LabelOffset),
	}
}

// classCountsOf lists the non-zero counts of a per-label vector, labels
// shifted to model classes.
func classCountsOf(counts []int64, offset int) []report.ClassCount {
	var out []report.ClassCount
	for k, n := range counts {
		if n > 0 {
			out = append(out, report.ClassCount{Class: k + offset, Samples: int(n)})
		}
	}
	return out
}
