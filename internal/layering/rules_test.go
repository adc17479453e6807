package layering

// A layer is one row of the rule table: a project package (its path inside
// the module) and what it may import.
type layer struct {
	pkg  string
	owns string // what the package is for, quoted in failures
	// imports are the project packages pkg may import directly, together
	// with everything they may import, transitively, and the leaves.
	imports []string
	// leaf packages import no project package at all (not even leaves).
	leaf bool
	// never are project packages pkg must not import, in its code or its
	// tests, although imports would allow them.
	never []string
	// beam: pkg may depend on Apache Beam. beamTests: its tests may
	// (always true when beam is).
	beam, beamTests bool
	// testOnly packages are helpers for tests: no non-test file may import
	// them.
	testOnly bool
	// gocloud are the gocloud.dev packages pkg may import directly.
	gocloud []string
}

// leaves may be imported by every package that is not a leaf itself.
var leaves = []string{"failure", "tensor", "qmath", "internal/cpu", "internal/version", "internal/demozoo"}

// The blob drivers a main package blank-imports. storage opens locations
// through gocloud.dev/blob's URL mux and registers none of them.
var blobDrivers = []string{
	"gocloud.dev/blob/azureblob",
	"gocloud.dev/blob/fileblob",
	"gocloud.dev/blob/gcsblob",
	"gocloud.dev/blob/s3blob",
}

// belowTransforms are the packages of the rows below transforms.
var belowTransforms = []string{
	"evaluate", "storage", "report", "zoo", "dataset", "quantize", "calibrate",
	"infer", "formats", "formats/onnx", "formats/tfgraph", "graph", "kernels",
}

// rules is the rule table, top row first.
var rules = []layer{
	{pkg: "cmd/eightbit", owns: "the CLI", imports: []string{"jobs", "pipeline"}, never: []string{"transforms"},
		beam: true, gocloud: blobDrivers},
	{pkg: "bench/ortcompare", owns: "the speed comparison against ONNX Runtime, a command run by bench/ort-compare.sh",
		imports: []string{"zoo"}},
	{pkg: "internal/badinput", owns: "the hostile-input corpus and its loader", testOnly: true,
		imports: []string{"formats", "infer", "storage", "dataset", "zoo"}},
	{pkg: "jobs", owns: "named jobs and the job-spec file", imports: []string{"pipeline", "transforms"}, beam: true},
	{pkg: "pipeline", owns: "runner choice, options and metrics read-back", imports: []string{"transforms"}, beam: true},
	{pkg: "transforms", owns: "the Beam glue", imports: belowTransforms, beam: true},
	{pkg: "evaluate", owns: "evaluation without Beam: batching, running, scoring, per-layer statistics",
		imports: []string{"report", "dataset", "quantize", "infer"}},
	{pkg: "storage", owns: "blob folders over gocloud.dev/blob",
		gocloud: []string{"gocloud.dev/blob", "gocloud.dev/gcerrors"}},
	{pkg: "storage/storagetest", owns: "S3 and GCS test servers", leaf: true, testOnly: true},
	{pkg: "report", owns: "report files and metrics", imports: []string{"graph"}},
	{pkg: "zoo", owns: "the zoo manifest", imports: []string{"tensor"}},
	{pkg: "dataset", owns: "dataset readers and preprocessing", imports: []string{"tensor"}},
	{pkg: "quantize", owns: "the graph rewrite", imports: []string{"graph", "calibrate", "qmath"}},
	{pkg: "calibrate", owns: "mergeable range observers", imports: []string{"tensor", "qmath"}},
	{pkg: "infer", owns: "the executor", imports: []string{"graph", "kernels"}},
	{pkg: "formats", owns: "the codec choice by format name", imports: []string{"formats/onnx", "formats/tfgraph", "graph"}},
	{pkg: "formats/onnx", owns: "the ONNX codec", imports: []string{"graph", "formats/onnx/onnxpb"}},
	{pkg: "formats/onnx/onnxpb", owns: "the generated ONNX protobuf messages", leaf: true},
	{pkg: "formats/tfgraph", owns: "the TensorFlow GraphDef importer", imports: []string{"graph", "formats/tfgraph/tfpb"}},
	{pkg: "formats/tfgraph/tfpb", owns: "the generated TensorFlow protobuf messages", leaf: true},
	{pkg: "graph", owns: "the model IR", imports: []string{"tensor", "qmath"}},
	{pkg: "kernels", owns: "the kernels with assembly", imports: []string{"kernels/reference", "tensor", "qmath", "internal/cpu", "internal/cpu/cputest"}},
	{pkg: "kernels/reference", owns: "the readable definitions the kernels match bit for bit", imports: []string{"tensor", "qmath"}},
	{pkg: "failure", owns: "failure kinds and classified errors", leaf: true},
	{pkg: "tensor", owns: "tensors", leaf: true},
	{pkg: "qmath", owns: "scale, zero point and rounding math", leaf: true},

	// internal/cpu reads CPU features from golang.org/x/sys/cpu; version is
	// a constant; demozoo embeds the demo zoo's files.
	{pkg: "internal/cpu", owns: "CPU features and the kernel dispatch registry", leaf: true},
	{pkg: "internal/version", owns: "the version string", leaf: true},
	{pkg: "internal/demozoo", owns: "the embedded demo zoo", leaf: true},
	// Test helpers: they import package testing.
	{pkg: "internal/cpu/cputest", owns: "runs a kernel test once per implementation", testOnly: true},
	{pkg: "internal/zootest", owns: "the shared test zoo's location", leaf: true, testOnly: true},
	{pkg: "internal/browsertest", owns: "headless-browser checks of report pages", leaf: true, testOnly: true},
	{pkg: "internal/orttest", owns: "ONNX Runtime for the interop tests (build tag ort)", testOnly: true},
	{pkg: "internal/prismtest", owns: "a prism job server for tests", leaf: true, testOnly: true, beam: true},
	// ortinterop has only tests (build tag ort), which run jobs on Beam.
	{pkg: "internal/ortinterop", owns: "the ONNX Runtime interoperability tests", leaf: true, beamTests: true},
	{pkg: "internal/layering", owns: "this test", leaf: true},
}

// An exception allows one import the table above forbids, for the reason
// given.
type exception struct {
	pkg, imports, why string
}

var exceptions = []exception{
	{"zoo", "dataset", "a manifest's dataset entries are dataset's own types " +
		"(dataset.Files, dataset.LabelFile, dataset.Preprocess, dataset.Formats), " +
		"so the manifest schema and the readers cannot drift apart; dataset never imports zoo"},
	{"storage", "gocloud.dev/blob/memblob", "storage keeps one memblob store per mem:// name " +
		"for the whole process and opens it with memblob.OpenBucket, not through the URL mux"},
}
