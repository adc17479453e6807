// Package demozoo embeds the default zoo of `eightbit demo`: the MNIST models
// trained for eightbit and the MNIST demo subset (1000 calibration and 2000
// evaluation images), with a zoo.yaml manifest.
package demozoo

import (
	"bytes"
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed zoo
var files embed.FS

// FS returns the zoo's files; zoo.yaml is at its root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "zoo")
	if err != nil {
		panic(err)
	}
	return sub
}

// Unpack writes the zoo's files into dir (created if needed), leaving files
// that already have the same content untouched. Each file is written to a
// temporary name and renamed, so a reader never sees a partial file.
func Unpack(dir string) error {
	src := FS()
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
			return nil
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	})
}
