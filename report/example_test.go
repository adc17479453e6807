package report_test

import (
	"fmt"
	"log"
	"os"

	"github.com/eightbitml/eightbit/report"
)

func Example() {
	r := report.New("demo", "mem://zoo", "dev")
	r.Models = append(r.Models,
		report.Model{
			Name:        "mlp",
			Status:      report.StatusOK,
			Dataset:     "mnist",
			Calibration: &report.Calibration{Method: "minmax", Samples: 100},
			Float:       &report.Float{Bytes: 4096, Top1: new(0.95), Samples: 1000},
			Int8:        &report.Int8{Bytes: 1024, Top1: new(0.948), Samples: 1000, Model: "models/mlp.int8.onnx"},
			Agreement:   new(0.991),
			SizeRatio:   report.Ratio(4096, 1024),
		},
		report.Model{Name: "cnn", Status: report.StatusFailed, Error: "unsupported op LSTM"},
	)
	js, err := r.JSON()
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(js)

	back, err := report.Parse(js)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Models[0].Name, back.Models[1].Name)
	// Output:
	// {
	//   "schema": "eightbit.report/v1",
	//   "job": "demo",
	//   "zoo": "mem://zoo",
	//   "eightbit_version": "dev",
	//   "models": [
	//     {
	//       "name": "cnn",
	//       "status": "failed",
	//       "error": "unsupported op LSTM"
	//     },
	//     {
	//       "name": "mlp",
	//       "status": "ok",
	//       "dataset": "mnist",
	//       "calibration": {
	//         "method": "minmax",
	//         "samples": 100
	//       },
	//       "float": {
	//         "bytes": 4096,
	//         "top1": 0.95,
	//         "samples": 1000
	//       },
	//       "int8": {
	//         "bytes": 1024,
	//         "top1": 0.948,
	//         "samples": 1000,
	//         "model": "models/mlp.int8.onnx"
	//       },
	//       "agreement": 0.991,
	//       "size_ratio": 0.25
	//     }
	//   ]
	// }
	// cnn mlp
}

func ExampleReport_Markdown() {
	r := report.New("demo", "", "")
	r.Models = []report.Model{{
		Name:   "mlp",
		Status: report.StatusOK,
		Float:  &report.Float{Bytes: 4096, Top1: new(0.95), Samples: 1000},
		Int8:   &report.Int8{Bytes: 1024, Top1: new(0.948), Samples: 1000},
	}}
	os.Stdout.Write(r.Markdown())
	// Output:
	// # eightbit report: demo
	//
	// - models: 1 (1 ok, 0 failed)
	//
	// | model | status | float top-1 | int8 top-1 | Δ top-1 | agreement | float KiB | int8 KiB | size |
	// |:--|:--|--:|--:|--:|--:|--:|--:|--:|
	// | mlp | ok | 95.00% | 94.80% | -0.20 | – | 4.0 | 1.0 | 25.00% |
	//
	// Legend: top-1 is the share of evaluation samples whose highest-scoring class
	// is the label; Δ top-1 is int8 minus float in percentage points; agreement is
	// the share of samples on which int8 and float predict the same class; KiB is
	// the model file size (1 KiB = 1024 bytes); size is int8 bytes / float bytes.
	// – means not measured.
}
