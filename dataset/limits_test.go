package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
)

func pngWithHeader(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// IHDR data starts at byte 16 (8 signature, 4 length, 4 type).
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// TestDecodeErrorKinds: malformed data is bad-data, and sizes are checked
// before anything is allocated.
func TestDecodeErrorKinds(t *testing.T) {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(append([]byte{0, 0, 8, 1, 0, 0, 0x10, 0}, make([]byte, 4096)...))
	zw.Close()
	old := DefaultLimits
	defer func() { DefaultLimits = old }()
	for _, tc := range []struct {
		name   string
		decode func() error
		limits Limits
		want   string
	}{
		{"huge PNG header", func() error { _, err := DecodeImage(pngWithHeader(t, 1<<20, 1<<20)); return err }, Limits{},
			"1048576x1048576 pixels, more than the limit of 67108864"},
		{"PNG over a small limit", func() error { _, err := DecodeImage(pngWithHeader(t, 100, 100)); return err }, Limits{MaxImagePixels: 9999},
			"100x100 pixels, more than the limit of 9999"},
		{"corrupt JPEG", func() error { _, err := DecodeImage([]byte("\xff\xd8\xff\xdb junk")); return err }, Limits{}, "image"},
		{"empty IDX", func() error { _, err := DecodeIDXImages(nil); return err }, Limits{}, "no header"},
		{"IDX count", func() error {
			_, err := DecodeIDXLabels([]byte{0, 0, 8, 1, 0, 0, 0, 5, 1, 2})
			return err
		}, Limits{}, "IDX payload has 2 bytes, header says 5"},
		{"gzip bomb", func() error { _, err := DecodeIDXLabels(bomb.Bytes()); return err }, Limits{MaxDecompressedBytes: 1000},
			"expands to more than the limit of 1000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			DefaultLimits = old
			if tc.limits.MaxImagePixels > 0 {
				DefaultLimits.MaxImagePixels = tc.limits.MaxImagePixels
			}
			if tc.limits.MaxDecompressedBytes > 0 {
				DefaultLimits.MaxDecompressedBytes = tc.limits.MaxDecompressedBytes
			}
			err := tc.decode()
			if !errors.Is(err, ErrFormat) || failure.KindOf(err) != failure.BadData || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (kind %s), want bad-data containing %q", err, failure.KindOf(err), tc.want)
			}
		})
	}
}
