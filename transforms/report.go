package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/internal/version"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/report"
	"github.com/eightbitml/eightbit/storage"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*RowList)(nil)).Elem())
	register.Combiner3[RowList, Row, RowList](&collectRowsFn{})
	register.DoFn2x1[context.Context, RowList, error](&writeReportFn{})
}

// Report file keys under the output folder.
const (
	ReportJSON     = "report.json"
	ReportMarkdown = "report.md"
	ReportCSV      = "summary.csv"
	ReportHTML     = "index.html"
)

// DeadLetterKey is the dead-letter file: one JSON object per line for
// every model that failed ({"kind":"model","model":...,"error":...}) and
// every evaluation sample that could not be used ({"kind":"sample",
// "model":...,"id":...,"error":...}), in report order; empty when nothing
// failed. It is written with the report files.
const DeadLetterKey = "dead-letter.jsonl"

// DeadLetter is one line of the dead-letter file.
type DeadLetter struct {
	Kind  string `json:"kind"`
	Model string `json:"model"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
	// Stage and ErrorKind classify a model's failure (report.Model).
	Stage     string `json:"stage,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
}

// deadLetters renders the dead-letter file of a report.
func deadLetters(rep *report.Report) []byte {
	var out []byte
	add := func(d DeadLetter) {
		b, _ := json.Marshal(d) // plain strings
		out = append(append(out, b...), '\n')
	}
	for _, m := range rep.Models {
		if m.Status != report.StatusOK {
			add(DeadLetter{Kind: "model", Model: m.Name, Error: m.Error, Stage: m.Stage, ErrorKind: m.ErrorKind})
		}
		for _, b := range m.BadSamples {
			add(DeadLetter{Kind: "sample", Model: m.Name, ID: b.ID, Error: b.Error})
		}
	}
	return out
}

// Run bookkeeping under the output folder: runs/<run id>/ holds each run's
// report files and run.json; LATEST names the newest run, whose report
// files are also at the top of the folder.
const (
	RunsDir   = "runs"
	RunJSON   = "run.json"
	LatestKey = "LATEST"
)

// RunInfo is runs/<run id>/run.json: what a run did beyond its report
// (which stays byte-identical across runs with the same inputs).
type RunInfo struct {
	RunID  string `json:"run_id"`
	Job    string `json:"job"`
	Models int    `json:"models"`
	// Reused lists the models whose rows came from an earlier run's
	// result files (incremental runs), sorted.
	Reused []string `json:"reused,omitempty"`
	// Seconds is the run's wall time and Metrics the Beam metrics read back
	// after it (see pipeline.CollectMetrics); both are added when the run ends.
	Seconds float64                  `json:"seconds,omitempty"`
	Metrics map[string]report.Metric `json:"metrics,omitempty"`
}

// Version is written into reports as eightbit_version.
const Version = version.Version

// ReportInfo is the job-level part of a report.
type ReportInfo struct {
	Job string
	Zoo string
	// RunID names this run: the report files are written under
	// runs/<RunID>/ as well as at the top of the output folder, and
	// LATEST holds it. Empty: top level only.
	RunID string
	// MaxTop1Drop and MinAgreement are the quality gates (report.Gates);
	// nil disables a gate.
	MaxTop1Drop, MinAgreement *float64
}

func baseModel(t *ModelTask) report.Model {
	m := report.Model{
		Name:    t.Name,
		File:    t.File,
		Dataset: t.Dataset,
	}
	if len(t.Ops) > 0 {
		m.Ops = map[string]int{}
		for _, kv := range t.Ops {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.Atoi(v)
			m.Ops[k] = n
		}
	}
	if t.FloatBytes > 0 {
		m.Float = &report.Float{Bytes: t.FloatBytes}
	}
	return m
}

func encodeRow(m report.Model) Row {
	b, err := json.Marshal(m)
	if err != nil {
		// report.Model holds only plain fields; this cannot fail.
		panic(err)
	}
	return Row{Name: m.Name, JSON: b}
}

// failureRow is the report row of a model that failed at a stage.
func failureRow(t *ModelTask, stage string, err error) Row {
	m := baseModel(t)
	c := failure.Classify(stage, err)
	m.Status = report.StatusFailed
	m.Error, m.Stage, m.ErrorKind = c.Error(), c.Stage, string(c.Kind)
	return encodeRow(m)
}

// speed turns the wall time of n timed images into ms per image and images
// per second.
func speed(nanos, n int64) (ms, ips *float64) {
	if nanos <= 0 || n <= 0 {
		return nil, nil
	}
	m := float64(nanos) / 1e6 / float64(n)
	r := 1000 / m
	return &m, &r
}

func fraction(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	v := float64(n) / float64(d)
	return &v
}

// okRow is the report row of a model that went through every stage, with
// its per-layer statistics in graph order and the ranked culprits. Speed (ms_per_image,
// images_per_sec) is not filled in: report.json must be byte-identical
// across identical runs, and a measured time never is.
func okRow(t *ModelTask, c *EvalCounts, layers []report.Layer, culprits []string) Row {
	m := baseModel(t)
	m.Status = report.StatusOK
	m.Format = t.Quantize.format()
	m.Scheme = t.Quantize.scheme()
	if t.Quantize.WeightRanges != "" && t.Quantize.WeightRanges != quantize.WeightRangesMinMax {
		m.WeightRanges = t.Quantize.WeightRanges
	}
	m.Calibration = calibrationInfo(t)
	if t.Quantize.CLE {
		m.Equalization = &report.Equalization{Pairs: t.CLEPairs, Clips: t.CLEClips}
	}
	m.Float = &report.Float{Bytes: t.FloatBytes, Top1: fraction(c.FloatCorrect, c.Samples), Samples: int(c.Samples),
		Top5: fraction(c.FloatTop5, c.Top5Samples)}
	m.Int8 = &report.Int8{Bytes: t.Int8Bytes, Top1: fraction(c.Int8Correct, c.Samples), Samples: int(c.Samples), Model: t.Int8Key,
		Top5: fraction(c.Int8Top5, c.Top5Samples)}
	m.Agreement = fraction(c.Agree, c.Samples)
	m.SizeRatio = report.Ratio(t.FloatBytes, t.Int8Bytes)
	if t.MeasureSpeed && c.TimedSamples > 0 {
		m.Float.MsPerImage, m.Float.ImagesPerSec = speed(c.FloatNanos, c.TimedSamples)
		m.Int8.MsPerImage, m.Int8.ImagesPerSec = speed(c.Int8Nanos, c.TimedSamples)
	}
	m.Top1Diff = report.Top1Diff(c.Samples, c.FloatOnly, c.Int8Only)
	m.Params = t.Params
	m.MACsPerImage = c.MACs
	m.IntegerMACShare = int8MACShare(c)
	for k, n := range c.ClassSamples {
		if n == 0 {
			continue
		}
		ca := report.ClassAccuracy{Class: k + t.LabelOffset, Samples: int(n)}
		if k < len(c.ClassFloat) {
			ca.FloatTop1 = fraction(c.ClassFloat[k], n)
		}
		if k < len(c.ClassInt8) {
			ca.Int8Top1 = fraction(c.ClassInt8[k], n)
		}
		m.PerClass = append(m.PerClass, ca)
	}
	m.Layers, m.Culprits = layers, culprits
	var bad []dataset.BadSample
	if len(c.Bad) > 0 && json.Unmarshal(c.Bad, &bad) == nil {
		for _, b := range bad {
			m.BadSamples = append(m.BadSamples, report.BadSample{ID: b.ID, Error: b.Err})
		}
		m.Float.Failed, m.Int8.Failed = len(bad), len(bad)
	}
	row := encodeRow(m)
	row.Key, row.Inputs, row.Int8Digest = t.ResultKey, t.ResultInputs, t.Int8Digest
	return row
}

// RowList is every row of a job, sorted by model name.
type RowList struct {
	Rows []Row
}

type collectRowsFn struct{}

func (f *collectRowsFn) CreateAccumulator() RowList { return RowList{} }

func (f *collectRowsFn) AddInput(a RowList, r Row) RowList {
	a.Rows = append(a.Rows, r)
	return a
}

func (f *collectRowsFn) MergeAccumulators(a, b RowList) RowList {
	return RowList{Rows: append(append([]Row(nil), a.Rows...), b.Rows...)}
}

func (f *collectRowsFn) ExtractOutput(a RowList) RowList {
	rows := append([]Row(nil), a.Rows...)
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Name != rows[j].Name {
			return rows[i].Name < rows[j].Name
		}
		return string(rows[i].JSON) < string(rows[j].JSON)
	})
	return RowList{Rows: rows}
}

type writeReportFn struct {
	Out  string
	Info ReportInfo
}

func (f *writeReportFn) ProcessElement(ctx context.Context, rows RowList) error {
	rep := report.New(f.Info.Job, storage.Redact(f.Info.Zoo), Version)
	for _, r := range rows.Rows {
		var m report.Model
		if err := json.Unmarshal(r.JSON, &m); err != nil {
			return fmt.Errorf("report row %s: %w", r.Name, err)
		}
		rep.Models = append(rep.Models, m)
	}
	report.Evaluate(rep, report.Gates{MaxTop1Drop: f.Info.MaxTop1Drop, MinAgreement: f.Info.MinAgreement})
	js, err := rep.JSON()
	if err != nil {
		return err
	}
	b, err := outBucket(ctx, f.Out)
	if err != nil {
		return err
	}
	// Result files of the rows completed in this run, for later runs.
	var reused []string
	for _, r := range rows.Rows {
		switch {
		case r.Cached:
			reused = append(reused, r.Name)
		case r.Key != "":
			if err := writeResult(ctx, f.Out, r); err != nil {
				return err
			}
		}
	}
	files := []struct {
		key, typ string
		data     []byte
	}{
		{ReportJSON, "application/json", js},
		{ReportMarkdown, "text/markdown; charset=utf-8", rep.Markdown()},
		{ReportCSV, "text/csv; charset=utf-8", rep.CSV()},
		{ReportHTML, "text/html; charset=utf-8", rep.HTML()},
		{DeadLetterKey, "application/x-ndjson", deadLetters(rep)},
	}
	var prefixes []string
	if f.Info.RunID != "" {
		prefixes = append(prefixes, path.Join(RunsDir, f.Info.RunID))
		info, err := json.MarshalIndent(RunInfo{RunID: f.Info.RunID, Job: f.Info.Job, Models: len(rows.Rows), Reused: reused}, "", "  ")
		if err != nil {
			return err
		}
		if err := b.WriteAtomic(ctx, path.Join(RunsDir, f.Info.RunID, RunJSON), append(info, '\n'), "application/json"); err != nil {
			return err
		}
	}
	prefixes = append(prefixes, "")
	for _, prefix := range prefixes {
		for _, f := range files {
			if err := b.WriteAtomic(ctx, path.Join(prefix, f.key), f.data, f.typ); err != nil {
				return err
			}
		}
	}
	if f.Info.RunID != "" {
		if err := b.WriteAtomic(ctx, LatestKey, []byte(f.Info.RunID+"\n"), "text/plain; charset=utf-8"); err != nil {
			return err
		}
	}
	return nil
}

// WriteReport gathers every report row, checks the gates of info and writes
// report.json, report.md, summary.csv and index.html atomically under out.
func WriteReport(s beam.Scope, rows beam.PCollection, out string, info ReportInfo) {
	s = s.Scope("transforms.WriteReport")
	all := beam.Combine(s, &collectRowsFn{}, rows)
	beam.ParDo0(s, &writeReportFn{Out: out, Info: info}, all)
}

// ReadReport reads report.json back from an output folder (the latest
// run's).
func ReadReport(ctx context.Context, out string) (*report.Report, error) {
	return ReadReportKey(ctx, out, ReportJSON)
}

// ReadReportKey reads a report.json at key under an output folder.
func ReadReportKey(ctx context.Context, out, key string) (*report.Report, error) {
	data, err := readKey(ctx, out, key)
	if err != nil {
		return nil, err
	}
	return report.Parse(data)
}

// ReadRunInfo reads runs/<runID>/run.json back from an output folder.
func ReadRunInfo(ctx context.Context, out, runID string) (*RunInfo, error) {
	data, err := readKey(ctx, out, path.Join(RunsDir, runID, RunJSON))
	if err != nil {
		return nil, err
	}
	var ri RunInfo
	if err := json.Unmarshal(data, &ri); err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(RunsDir, runID, RunJSON), err)
	}
	return &ri, nil
}
