package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// sample returns a report whose models are deliberately out of order.
func sample() *report.Report {
	r := report.New("nightly", "s3://models/zoo?region=eu-west-1", "v0.1.0")
	r.Models = []report.Model{
		{
			Name:      "resnet-tiny",
			Status:    report.StatusFailed,
			Error:     "quantize: unsupported op LSTM | at node lstm_1\nsecond line",
			File:      "resnet/tiny.onnx",
			Format:    "onnx",
			Dataset:   "cifar10",
			Float:     &report.Float{Bytes: 1 << 20},
			Ops:       map[string]int{"LSTM": 1, "Gemm": 1},
			FailedOps: []string{"LSTM", "GRU"},
		},
		{
			Name:        "lenet",
			Status:      report.StatusOK,
			File:        "lenet/model.onnx",
			Format:      "onnx",
			Dataset:     "mnist",
			Scheme:      "qdq-s8-per-tensor",
			Calibration: &report.Calibration{Method: "minmax", Samples: 512},
			Float:       &report.Float{Bytes: 246784, Top1: new(0.9912), Samples: 10000},
			Int8:        &report.Int8{Bytes: 63488, Top1: new(0.9907), Samples: 10000, Model: "models/lenet.int8.onnx"},
			Agreement:   new(0.9978),
			SizeRatio:   report.Ratio(246784, 63488),
			Ops:         map[string]int{"Relu": 3, "Conv": 2, "Gemm": 2, "MaxPool": 2},
		},
		{
			Name:        "mlp",
			Status:      report.StatusOK,
			Dataset:     "mnist",
			Calibration: &report.Calibration{Method: "percentile", Samples: 256, Percentile: 99.99, Bins: 2048, Ranges: "calibration/mlp.json"},
			Float:       &report.Float{Bytes: 407000, Top1: new(0.97), Samples: 10000},
			Int8:        &report.Int8{Bytes: 103000, Top1: new(0.9731), Samples: 10000, Model: "models/mlp.int8.onnx"},
			Agreement:   new(0.0),
			Ops:         map[string]int{"Gemm": 3, "Relu": 2},
		},
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for name, r := range map[string]*report.Report{
		"full":  sample(),
		"empty": report.New("", "", ""),
	} {
		t.Run(name, func(t *testing.T) {
			js, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json", js)
			golden(t, name+".md", r.Markdown())
		})
	}
}

func TestDeterministic(t *testing.T) {
	a, b := sample(), sample()
	b.Sort()
	b.Models[0].Ops = map[string]int{"MaxPool": 2, "Gemm": 2, "Conv": 2, "Relu": 3}
	ja, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) || !bytes.Equal(a.Markdown(), b.Markdown()) {
		t.Fatal("rendering depends on model order")
	}
	// Rendering does not reorder the caller's report.
	if a.Models[0].Name != "resnet-tiny" || a.Models[0].FailedOps[0] != "LSTM" {
		t.Fatal("JSON or Markdown modified the report")
	}
	if !bytes.HasSuffix(ja, []byte("}\n")) {
		t.Fatal("JSON lacks trailing newline")
	}
}

func TestRoundTrip(t *testing.T) {
	js, err := sample().JSON()
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, again) {
		t.Fatalf("round trip changed the report:\n%s\n%s", js, again)
	}
	if got := r.Models[0]; got.Name != "lenet" || *got.Int8.Top1 != 0.9907 || got.Calibration.Samples != 512 {
		t.Fatalf("parsed %+v", got)
	}
	if *r.Models[1].Agreement != 0 {
		t.Fatal("zero agreement lost")
	}
}

func TestSort(t *testing.T) {
	r := sample()
	r.Sort()
	var names []string
	for _, m := range r.Models {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, ","); got != "lenet,mlp,resnet-tiny" {
		t.Fatalf("Sort order %s", got)
	}
	if got := strings.Join(r.Models[2].FailedOps, ","); got != "GRU,LSTM" {
		t.Fatalf("failed_ops %s", got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"minimal", `{"schema":"eightbit.report/v1","models":[]}`, ""},
		{"extra fields", `{"schema":"eightbit.report/v1","future":1,"models":[{"name":"a","status":"ok","later":{"x":1}}]}`, ""},
		{"no schema", `{"models":[]}`, `no "schema" field`},
		{"other schema", `{"schema":"eightbit.report/v2","models":[]}`, `schema "eightbit.report/v2"`},
		{"not json", `schema`, "report: parse: invalid character"},
		{"bad type", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok","float":{"bytes":"x"}}]}`, "cannot unmarshal"},
		{"bad status", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"meh"}]}`, `status "meh"`},
		{"failed no error", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"failed"}]}`, `failed row without "error"`},
		{"ok with error", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok","error":"x"}]}`, `"error" set on an ok row`},
		{"top1 > 1", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok","int8":{"top1":98.1}}]}`, "int8.top1 = 98.1"},
		{"negative agreement", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok","agreement":-0.1}]}`, "agreement = -0.1"},
		{"negative bytes", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok","float":{"bytes":-1}}]}`, "float.bytes = -1"},
		{"duplicate", `{"schema":"eightbit.report/v1","models":[{"name":"a","status":"ok"},{"name":"a","status":"ok"}]}`, `model "a": duplicate name`},
		{"empty name", `{"schema":"eightbit.report/v1","models":[{"status":"ok"}]}`, "model #0: empty name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := report.Parse([]byte(tc.in))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Parse succeeded, want error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Parse error %q, want it to contain %q", err, tc.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "report: parse: "):
				t.Fatalf("error %q lacks context", err)
			}
		})
	}
}

func TestJSONRefusesInvalid(t *testing.T) {
	r := sample()
	r.Models[1].Status = "" // lenet
	if _, err := r.JSON(); err == nil || !strings.Contains(err.Error(), `report: invalid: model "lenet": status ""`) {
		t.Fatalf("JSON error = %v", err)
	}
	r = sample()
	r.Schema = ""
	if _, err := r.JSON(); err == nil {
		t.Fatal("JSON accepted an empty schema")
	}
	r = sample()
	r.Models[2].Calibration.Percentile = 120 // mlp
	if _, err := r.JSON(); err == nil || !strings.Contains(err.Error(), "calibration.percentile") {
		t.Fatalf("JSON error = %v", err)
	}
}

func TestMarkdownCells(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		m    report.Model
		want string // the table row
	}{
		{"unmeasured", report.Model{Name: "a", Status: report.StatusOK},
			"| a | ok | – | – | – | – | – | – | – |"},
		{"full", report.Model{Name: "b", Status: report.StatusOK,
			Float: &report.Float{Bytes: 2048, Top1: f(0.5)}, Int8: &report.Int8{Bytes: 512, Top1: f(0.4975)}, Agreement: f(1)},
			"| b | ok | 50.00% | 49.75% | -0.25 | 100.00% | 2.0 | 0.5 | 25.00% |"},
		{"no change", report.Model{Name: "c", Status: report.StatusOK,
			Float: &report.Float{Top1: f(0.3)}, Int8: &report.Int8{Top1: f(0.1 + 0.2)}},
			"| c | ok | 30.00% | 30.00% | 0.00 | – | – | – | – |"},
		{"gain", report.Model{Name: "d", Status: report.StatusOK,
			Float: &report.Float{Top1: f(0.9)}, Int8: &report.Int8{Top1: f(0.9125)}, SizeRatio: f(0.3)},
			"| d | ok | 90.00% | 91.25% | +1.25 | – | – | – | 30.00% |"},
		{"failed", report.Model{Name: "e|f", Status: report.StatusFailed, Error: "bad\nop | x"},
			`| e\|f | failed: bad op \| x | – | – | – | – | – | – | – |`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := report.New("", "", "")
			r.Models = []report.Model{tc.m}
			md := string(r.Markdown())
			if !strings.Contains(md, "\n"+tc.want+"\n") {
				t.Fatalf("row %q not in\n%s", tc.want, md)
			}
		})
	}
}
