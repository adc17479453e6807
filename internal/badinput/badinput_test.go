package badinput

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"

	_ "gocloud.dev/blob/fileblob" // local files through storage
)

// TestCorpus loads every case and checks the kind and the message.
func TestCorpus(t *testing.T) {
	cases := Cases()
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if seen[c.Name] {
				t.Fatalf("duplicate case name")
			}
			seen[c.Name] = true
			loc, err := c.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Load(context.Background(), loc)
			if err == nil {
				t.Fatalf("loaded without error, want %s %q", c.Kind, c.Want)
			}
			t.Logf("%s: %v", failure.KindOf(err), err)
			if got := failure.KindOf(err); got != c.Kind {
				t.Errorf("kind %s, want %s: %v", got, c.Kind, err)
			}
			if !errors.Is(err, c.Kind) {
				t.Errorf("errors.Is(err, %s) is false: %v", c.Kind, err)
			}
			if !strings.Contains(err.Error(), c.Want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.Want)
			}
		})
	}
}

// TestValidModelLoads: the corpus's base model itself is fine, so every
// failure above is the edit's.
func TestValidModelLoads(t *testing.T) {
	dir := t.TempDir()
	c := Case{Name: "valid", Type: Model, Main: "m.onnx", Files: one("m.onnx", marshal(classifier()))}
	loc, err := c.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(context.Background(), loc); err != nil {
		t.Fatal(err)
	}
}

// TestWriteCorpus writes the corpus to $EIGHTBIT_BADINPUT_DIR, for trying
// the cases with the command line (eightbit inspect DIR/nan-weights/m.onnx).
func TestWriteCorpus(t *testing.T) {
	dir := os.Getenv("EIGHTBIT_BADINPUT_DIR")
	if dir == "" {
		t.Skip("EIGHTBIT_BADINPUT_DIR not set")
	}
	for _, c := range Cases() {
		loc, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-24s %s", c.Name, loc)
	}
}
