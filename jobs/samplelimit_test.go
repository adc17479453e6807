package jobs

import (
	"strings"
	"testing"
)

func TestParseSampleLimit(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    SampleLimit
		wantErr bool
	}{
		{"all", SampleLimit{N: 0, Given: true}, false},
		{"0", SampleLimit{N: 0, Given: true}, false},
		{"200", SampleLimit{N: 200, Given: true}, false},
		{"-1", SampleLimit{}, true},
		{"many", SampleLimit{}, true},
		{"", SampleLimit{}, true},
	} {
		got, err := ParseSampleLimit(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseSampleLimit(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

// TestSpecCalibSamples checks the calibration cap a spec gives its job:
// the default when absent, the whole split (0) for all or 0.
func TestSpecCalibSamples(t *testing.T) {
	for _, c := range []struct {
		calib string
		want  int
	}{
		{"", DefaultCalibSamples},
		{"calibration: {method: minmax}\n", DefaultCalibSamples},
		{"calibration: {samples: all}\n", 0},
		{"calibration: {samples: 0}\n", 0},
		{"calibration: {samples: 300}\n", 300},
	} {
		for _, job := range []string{"quantize-zoo", "calibrate"} {
			s, err := ParseSpec([]byte("job: " + job + "\nzoo: z\nout: o\nallow_outside: true\n" + c.calib))
			if err != nil {
				t.Fatalf("%s %q: %v", job, c.calib, err)
			}
			j, err := s.NewJob("")
			if err != nil {
				t.Fatalf("%s %q: %v", job, c.calib, err)
			}
			var got int
			switch j := j.(type) {
			case *QuantizeZoo:
				got = j.CalibSamples
			case *Calibrate:
				got = j.CalibSamples
			}
			if got != c.want {
				t.Errorf("%s %q: %d calibration samples, want %d", job, c.calib, got, c.want)
			}
		}
	}
	if _, err := ParseSpec([]byte("job: calibrate\ncalibration: {samples: some}\n")); err == nil || !strings.Contains(err.Error(), "samples") {
		t.Errorf("samples: some: %v", err)
	}
}
