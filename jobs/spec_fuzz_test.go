package jobs

import (
	"bytes"
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParseSpec feeds arbitrary bytes to the job-spec parser: every error
// must wrap ErrConfig, Validate must not panic on what parses, and a spec
// that parses must survive a YAML round trip unchanged.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("job: quantize-zoo\nzoo: ./zoo\nout: ./out\n"))
	f.Add([]byte("job: evaluate\nmodel: m.onnx\ndataset: ./d\nout: o\nevaluation: {samples: 10}\n"))
	f.Add([]byte("job: quantize-zoo\nzoo: z\nout: o\nsweep: [{scheme: u8s8-tensor}, {format: qdq}]\ngates: {max_top1_drop: 0.01}\n"))
	f.Add([]byte("job: calibrate\n  bad: indent\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("Validate error does not wrap ErrConfig: %v", err)
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			return
		}
		s2, err := ParseSpec(out)
		if err != nil {
			t.Fatalf("a parsed spec does not parse again: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(s2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the spec (%v):\n%s\n---\n%s", err, out, out2)
		}
	})
}
