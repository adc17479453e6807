package main

import (
	"flag"
	"io"
	"testing"

	"github.com/eightbitml/eightbit/jobs"
)

func TestCalibSamplesFlag(t *testing.T) {
	for _, c := range []struct {
		args    []string
		want    int
		wantErr bool
	}{
		{nil, jobs.DefaultCalibSamples, false},
		{[]string{"--calib-samples", "all"}, 0, false},
		{[]string{"--calib-samples", "0"}, 0, false},
		{[]string{"--calib-samples", "250"}, 250, false},
		{[]string{"--calib-samples", "-3"}, 0, true},
		{[]string{"--calib-samples", "lots"}, 0, true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var n int
		calibSamplesVar(fs, &n)
		err := fs.Parse(c.args)
		if (err != nil) != c.wantErr || !c.wantErr && n != c.want {
			t.Errorf("%v: %d, %v; want %d, error %v", c.args, n, err, c.want, c.wantErr)
		}
	}
}
