package demozoo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/zoo"
)

func TestManifestAndUnpack(t *testing.T) {
	data, err := os.ReadFile("zoo/zoo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := zoo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Unpack(dir); err != nil {
		t.Fatal(err)
	}
	if err := Unpack(dir); err != nil { // a second run is safe
		t.Fatal(err)
	}
	for _, md := range m.Models {
		if _, err := os.Stat(filepath.Join(dir, md.File)); err != nil {
			t.Errorf("model %s: %v", md.Name, err)
		}
	}
	for _, name := range m.DatasetNames() {
		ds := m.Datasets[name]
		for _, f := range []string{ds.Calibration.Images, ds.Calibration.Labels, ds.Evaluation.Images, ds.Evaluation.Labels} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("dataset %s: %v", name, err)
			}
		}
	}
}
