package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"runtime/debug"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/calibrate"
)

func init() {
	register.DoFn4x0[context.Context, ModelTask, func(ModelTask), func(Row)](&skipDoneFn{})
}

// Incremental runs. A model whose report row was complete in an earlier
// run of the same output folder, from the same model bytes, dataset
// contents and settings, is not run again: its row is read back from
// results/<model>.json and its quantized model and range file are already
// in place. The key covers everything the row depends on (ResultKey); a
// failed model has no result file, so it always runs again.

// ResultFileVersion is the version of the result file format.
const ResultFileVersion = 1

// ResultFileKey returns the key of a model's result file under the output
// folder.
func ResultFileKey(model string) string { return path.Join("results", model+".json") }

// ResultFile is a model's complete report row and what it was computed
// from.
type ResultFile struct {
	Version int       `json:"version"`
	Key     string    `json:"key"`
	Model   string    `json:"model"`
	Inputs  ResultKey `json:"inputs"`
	// Int8Digest is the hex SHA-256 of the quantized model file the row
	// measured; a later run reuses the row only while the file is unchanged.
	Int8Digest string          `json:"int8_digest"`
	Row        json.RawMessage `json:"row"`
}

// ResultKey is everything a model's report row depends on.
type ResultKey struct {
	// Eightbit is the version (and, when the binary records it, the VCS
	// revision) of the code that computed the row.
	Eightbit    string   `json:"eightbit"`
	Name        string   `json:"name"`
	File        string   `json:"file"`
	Dataset     string   `json:"dataset"`
	Calibration CalibKey `json:"calibration"`
	EvalDigest  string   `json:"eval_digest"`
	EvalSamples int      `json:"eval_samples,omitempty"`
	// MeasureSpeed: a row with measured speed is not a row without.
	MeasureSpeed bool            `json:"measure_speed,omitempty"`
	BatchSize    int             `json:"batch_size,omitempty"`
	Output       string          `json:"output,omitempty"`
	Classes      int             `json:"classes"`
	LabelOffset  int             `json:"label_offset,omitempty"`
	Quantize     QuantizeOptions `json:"quantize"`
	FileVersion  int             `json:"file_version"`
}

// codeVersion is Version plus the VCS revision the binary was built from,
// when it records one (go build in a checkout; not go test).
func codeVersion() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				v += "+" + s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" {
				v += "-modified"
			}
		}
	}
	return v
}

// SkipDone splits the tasks of a quantize-zoo run into those to run
// (todo) and the report rows of those whose result file from an earlier
// run matches their key (done). It sets every task's ResultKey (the row
// of a task that completes is written to its result file by WriteReport).
// With force, every task runs.
func SkipDone(s beam.Scope, tasks beam.PCollection, opt CalibOptions, force bool) (todo, done beam.PCollection) {
	s = s.Scope("transforms.SkipDone")
	co, err := opt.Calibrate.Normalize()
	if err != nil {
		panic(fmt.Sprintf("transforms.SkipDone: %v", err)) // jobs validate options first
	}
	return beam.ParDo2(s, &skipDoneFn{Opt: co, Force: force}, tasks)
}

type skipDoneFn struct {
	Opt   calibrate.Options
	Force bool
}

func (f *skipDoneFn) ProcessElement(ctx context.Context, t ModelTask, todo func(ModelTask), done func(Row)) {
	key, inputs, err := resultKey(ctx, &t, f.Opt)
	if err != nil {
		// The stages that read the model and the data report the error.
		todo(t)
		return
	}
	t.ResultKey, t.ResultInputs = key, inputs
	if !f.Force {
		if row, ok := cachedRow(ctx, &t); ok {
			metricReused.Inc(ctx, 1)
			progressOf(t.RunID).reused.Add(1)
			done(row)
			return
		}
	}
	todo(t)
}

// resultKey computes a task's result key and the JSON of what it hashes:
// it reads the model (LoadModels later checks the bytes against t.Digest)
// and hashes both dataset splits.
func resultKey(ctx context.Context, t *ModelTask, o calibrate.Options) (string, []byte, error) {
	data, err := readKey(ctx, t.ZooURL, t.File)
	if err != nil {
		return "", nil, err
	}
	t.Digest = modelDigest(ctx, t, data)
	calibDigest, err := calibDatasetDigest(ctx, t)
	if err != nil {
		return "", nil, err
	}
	evalDigest, err := splitDigest(ctx, t, SplitEvaluation)
	if err != nil {
		return "", nil, err
	}
	k := ResultKey{
		Eightbit:     codeVersion(),
		Name:         t.Name,
		File:         t.File,
		Dataset:      t.Dataset,
		Calibration:  calibKey(t, calibDigest, o),
		EvalDigest:   evalDigest,
		EvalSamples:  t.EvalSamples,
		MeasureSpeed: t.MeasureSpeed,
		BatchSize:    t.BatchSize,
		Output:       t.Output,
		Classes:      t.Classes,
		LabelOffset:  t.LabelOffset,
		Quantize:     t.Quantize,
		FileVersion:  ResultFileVersion,
	}
	js, err := json.Marshal(k)
	if err != nil {
		return "", nil, err
	}
	return digest(js), js, nil
}

// cachedRow returns the row of t's result file when its key matches and
// the outputs it names still exist.
func cachedRow(ctx context.Context, t *ModelTask) (Row, bool) {
	b, err := outBucket(ctx, t.OutURL)
	if err != nil {
		return Row{}, false
	}
	data, err := b.ReadAll(ctx, ResultFileKey(t.Name))
	if err != nil {
		return Row{}, false
	}
	var rf ResultFile
	if json.Unmarshal(data, &rf) != nil || rf.Version != ResultFileVersion || rf.Key != t.ResultKey || rf.Model != t.Name {
		return Row{}, false
	}
	var m struct {
		Status string `json:"status"`
		Int8   *struct {
			Model string `json:"model"`
		} `json:"int8"`
		Calibration *struct {
			Ranges string `json:"ranges"`
		} `json:"calibration"`
	}
	if json.Unmarshal(rf.Row, &m) != nil || m.Status != "ok" || m.Int8 == nil || m.Int8.Model == "" {
		return Row{}, false
	}
	// The quantized model may have been rewritten since (a run with other
	// settings that failed later): reuse only the very file measured.
	model, err := b.ReadAll(ctx, m.Int8.Model)
	if err != nil || rf.Int8Digest == "" || digest(model) != rf.Int8Digest {
		return Row{}, false
	}
	return Row{Name: t.Name, JSON: rf.Row, Key: t.ResultKey, Cached: true, Int8Digest: rf.Int8Digest}, true
}

// writeResult writes the result file of a completed row.
func writeResult(ctx context.Context, out string, r Row) error {
	rf := ResultFile{Version: ResultFileVersion, Key: r.Key, Model: r.Name, Int8Digest: r.Int8Digest, Row: r.JSON}
	// The inputs are kept for people reading the file.
	if err := json.Unmarshal(r.Inputs, &rf.Inputs); err != nil {
		return fmt.Errorf("result of %s: %w", r.Name, err)
	}
	data, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return err
	}
	b, err := outBucket(ctx, out)
	if err != nil {
		return err
	}
	return b.WriteAtomic(ctx, ResultFileKey(r.Name), append(data, '\n'), "application/json")
}
