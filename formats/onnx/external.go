package onnx

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/graph"
)

// DecodeWithExternal is Decode for models whose tensors keep their data in
// external files (data_location EXTERNAL, as ONNX writes models over 2 GB).
// open returns the contents of a file named by a tensor's "location",
// relative to the model's folder; it is called once per distinct location.
//
// Locations must be relative paths inside the model's folder: absolute
// paths, paths that climb out with "..", backslashes and empty names are
// refused with ErrInvalid before open is called. "offset" and "length"
// select a byte range of the file (the rest of the file when length is
// absent); the range must lie inside the file and hold exactly the
// tensor's data. Errors wrap ErrInvalid or ErrUnsupported as Decode's do,
// and name the tensor.
func DecodeWithExternal(data []byte, open func(location string) ([]byte, error)) (*graph.Model, error) {
	return DecodeWithExternalLimits(data, open, DefaultLimits)
}

// DecodeWithExternalLimits is DecodeWithExternal within the given limits
// (zero fields: DefaultLimits); the external files read count against
// MaxExternalBytes.
func DecodeWithExternalLimits(data []byte, open func(location string) ([]byte, error), l Limits) (*graph.Model, error) {
	l = l.withDefaults()
	var mp onnxpb.ModelProto
	if err := unmarshalModel(data, &mp, l); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	r := &externalResolver{open: open, files: map[string][]byte{}, max: l.MaxExternalBytes}
	if g := mp.GetGraph(); g != nil {
		for _, tp := range g.GetInitializer() {
			if err := r.resolve(tp); err != nil {
				return nil, fmt.Errorf("onnx: initializer %q: %w", tp.GetName(), err)
			}
		}
		for _, np := range g.GetNode() {
			for _, ap := range np.GetAttribute() {
				if tp := ap.GetT(); tp != nil {
					if err := r.resolve(tp); err != nil {
						return nil, fmt.Errorf("onnx: node %s attribute %q: %w", nodeLabel(np), ap.GetName(), err)
					}
				}
			}
		}
	}
	m, err := modelFromProto(&mp)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return m, nil
}

type externalResolver struct {
	open  func(string) ([]byte, error)
	files map[string][]byte
	max   int64 // the most bytes all files may hold together
	total int64
}

// CleanLocation checks an external-data location and returns it in clean
// slash form. It refuses locations that could name a file outside the
// model's folder.
func CleanLocation(loc string) (string, error) {
	if loc == "" || strings.ContainsAny(loc, "\\\x00") || strings.HasPrefix(loc, "/") || (len(loc) >= 2 && loc[1] == ':') {
		return "", fmt.Errorf("%w: external data location %q is not a relative path inside the model's folder", ErrInvalid, loc)
	}
	c := path.Clean(loc)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: external data location %q is outside the model's folder", ErrInvalid, loc)
	}
	return c, nil
}

func (r *externalResolver) resolve(tp *onnxpb.TensorProto) error {
	if tp.GetDataLocation() != int32(onnxpb.TensorProto_EXTERNAL) {
		return nil
	}
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.GetExternalData() {
		v := kv.GetValue()
		switch kv.GetKey() {
		case "location":
			loc = v
		case "offset", "length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%w: external data %s %q", ErrInvalid, kv.GetKey(), v)
			}
			if kv.GetKey() == "offset" {
				offset = n
			} else {
				length = n
			}
		}
	}
	clean, err := CleanLocation(loc)
	if err != nil {
		return err
	}
	if r.open == nil {
		return fmt.Errorf("%w: external data (in %q) without a way to open it", ErrUnsupported, loc)
	}
	b, ok := r.files[clean]
	if !ok {
		if b, err = r.open(clean); err != nil {
			return fmt.Errorf("external data %q: %w", clean, err)
		}
		if r.total += int64(len(b)); r.max > 0 && r.total > r.max {
			return fmt.Errorf("%w: external data files hold %d bytes (with %q), more than the limit of %d", ErrInvalid, r.total, clean, r.max)
		}
		r.files[clean] = b
	}
	if offset > int64(len(b)) {
		return fmt.Errorf("%w: external data offset %d beyond the %d bytes of %q", ErrInvalid, offset, len(b), clean)
	}
	end := int64(len(b))
	if length >= 0 {
		if length > end-offset {
			return fmt.Errorf("%w: external data range [%d,+%d) beyond the %d bytes of %q", ErrInvalid, offset, length, len(b), clean)
		}
		end = offset + length
	}
	tp.RawData = b[offset:end]
	tp.ExternalData = nil
	tp.DataLocation = nil
	return nil
}
