package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// builds are the build configurations whose import graphs are checked:
// build tags and GOARCH choose files, and so imports.
var builds = []struct {
	name string
	env  []string
	args []string
}{
	{"default", nil, nil},
	{"ort", nil, []string{"-tags", "ort"}},
	{"purego", nil, []string{"-tags", "purego"}},
	{"arm64", []string{"GOARCH=arm64"}, nil},
}

// TestLayering checks the module's packages against the rule table.
func TestLayering(t *testing.T) {
	module, dir := goModule(t)
	readSources(t, dir)
	for i, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Imports,TestImports,XTestImports,Error"}, b.args...)
			listed := goList(t, dir, b.env, append(args, "./...")...)
			c := newChecker(module, rules, exceptions, listed)
			if len(c.pkgs) == 0 {
				t.Fatalf("go list found no package of %s in %s", module, dir)
			}
			for _, v := range c.check() {
				t.Error(v)
			}
			if i == 0 {
				for _, name := range c.staleRows() {
					t.Errorf("the rule table has a row for %s, which is not a package of %s: remove it", name, module)
				}
			}
		})
	}
}

// readSources reads every folder and Go file of the module, and go.mod.
// go test caches a passing result by the files and variables the test
// itself reads; go list, a child process, is invisible to it, so without
// this an import added later would be met by the cached pass.
func readSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata"):
			return filepath.SkipDir
		case d.IsDir():
			_, err = os.Stat(path)
			return err
		case strings.HasSuffix(path, ".go") || path == filepath.Join(dir, "go.mod"):
			_, err = os.ReadFile(path)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the module's sources: %v", err)
	}
}

// goModule returns the path and root folder of the module under test.
func goModule(t *testing.T) (path, dir string) {
	t.Helper()
	var p struct{ Module struct{ Path, Dir string } }
	out := goCommand(t, "", nil, "list", "-json=Module", ".")
	if err := json.Unmarshal(out, &p); err != nil || p.Module.Path == "" || p.Module.Dir == "" {
		t.Fatalf("go list -json=Module .: no module (%v) in %q", err, out)
	}
	return p.Module.Path, p.Module.Dir
}

// goList runs go list with args in dir and decodes its stream of packages.
func goList(t *testing.T, dir string, env []string, args ...string) []pkgInfo {
	t.Helper()
	out := goCommand(t, dir, env, args...)
	var listed []pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go %s: decoding its output: %v", strings.Join(args, " "), err)
		}
		listed = append(listed, p)
	}
	return listed
}

// goCommand runs the go command and returns its standard output.
func goCommand(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the layering test runs the go command, which is not on PATH: %v", err)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestRuleTable checks the table itself: rows are unique, every import and
// exception names a row, and a row imports only rows listed below it, so
// the allowed imports form a DAG.
func TestRuleTable(t *testing.T) {
	index := map[string]int{}
	for i, r := range rules {
		if _, dup := index[r.pkg]; dup {
			t.Errorf("two rows for %s", r.pkg)
		}
		index[r.pkg] = i
		if r.owns == "" {
			t.Errorf("row %s does not say what the package owns", r.pkg)
		}
		if r.leaf && len(r.imports) > 0 {
			t.Errorf("row %s is a leaf with imports %v", r.pkg, r.imports)
		}
	}
	for i, r := range rules {
		for _, imp := range append(slices.Clone(r.imports), r.never...) {
			j, ok := index[imp]
			switch {
			case !ok:
				t.Errorf("row %s names %s, which has no row", r.pkg, imp)
			case j <= i:
				t.Errorf("row %s imports %s, which is not below it", r.pkg, imp)
			}
		}
	}
	for _, l := range leaves {
		if r, ok := index[l]; !ok || !rules[r].leaf {
			t.Errorf("%s is listed as a leaf but has no leaf row", l)
		}
	}
	for _, e := range exceptions {
		if _, ok := index[e.pkg]; !ok {
			t.Errorf("exception for %s, which has no row", e.pkg)
		}
		if e.why == "" {
			t.Errorf("exception %s → %s gives no reason", e.pkg, e.imports)
		}
	}
}

const (
	fakeModule = "example.com/m"
	beamPkg    = "github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// fakeList builds a `go list -deps` output from lines of the form
//
//	pkg: import import ... | test: import ...
//
// Project packages are written relative to fakeModule, others in full;
// packages imported but not described get no imports. "!err" as an import
// sets the package's go list error.
func fakeList(lines []string) []pkgInfo {
	byPath := map[string]*pkgInfo{}
	var order []string
	full := func(s string) string {
		if first, _, _ := strings.Cut(s, "/"); strings.Contains(first, ".") {
			return s
		}
		return fakeModule + "/" + s
	}
	get := func(path string) *pkgInfo {
		if p, ok := byPath[path]; ok {
			return p
		}
		p := &pkgInfo{ImportPath: path}
		byPath[path] = p
		order = append(order, path)
		return p
	}
	for _, line := range lines {
		name, rest, _ := strings.Cut(line, ":")
		code, tests, _ := strings.Cut(rest, "| test:")
		p := get(full(strings.TrimSpace(name)))
		p.Imports = nil
		for _, imp := range strings.Fields(code) {
			if imp == "!err" {
				p.Error = &struct{ Err string }{"no Go files"}
				continue
			}
			p.Imports = append(p.Imports, full(imp))
			get(full(imp))
		}
		p.TestImports = nil
		for _, imp := range strings.Fields(tests) {
			p.TestImports = append(p.TestImports, full(imp))
		}
	}
	out := make([]pkgInfo, len(order))
	for i, path := range order {
		out[i] = *byPath[path]
	}
	return out
}

// cleanModule follows every rule.
var cleanModule = []string{
	"cmd/eightbit: jobs pipeline report storage gocloud.dev/blob/fileblob | test: jobs internal/demozoo",
	"jobs: pipeline transforms report storage zoo " + beamPkg + " | test: storage/storagetest gocloud.dev/blob/fileblob",
	"pipeline: report " + beamPkg + " | test: transforms internal/prismtest",
	"transforms: storage report zoo dataset quantize infer formats/onnx internal/version " + beamPkg,
	"storage: gocloud.dev/blob gocloud.dev/gcerrors gocloud.dev/blob/memblob | test: gocloud.dev/blob/s3blob",
	"storage/storagetest: example.com/fakes3",
	"report:",
	"zoo: dataset",
	"dataset: tensor",
	"quantize: graph calibrate internal/version | test: infer formats/onnx internal/zootest",
	"calibrate: tensor qmath internal/cpu",
	"infer: graph kernels",
	"formats/onnx: graph formats/onnx/onnxpb",
	"formats/onnx/onnxpb: google.golang.org/protobuf/proto",
	"graph: tensor qmath",
	"kernels: tensor qmath internal/cpu",
	"tensor:", "qmath:",
	"internal/cpu: golang.org/x/sys/cpu",
	"internal/version:", "internal/demozoo:", "internal/zootest:",
	"internal/browsertest: github.com/chromedp/chromedp",
	"internal/prismtest: github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism",
	"internal/ortinterop: | test: jobs " + beamPkg + "/testing/ptest",
	"internal/layering:",
	"gocloud.dev/blob/fileblob: gocloud.dev/blob",
	"gocloud.dev/blob/memblob: gocloud.dev/blob",
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism: " + beamPkg,
}

// with returns cleanModule with lines replacing those of the same packages,
// or added.
func with(lines ...string) []string {
	out := slices.Clone(cleanModule)
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		i := slices.IndexFunc(out, func(o string) bool { n, _, _ := strings.Cut(o, ":"); return n == name })
		if i >= 0 {
			out[i] = l
		} else {
			out = append(out, l)
		}
	}
	return out
}

// TestCheck runs the checker, with the real rule table, on fake module
// graphs that each break one rule (or none).
func TestCheck(t *testing.T) {
	table := []struct {
		name  string
		lines []string
		want  []string // violation keys: "pkg import rule"
		msg   string   // a message must contain this, when set
	}{
		{"clean", cleanModule, nil, ""},
		{"kernels imports infer", with("kernels: tensor infer"),
			[]string{"kernels infer layer"}, "kernels imports infer: kernels (the kernels with assembly) may import only"},
		{"report imports quantize", with("report: graph quantize"),
			[]string{"report quantize layer"}, ""},
		{"graph imports a leaf", with("graph: tensor internal/version"), nil, ""},
		{"a leaf imports a leaf", with("tensor: qmath"), []string{"tensor qmath layer"}, "may import only no project package"},
		{"zoo imports dataset, an exception", with("zoo: dataset tensor"), nil, ""},
		{"dataset imports zoo", with("dataset: tensor zoo"), []string{"dataset zoo layer"}, ""},
		{"jobs imports everything below", with("jobs: pipeline transforms storage report zoo dataset quantize calibrate infer formats/onnx graph kernels " + beamPkg), nil, ""},
		{"cmd imports transforms", with("cmd/eightbit: jobs transforms"),
			[]string{"cmd/eightbit transforms never"}, "cmd/eightbit imports transforms: cmd/eightbit (the CLI) must never import transforms"},
		{"cmd tests import transforms", with("cmd/eightbit: jobs | test: transforms"),
			[]string{"cmd/eightbit transforms never"}, "not even in tests"},
		{"graph imports Beam", with("graph: tensor " + beamPkg),
			[]string{"graph " + beamPkg + " beam"}, "graph depends on Beam through graph → " + beamPkg},
		{"report imports jobs", with("report: jobs"),
			[]string{"report " + beamPkg + " beam", "report jobs layer"}, "report depends on Beam through report → jobs → " + beamPkg},
		{"calibrate tests use Beam", with("calibrate: tensor | test: " + beamPkg + "/testing/ptest"),
			[]string{"calibrate " + beamPkg + "/testing/ptest beam"}, "calibrate's tests depend on Beam"},
		{"prismtest outside Beam tests", with("quantize: graph | test: internal/prismtest"),
			[]string{"quantize " + beamPkg + "/runners/prism beam"}, "quantize's tests depend on Beam through internal/prismtest → "},
		{"storage blank-imports a driver", with("storage: gocloud.dev/blob gocloud.dev/blob/fileblob"),
			[]string{"storage gocloud.dev/blob/fileblob gocloud"}, "storage imports gocloud.dev/blob/fileblob: only a main package (cmd/eightbit) or a test imports a blob driver"},
		{"report imports gocloud", with("report: gocloud.dev/blob"),
			[]string{"report gocloud.dev/blob gocloud"}, "report imports gocloud.dev/blob: only storage imports gocloud.dev"},
		{"gocloud through another module", with("dataset: tensor example.com/blobby", "example.com/blobby: gocloud.dev/blob"),
			[]string{"dataset gocloud.dev/blob gocloud"}, "dataset reaches gocloud.dev through dataset → example.com/blobby → gocloud.dev/blob, not through storage"},
		{"driver in a test that does not link storage", with("calibrate: tensor | test: gocloud.dev/blob/fileblob"),
			[]string{"calibrate gocloud.dev/blob/fileblob gocloud"}, "calibrate's tests import gocloud.dev/blob/fileblob but do not link storage"},
		{"the URL mux in a test that links storage", with("jobs: pipeline transforms " + beamPkg + " | test: gocloud.dev/blob"), nil, ""},
		{"the URL mux in a test that does not", with("report: | test: gocloud.dev/blob"),
			[]string{"report gocloud.dev/blob gocloud"}, ""},
		{"code imports a test helper", with("transforms: storage internal/zootest " + beamPkg),
			[]string{"transforms internal/zootest test-only"}, "only _test.go files may import it"},
		{"a package without a row", with("formats/caffe: graph"),
			[]string{"formats/caffe  table"}, "formats/caffe has no row in the rule table"},
		{"go list error", with("report: !err"), []string{"report  go-list"}, "report: go list: no Go files"},
	}
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			vs := newChecker(fakeModule, rules, exceptions, fakeList(c.lines)).check()
			var got []string
			for _, v := range vs {
				got = append(got, v.key())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("violations %q, want %q; messages:\n%s", got, c.want, messages(vs))
			}
			if c.msg != "" && !strings.Contains(messages(vs), c.msg) {
				t.Errorf("no message contains %q:\n%s", c.msg, messages(vs))
			}
		})
	}
}

func messages(vs []violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.Msg + "\n")
	}
	return b.String()
}
