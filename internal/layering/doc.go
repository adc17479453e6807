// Package layering holds the test that keeps eightbit's packages layered.
// Package imports form a DAG in which a lower package never imports a
// higher one:
//
//	cmd/eightbit         the CLI; jobs, pipeline and everything below except transforms
//	bench/ortcompare     the speed comparison with ONNX Runtime; zoo
//	jobs                 named jobs and the job-spec file; pipeline, transforms
//	pipeline             runner choice, options, metrics read-back; transforms
//	transforms           Beam glue; everything below
//	storage              blob folders over gocloud.dev/blob
//	report               report files and metrics; graph
//	zoo, dataset         manifest; readers and preprocessing; tensor
//	quantize             graph rewrite; graph, calibrate, qmath
//	calibrate            mergeable observers; tensor, qmath
//	infer                executor; graph, kernels
//	formats/onnx         ONNX codec; graph
//	graph                IR; tensor, qmath
//	kernels              kernels with assembly; tensor, qmath, internal/cpu
//
// tensor, qmath, internal/cpu, internal/version and internal/demozoo are
// leaves any package may import. Only transforms, pipeline, jobs and
// cmd/eightbit depend on Beam; only storage imports gocloud.dev, and the
// blob drivers are blank-imported by the program's main package
// (cmd/eightbit, or a test's drivers file), never by storage.
//
// The rule table is in rules_test.go; `go test ./internal/layering` runs
// `go list -deps -json` over the module, for the default build and the ort,
// purego and arm64 builds, and fails naming the package, the import and the
// rule it breaks. A package new to the module needs a row in the table.
package layering
