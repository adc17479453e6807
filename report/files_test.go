package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/report"
)

// rich is a report using every field, with hostile strings.
func rich() *report.Report {
	f := func(v float64) *float64 { return &v }
	r := report.New("nightly <b>&</b>", "s3://zoo?x=1&y=2", "v0.2.0")
	layer := func(name, op string, sqnr float64, clipped float64) report.Layer {
		return report.Layer{Tensor: name, Op: op, Scale: 0.02, ZeroPoint: 128, Values: 10000,
			SQNRDB: f(sqnr), Cosine: f(0.999), MaxAbsErr: 0.03, Clipped: clipped}
	}
	r.Models = []report.Model{
		{
			Name: "lenet", Status: report.StatusOK, File: "lenet/model.onnx", Format: "qdq", Dataset: "mnist",
			Scheme:      "u8s8-channel",
			Calibration: &report.Calibration{Method: "minmax", Samples: 512},
			Float: &report.Float{Bytes: 246784, Top1: f(0.9912), Samples: 10000, Top5: f(0.9999),
				MsPerImage: f(0.52), ImagesPerSec: f(1923.1)},
			Int8: &report.Int8{Bytes: 63488, Top1: f(0.9907), Samples: 10000, Model: "models/lenet.int8.onnx",
				Top5: f(0.9998), Failed: 0, MsPerImage: f(0.21), ImagesPerSec: f(4761.9)},
			Agreement: f(0.9978), SizeRatio: f(0.25726),
			Params: 61706, MACsPerImage: 416520, IntegerMACShare: f(1),
			PerClass: []report.ClassAccuracy{{Class: 0, Label: "zero", Samples: 980, FloatTop1: f(0.995), Int8Top1: f(0.994)}},
			Top1Diff: report.Top1Diff(10000, 14, 9),
			Layers: []report.Layer{
				layer("conv1", "Conv", 38.2, 0),
				layer("relu1", "Relu", 36.0, 0.0001),
				layer("conv2", "Conv", 19.4, 0.012),
				{Tensor: "flatten", Op: "Flatten", Scale: 0.02, ZeroPoint: 128, Values: 10000, Exact: true, Cosine: f(1)},
				layer("fc1", "Gemm", 29.9, 0),
				layer("logits", "Gemm", 27.1, 0),
			},
			Ops: map[string]int{"Conv": 2, "Gemm": 2, "Relu": 3},
		},
		{
			Name: "mlp<script>alert(1)</script>", Status: report.StatusOK, Dataset: "mnist",
			Calibration: &report.Calibration{Method: "percentile", Samples: 256, Percentile: 99.99, Bins: 2048},
			Float:       &report.Float{Bytes: 407000, Top1: f(0.97), Samples: 10000, ImagesPerSec: f(5100)},
			Int8:        &report.Int8{Bytes: 103000, Top1: f(0.95), Samples: 10000, Failed: 2, ImagesPerSec: f(9800.5)},
			Agreement:   f(0.96),
		},
		{Name: "resnet-tiny", Status: report.StatusFailed, Error: `unsupported op "LSTM", "a,b"`, FailedOps: []string{"LSTM"}},
	}
	report.Evaluate(r, report.Gates{MaxTop1Drop: f(0.01), MinAgreement: f(0.99)})
	r.Models[0].Culprits = report.RankCulprits(r.Models[0].Layers)
	return r
}

func TestFileGoldens(t *testing.T) {
	r := rich()
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rich.json", js)
	golden(t, "rich.csv", r.CSV())
	golden(t, "rich.html", r.HTML())
	golden(t, "hostile.html", hostile().HTML())
	golden(t, "hostile.md", hostile().Markdown())
	golden(t, "empty.csv", report.New("", "", "").CSV())
	golden(t, "empty.html", report.New("", "", "").HTML())
	back, err := report.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.JSON()
	if !bytes.Equal(js, again) {
		t.Fatal("round trip changed the rich report")
	}
}

func TestCSV(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(rich().CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(report.CSVColumns, ",") {
		t.Fatalf("rows %q", rows)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	lenet, failed := rows[1], rows[3]
	for k, want := range map[string]string{
		"name": "lenet", "float_top1": "0.9912", "int8_bytes": "63488", "worst_layer": "conv2",
		"worst_layer_sqnr_db": "19.4", "gates_passed": "true", "int8_failed": "0", "layers": "6",
	} {
		if got := lenet[col[k]]; got != want {
			t.Errorf("lenet %s = %q, want %q", k, got, want)
		}
	}
	if failed[col["error"]] != `unsupported op "LSTM", "a,b"` || failed[col["float_top1"]] != "" || failed[col["gates_passed"]] != "false" {
		t.Errorf("failed row %q", failed)
	}
}

func TestHTMLEscapesAndCharts(t *testing.T) {
	h := string(rich().HTML())
	if strings.Contains(h, "<script>") || strings.Contains(h, "<b>&</b>") {
		t.Fatal("unescaped report string in HTML")
	}
	if n := strings.Count(h, `<figure class="layer-chart"`); n != 3 {
		t.Fatalf("%d layer charts, want one per model (3)", n)
	}
	if n := strings.Count(h, "no per-layer data"); n != 2 {
		t.Fatalf("%d placeholders, want 2", n)
	}
	for _, want := range []string{`id="accuracy-size"`, `id="throughput"`, `class="bar culprit"`, "Content-Security-Policy"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "@import"} {
		if strings.Contains(strings.ReplaceAll(h, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}
