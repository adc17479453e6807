package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/eightbitml/eightbit/failure"
)

// ErrFormat is wrapped by every decoding error caused by malformed input.
var ErrFormat = failure.Errorf(failure.BadData, "dataset: malformed data")

// Images is a set of equally sized 8-bit images stored contiguously, image
// by image, each row-major with interleaved channels (H×W×C).
type Images struct {
	N, H, W, C int
	Pix        []uint8
}

// Image returns the pixels of image i.
func (im *Images) Image(i int) []uint8 {
	sz := im.H * im.W * im.C
	return im.Pix[i*sz : (i+1)*sz]
}

// maybeGunzip returns the decompressed bytes when data starts with the gzip
// magic number, and data itself otherwise.
func maybeGunzip(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
	}
	defer zr.Close()
	max := DefaultLimits.MaxDecompressedBytes
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: gzip data expands to more than the limit of %d bytes", ErrFormat, max)
	}
	return out, nil
}

// idx parses an IDX header (magic 0x0000TTDD: type code TT, DD dimensions,
// each a big-endian uint32) and returns the dimensions and the payload.
func idx(data []byte, wantType byte) ([]int, []byte, error) {
	data, err := maybeGunzip(data)
	if err != nil {
		return nil, nil, err
	}
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: IDX file of %d bytes has no header", ErrFormat, len(data))
	}
	if data[0] != 0 || data[1] != 0 {
		return nil, nil, fmt.Errorf("%w: not an IDX file (magic %x)", ErrFormat, data[:4])
	}
	if data[2] != wantType {
		return nil, nil, fmt.Errorf("%w: IDX element type 0x%02x, want 0x%02x (unsigned byte)", ErrFormat, data[2], wantType)
	}
	nd := int(data[3])
	if nd == 0 || len(data) < 4+4*nd {
		return nil, nil, fmt.Errorf("%w: IDX header with %d dimensions is truncated", ErrFormat, nd)
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		d := binary.BigEndian.Uint32(data[4+4*i:])
		if d > 1<<28 {
			return nil, nil, fmt.Errorf("%w: IDX dimension %d is %d", ErrFormat, i, d)
		}
		dims[i] = int(d)
		total *= dims[i]
		if total > 1<<31 {
			return nil, nil, fmt.Errorf("%w: IDX payload too large", ErrFormat)
		}
	}
	payload := data[4+4*nd:]
	if len(payload) != total {
		return nil, nil, fmt.Errorf("%w: IDX payload has %d bytes, header says %d", ErrFormat, len(payload), total)
	}
	return dims, payload, nil
}

// DecodeIDXImages decodes an IDX image file (magic 0x00000803: N×H×W
// unsigned bytes), gzip-compressed or not, into single-channel images.
func DecodeIDXImages(data []byte) (*Images, error) {
	dims, pix, err := idx(data, 0x08)
	if err != nil {
		return nil, err
	}
	switch len(dims) {
	case 3:
		return &Images{N: dims[0], H: dims[1], W: dims[2], C: 1, Pix: pix}, nil
	case 4:
		return &Images{N: dims[0], H: dims[1], W: dims[2], C: dims[3], Pix: pix}, nil
	}
	return nil, fmt.Errorf("%w: IDX image file has %d dimensions, want 3", ErrFormat, len(dims))
}

// DecodeIDXLabels decodes an IDX label file (magic 0x00000801: N unsigned
// bytes), gzip-compressed or not.
func DecodeIDXLabels(data []byte) ([]int, error) {
	dims, raw, err := idx(data, 0x08)
	if err != nil {
		return nil, err
	}
	if len(dims) != 1 {
		return nil, fmt.Errorf("%w: IDX label file has %d dimensions, want 1", ErrFormat, len(dims))
	}
	labels := make([]int, len(raw))
	for i, b := range raw {
		labels[i] = int(b)
	}
	return labels, nil
}
