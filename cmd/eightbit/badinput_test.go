package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"encoding/json"
	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/internal/badinput"
	"github.com/eightbitml/eightbit/jobs"
	"github.com/eightbitml/eightbit/report"
)

// TestInspectBadInputs runs every model case of the hostile-input corpus
// through `eightbit inspect`'s own loading path: the case's kind and
// message come either as inspect's error or as its compile error, and
// never as "eightbit runs this model".
func TestInspectBadInputs(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, c := range badinput.Cases() {
		if c.Type != badinput.Model {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			loc, err := c.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := inspectModel(context.Background(), loc)
			var msg string
			var kind failure.Kind
			switch {
			case err != nil:
				msg, kind = err.Error(), failure.KindOf(err)
			case rep.CompileErr != "":
				msg, kind = rep.CompileErr, failure.Kind(rep.CompileKind)
			case len(rep.Unsupported) > 0:
				msg, kind = strings.Join(rep.Unsupported, "; "), failure.Unsupported
			default:
				t.Fatalf("inspect found nothing wrong, want %s %q", c.Kind, c.Want)
			}
			if kind != c.Kind || !strings.Contains(msg, c.Want) {
				t.Errorf("inspect: %s %q, want %s containing %q", kind, msg, c.Kind, c.Want)
			}
			if d := doubledPrefix(msg); d != "" {
				t.Errorf("inspect: doubled prefix %q in %q", d, msg)
			}
		})
	}
	if n < 20 {
		t.Errorf("only %d model cases", n)
	}
}

// TestOutProbe: an output folder the job cannot write fails in a second
// with one line and exit code 2, before the zoo is read.
func TestOutProbe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	zoo := filepath.Join(t.TempDir(), "no-zoo-here")
	cases := []struct{ name, cmd, out string }{
		{"quantize-zoo into a file", "quantize-zoo", file},
		{"evaluate below a file", "evaluate", filepath.Join(file, "out")},
		{"calibrate below a file", "calibrate", filepath.Join(file, "a", "b")},
		{"demo below a file", "demo", filepath.Join(file, "demo")},
	}
	if os.Geteuid() != 0 { // root writes into read-only folders
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, cmd, out string }{"quantize-zoo read-only", "quantize-zoo", ro})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{tc.cmd, "--out", tc.out}
			if tc.cmd != "demo" {
				args = append(args, "--zoo", zoo)
			}
			start := time.Now()
			code, out, errs := runCLI(args...)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if code != exitUsage || len(lines) != 1 || !strings.Contains(errs, "is not writable") || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if strings.Contains(errs, "no-zoo-here") {
				t.Errorf("the zoo was read before the probe: %q", errs)
			}
		})
	}
	// A writable folder passes and keeps no marker.
	ok := t.TempDir()
	if !probeOut(context.Background(), "test", ok, os.Stderr) {
		t.Fatal("probe of a writable folder failed")
	}
	if es, _ := os.ReadDir(ok); len(es) != 0 {
		t.Errorf("probe left %v", es)
	}
}

// TestJobErrorKind: a job that cannot start is a config failure.
func TestJobErrorKind(t *testing.T) {
	err := fmt.Errorf("quantize-zoo: %w: no --zoo", jobs.ErrConfig)
	if failure.KindOf(err) != failure.Config || !errors.Is(err, jobs.ErrConfig) {
		t.Errorf("%v has kind %s", err, failure.KindOf(err))
	}
}

// TestZooBadInputs runs quantize-zoo, calibrate and evaluate on one zoo
// mixing every model case of the hostile-input corpus with good models
// (two demo models, the corpus's valid classifier, the classifier with its
// weights in an external-data file) and a model whose
// activations turn NaN: each job finishes, every good model is ok and
// every bad one is a failure row with the case's kind and message, the
// NaN-weight case naming its tensor.
func TestZooBadInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three zoo jobs")
	}
	zoo, head := demoZooHead(t)
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("  - {name: mnist-mlp, file: mnist/mnist-mlp.onnx, dataset: mnist-demo, preprocess: {divide: 255}}\n")
	b.WriteString("  - {name: mnist-dws-folded, file: mnist/mnist-dws-folded.onnx, dataset: mnist-demo, preprocess: {divide: 255}}\n")
	crop := "preprocess: {crop: {width: 10, height: 10}, divide: 255, shape: [100]}"
	add := func(name, file string) {
		fmt.Fprintf(&b, "  - {name: %s, file: %s, dataset: mnist-demo, %s}\n", name, file, crop)
	}
	good := map[string]bool{"mnist-mlp": true, "mnist-dws-folded": true, "valid-classifier": true, "valid-external": true}
	want := map[string]badinput.Case{}
	os.MkdirAll(filepath.Join(zoo, "cases"), 0o755)
	for name, data := range map[string][]byte{"valid-classifier": badinput.ValidModel(), "nan-activations": badinput.NaNActivations()} {
		if err := os.WriteFile(filepath.Join(zoo, "cases", name+".onnx"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		add(name, "cases/"+name+".onnx")
	}
	// External data beside the model, in its own folder.
	extModel, extWeights := badinput.ValidExternal()
	os.MkdirAll(filepath.Join(zoo, "cases", "external"), 0o755)
	os.WriteFile(filepath.Join(zoo, "cases", "external", "weights.bin"), extWeights, 0o644)
	if err := os.WriteFile(filepath.Join(zoo, "cases", "external", "m.onnx"), extModel, 0o644); err != nil {
		t.Fatal(err)
	}
	add("valid-external", "cases/external/m.onnx")
	for _, c := range badinput.Cases() {
		if c.Type != badinput.Model {
			continue
		}
		loc, err := c.Write(filepath.Join(zoo, "cases"))
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(zoo, loc)
		add(c.Name, filepath.ToSlash(rel))
		want[c.Name] = c
	}
	if err := os.WriteFile(filepath.Join(zoo, "zoo.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, job := range [][]string{
		{"quantize-zoo", "--calib-samples", "40", "--eval-samples", "40"},
		{"calibrate", "--calib-samples", "40"},
		{"evaluate", "--eval-samples", "40"},
	} {
		t.Run(job[0], func(t *testing.T) {
			out := t.TempDir()
			code, _, errs := runCLI(append(job, "--zoo", zoo, "--out", out)...)
			if code != exitFailed {
				t.Errorf("exit %d, want %d (some models failed)\n%s", code, exitFailed, errs)
			}
			raw, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, m := range rep.Models {
				seen++
				if d := doubledPrefix(m.Error); d != "" {
					t.Errorf("%s: doubled prefix %q in %q", m.Name, d, m.Error)
				}
				c, bad := want[m.Name]
				switch {
				case good[m.Name]:
					if m.Status != report.StatusOK {
						t.Errorf("%s: %s %s", m.Name, m.Status, m.Error)
					}
					if m.Name == "mnist-mlp" && job[0] == "quantize-zoo" {
						// Both splits' class counts: 40 of each, every digit.
						sum := 0
						for _, c := range m.Calibration.PerClass {
							sum += c.Samples
						}
						if len(m.Calibration.PerClass) != 10 || sum != m.Calibration.Samples || sum != 40 || len(m.PerClass) != 10 {
							t.Errorf("%s: calibration per class %+v (%d samples), evaluation per class %d classes", m.Name, m.Calibration.PerClass, m.Calibration.Samples, len(m.PerClass))
						}
					}
				case m.Name == "nan-activations":
					if job[0] == "evaluate" {
						continue // evaluation does not calibrate
					}
					if m.Status != report.StatusFailed || m.ErrorKind != string(failure.NonFinite) || m.Stage != "calibrate" ||
						!strings.Contains(m.Error, `activation "/sqrt" of sample`) {
						t.Errorf("%s: %s in %s (%s): %s", m.Name, m.Status, m.Stage, m.ErrorKind, m.Error)
					}
				case bad:
					if m.Status != report.StatusFailed || m.ErrorKind != string(c.Kind) || !strings.Contains(m.Error, c.Want) {
						t.Errorf("%s: %s (%s) %q, want %s containing %q", m.Name, m.Status, m.ErrorKind, m.Error, c.Kind, c.Want)
					}
				default:
					t.Errorf("unexpected row %s", m.Name)
				}
			}
			if seen != len(want)+len(good)+1 {
				t.Errorf("%d rows, want %d", seen, len(want)+len(good)+1)
			}
			if !strings.Contains(string(raw), `fc.weight`) {
				t.Error("no row names the NaN tensor fc.weight")
			}
		})
	}
}

// TestSecretsNotShown runs quantize-zoo on a zoo URL whose query carries
// signing settings (a key path and a signing base URL, as gocloud's
// fileblob takes them) and on a zoo with a failing model: neither the
// terminal, nor the report files, nor the dead-letter file, nor Beam's log
// show them.
func TestSecretsNotShown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a zoo job")
	}
	zoo, head := demoZooHead(t)
	os.WriteFile(filepath.Join(zoo, "mnist", "garbage.onnx"), []byte("not a model"), 0o644)
	m := head + "  - {name: mnist-mlp, file: mnist/mnist-mlp.onnx, dataset: mnist-demo, preprocess: {divide: 255}}\n" +
		"  - {name: broken, file: mnist/garbage.onnx, dataset: mnist-demo}\n"
	if err := os.WriteFile(filepath.Join(zoo, "zoo.yaml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "signing-key-f00d")
	os.WriteFile(key, []byte("hunter2-signing-secret"), 0o600)
	secrets := []string{key, "signing-key-f00d", "hunter2", "sig.example.com"}
	url := "file://" + zoo + "?secret_key_path=" + key + "&base_url=https://sig.example.com/x"
	out := t.TempDir()
	code, stdout, stderr := runCLI("quantize-zoo", "--zoo", url, "--out", out, "--calib-samples", "20", "--eval-samples", "20")
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (one model fails)\n%s", code, exitFailed, stderr)
	}
	texts := map[string]string{"stdout": stdout, "stderr": stderr}
	for name, b := range readTree(t, out) {
		texts[name] = string(b)
	}
	if _, ok := texts[filepath.Join("dead-letter.jsonl")]; !ok {
		t.Fatal("no dead-letter file")
	}
	for name, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q", name, s)
			}
		}
	}
	if !strings.Contains(texts["report.json"], "secret_key_path=REDACTED") {
		t.Errorf("report.json does not show the redacted zoo URL")
	}
}

// readTree reads every file under dir, keyed by its relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// doubledPrefix returns a one-word prefix that repeats in a message
// ("quantize: quantize: ...", "image: x: image: ..."), "" when none does.
func doubledPrefix(msg string) string {
	parts := strings.Split(msg, ": ")
	for i := 0; i+1 < len(parts); i++ {
		w := parts[i]
		if w == "" || strings.ContainsAny(w, " \"/.") {
			continue
		}
		for j := i + 1; j <= i+2 && j < len(parts)-1; j++ {
			if parts[j] == w {
				return w
			}
		}
	}
	return ""
}
