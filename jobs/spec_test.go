package jobs

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	full := `
job: quantize-zoo
zoo: gs://models/zoo
out: gs://models/runs/nightly
runner: dataflow
beam:
  project: my-project
  region: europe-west1
  staging_location: gs://models/staging
calibration: {method: percentile, percentile: 99.99, samples: 1000, recalibrate: true}
evaluation: {samples: 2000}
quantize: {scheme: s8s8-channel, format: qoperator, weight_ranges: mse, exclude_nodes: [a, b], exclude_op_types: [Softmax], allow_contrib_ops: true}
sweep: [{scheme: u8s8-tensor}, {format: qdq}]
gates: {max_top1_drop: 0.01, min_agreement: 0.99}
allow_outside: true
shard_size: 100
`
	s, err := ParseSpec([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	j, err := s.NewJob("")
	if err != nil {
		t.Fatal(err)
	}
	q, ok := j.(*QuantizeZoo)
	if !ok || q.Zoo != "gs://models/zoo" || q.CalibSamples != 1000 || q.EvalSamples != 2000 || q.ShardSize != 100 ||
		q.Calibration != "percentile" || q.Percentile != 99.99 || !q.Recalibrate || !q.AllowOutside {
		t.Fatalf("job %#v", j)
	}
	if q.MaxTop1Drop == nil || *q.MaxTop1Drop != 0.01 || q.MinAgreement == nil || *q.MinAgreement != 0.99 {
		t.Fatalf("gates %v %v", q.MaxTop1Drop, q.MinAgreement)
	}
	if qo := q.Quantize; qo.Scheme != "s8s8-channel" || qo.Format != "qoperator" || qo.WeightRanges != "mse" ||
		len(qo.ExcludeNodes) != 2 || len(qo.ExcludeOpTypes) != 1 || !qo.AllowContribOps {
		t.Fatalf("quantize settings %#v", qo)
	}
	if len(q.Sweep) != 2 || q.Sweep[0].Label() != "u8s8-tensor+qoperator+mse+contrib+excluded-3" || q.Sweep[1].Label() != "s8s8-channel+mse+contrib+excluded-3" {
		t.Fatalf("sweep %+v", q.Sweep)
	}
	if s.Beam["region"] != "europe-west1" {
		t.Errorf("beam %v", s.Beam)
	}
	for _, tc := range []struct{ spec, job string }{
		{"job: evaluate\nzoo: z\nout: o\nevaluation: {samples: 5}\nallow_outside: true\n", "*jobs.Evaluate"},
		{"job: calibrate\nzoo: z\nout: o\ncalibration: {method: mse}\nallow_outside: true\n", "*jobs.Calibrate"},
	} {
		s, err := ParseSpec([]byte(tc.spec))
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.NewJob("prism")
		if err != nil {
			t.Fatal(err)
		}
		switch j := j.(type) {
		case *Evaluate:
			if tc.job != "*jobs.Evaluate" || j.EvalSamples != 5 || j.Runner != "prism" || !j.AllowOutside {
				t.Errorf("%q: %#v", tc.spec, j)
			}
		case *Calibrate:
			if tc.job != "*jobs.Calibrate" || j.Calibration != "mse" || !j.AllowOutside {
				t.Errorf("%q: %#v", tc.spec, j)
			}
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
		validate         bool // the error comes from Validate, not ParseSpec
	}{
		{"empty", "", "empty file", false},
		{"unknown field", "job: evaluate\nzooo: z\n", "field zooo not found", false},
		{"unknown nested field", "job: calibrate\ncalibration: {methd: mse}\n", "field methd not found", false},
		{"no job", "zoo: z\nout: o\n", "job: missing", false},
		{"bad job", "job: train\n", `job: "train"`, false},
		{"bad runner", "job: evaluate\nrunner: Prism\n", "runner: unknown runner", false},
		{"beam runner", "job: evaluate\nbeam: {runner: prism}\n", "beam.runner:", false},
		{"unknown beam option", "job: evaluate\nbeam: {projcet: p}\n", "beam.projcet: not a Beam pipeline option", false},
		{"bad method", "job: calibrate\ncalibration: {method: median}\n", `calibration.method: "median"`, false},
		{"percentile without method", "job: calibrate\ncalibration: {percentile: 99}\n", "calibration.percentile: needs method", false},
		{"percentile range", "job: calibrate\ncalibration: {method: percentile, percentile: 120}\n", "calibration.percentile: 120", false},
		{"negative calib", "job: calibrate\ncalibration: {samples: -1}\n", "calibration.samples: -1", false},
		{"negative eval", "job: evaluate\nevaluation: {samples: -1}\n", "evaluation.samples: -1", false},
		{"negative shard", "job: evaluate\nshard_size: -5\n", "shard_size: -5", false},
		{"bad type", "job: evaluate\nshard_size: many\n", "cannot unmarshal", false},
		{"quantize on evaluate", "job: evaluate\nquantize: {format: qdq}\n", "quantize: only used by the quantize-zoo job", false},
		{"bad scheme", "job: quantize-zoo\nquantize: {scheme: u4}\n", `quantize.scheme: "u4"`, false},
		{"sweep on calibrate", "job: calibrate\nsweep: [{scheme: s8s8-channel}]\n", "sweep: only used by the quantize-zoo job", false},
		{"bad sweep format", "job: quantize-zoo\nsweep: [{format: tflite}]\n", `sweep[0].format: "tflite"`, false},
		{"bad weight ranges", "job: quantize-zoo\nquantize: {weight_ranges: median}\n", `quantize.weight_ranges: "median"`, false},
		{"calibration on evaluate", "job: evaluate\ncalibration: {method: mse}\n", "calibration: not used by the evaluate job", false},
		{"evaluation on calibrate", "job: calibrate\nevaluation: {samples: 3}\n", "evaluation: not used by the calibrate job", false},
		{"gates on evaluate", "job: evaluate\ngates: {max_top1_drop: 0.01}\n", "gates: only used by the quantize-zoo job", false},
		{"gate range", "job: quantize-zoo\ngates: {min_agreement: 99}\n", "gates.min_agreement: 99, want a fraction", false},
		{"two documents", "job: evaluate\n---\njob: calibrate\n", "more than one YAML document", false},
		{"no zoo", "job: evaluate\nout: o\n", "zoo: missing", true},
		{"no out", "job: evaluate\nzoo: z\n", "out: missing", true},
		{"dataflow without project", "job: evaluate\nzoo: gs://b/z\nout: gs://b/o\nrunner: dataflow\nbeam: {region: r, staging_location: gs://b/s}\n", "beam.project: required by the dataflow runner", true},
		{"dataflow local zoo", "job: evaluate\nzoo: ./z\nout: gs://b/o\nrunner: dataflow\nbeam: {project: p, region: r, staging_location: gs://b/s}\n", "zoo: \"./z\": the dataflow runner needs a gs:// URL", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tc.spec))
			if tc.validate {
				if err != nil {
					t.Fatalf("ParseSpec: %v", err)
				}
				err = s.Validate()
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrConfig containing %q", err, tc.want)
			}
		})
	}
}
