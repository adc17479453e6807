package dataset

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"google.golang.org/protobuf/encoding/protowire"
)

// TFRecord framing: every record is
//
//	uint64 length (little endian)
//	uint32 masked CRC32C of the 8 length bytes
//	length bytes of data
//	uint32 masked CRC32C of the data
//
// where mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2³²) and CRC32C
// is the Castagnoli CRC. Files may be gzip-compressed as a whole.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// maxRecord bounds a record's declared length.
const maxRecord = 1 << 30

// Record is one TFRecord record: its data, or why it is unusable.
type Record struct {
	Data []byte
	Err  error
}

// ReadTFRecords splits a TFRecord file into records. A record whose data
// fails its checksum is returned with Err set and reading continues (its
// length was verified); a truncated record or a length that fails its
// checksum ends the file with a final record whose Err is set, since the
// framing can no longer be trusted.
func ReadTFRecords(data []byte) []Record {
	data, err := maybeGunzip(data)
	if err != nil {
		return []Record{{Err: err}}
	}
	var out []Record
	for len(data) > 0 {
		if len(data) < 12 {
			return append(out, Record{Err: fmt.Errorf("%w: truncated TFRecord header (%d bytes)", ErrFormat, len(data))})
		}
		if maskedCRC(data[:8]) != binary.LittleEndian.Uint32(data[8:12]) {
			return append(out, Record{Err: fmt.Errorf("%w: TFRecord length checksum mismatch", ErrFormat)})
		}
		n := binary.LittleEndian.Uint64(data[:8])
		if n > maxRecord || uint64(len(data)-12) < n+4 {
			return append(out, Record{Err: fmt.Errorf("%w: truncated TFRecord: record of %d bytes, %d bytes left", ErrFormat, n, len(data)-12)})
		}
		body := data[12 : 12+n]
		crc := binary.LittleEndian.Uint32(data[12+n : 16+n])
		if maskedCRC(body) != crc {
			out = append(out, Record{Err: fmt.Errorf("%w: TFRecord data checksum mismatch", ErrFormat)})
		} else {
			out = append(out, Record{Data: body})
		}
		data = data[16+n:]
	}
	return out
}

// AppendTFRecord appends data framed as one TFRecord record.
func AppendTFRecord(dst, data []byte) []byte {
	var h [12]byte
	binary.LittleEndian.PutUint64(h[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(h[8:], maskedCRC(h[:8]))
	dst = append(dst, h[:]...)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(data))
}

// Feature keys read from tf.train.Example records.
const (
	FeatureImage = "image/encoded"
	FeatureLabel = "image/class/label"
)

// Example field numbers (tensorflow/core/example/{example,feature}.proto):
// Example.features = 1; Features.feature = 1 (map<string, Feature>, entry
// key = 1, value = 2); Feature.bytes_list = 1, float_list = 2,
// int64_list = 3; BytesList.value = 1; Int64List.value = 1 (packed or not).

// ExampleImage is what eightbit reads from a tf.train.Example.
type ExampleImage struct {
	Encoded []byte
	Label   int64
}

// DecodeExample extracts image/encoded (first bytes value) and
// image/class/label (first int64 value) from a serialized tf.train.Example.
func DecodeExample(b []byte) (ExampleImage, error) {
	var ex ExampleImage
	var haveImage, haveLabel bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType { // Example.features
			return nil
		}
		return walk(v, func(num protowire.Number, typ protowire.Type, entry []byte, _ uint64) error {
			if num != 1 || typ != protowire.BytesType { // Features.feature map entry
				return nil
			}
			var key string
			var feature []byte
			if err := walk(entry, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					key = string(v)
				case num == 2 && typ == protowire.BytesType:
					feature = v
				}
				return nil
			}); err != nil {
				return err
			}
			switch key {
			case FeatureImage:
				return walk(feature, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					if num != 1 || typ != protowire.BytesType { // bytes_list
						return nil
					}
					return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
						if num == 1 && typ == protowire.BytesType && !haveImage {
							ex.Encoded, haveImage = v, true
						}
						return nil
					})
				})
			case FeatureLabel:
				return walk(feature, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					if num != 3 || typ != protowire.BytesType { // int64_list
						return nil
					}
					return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
						if num != 1 || haveLabel {
							return nil
						}
						switch typ {
						case protowire.VarintType:
							ex.Label, haveLabel = int64(x), true
						case protowire.BytesType: // packed
							if len(v) > 0 {
								y, n := protowire.ConsumeVarint(v)
								if n < 0 {
									return protowire.ParseError(n)
								}
								ex.Label, haveLabel = int64(y), true
							}
						}
						return nil
					})
				})
			}
			return nil
		})
	})
	if err != nil {
		return ex, fmt.Errorf("%w: tf.train.Example: %v", ErrFormat, err)
	}
	if !haveImage {
		return ex, fmt.Errorf("%w: tf.train.Example has no %s", ErrFormat, FeatureImage)
	}
	if !haveLabel {
		return ex, fmt.Errorf("%w: tf.train.Example has no %s", ErrFormat, FeatureLabel)
	}
	return ex, nil
}

// walk calls f for every field of a protobuf message: v is the payload of
// length-delimited fields, x the value of varint and fixed fields.
func walk(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// AppendExample appends a serialized tf.train.Example holding an encoded
// image and its label (the inverse of DecodeExample, for tests and tools).
func AppendExample(dst []byte, encoded []byte, label int64) []byte {
	feature := func(key string, value []byte) []byte {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, key)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, value)
		return e
	}
	var bl, il []byte
	bl = protowire.AppendTag(bl, 1, protowire.BytesType)
	bl = protowire.AppendBytes(bl, encoded)
	img := protowire.AppendTag(nil, 1, protowire.BytesType)
	img = protowire.AppendBytes(img, bl)
	il = protowire.AppendTag(il, 1, protowire.BytesType)
	il = protowire.AppendBytes(il, protowire.AppendVarint(nil, uint64(label)))
	lab := protowire.AppendTag(nil, 3, protowire.BytesType)
	lab = protowire.AppendBytes(lab, il)
	var feats []byte
	feats = protowire.AppendTag(feats, 1, protowire.BytesType)
	feats = protowire.AppendBytes(feats, feature(FeatureImage, img))
	feats = protowire.AppendTag(feats, 1, protowire.BytesType)
	feats = protowire.AppendBytes(feats, feature(FeatureLabel, lab))
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	return protowire.AppendBytes(dst, feats)
}

func tfrecordEntries(name string, data []byte) []entry {
	recs := ReadTFRecords(data)
	out := make([]entry, 0, len(recs))
	for i, r := range recs {
		id := fmt.Sprintf("%s#%d", name, i)
		if r.Err != nil {
			out = append(out, entry{id: id, err: r.Err.Error()})
			continue
		}
		ex, err := DecodeExample(r.Data)
		if err != nil {
			out = append(out, entry{id: id, err: err.Error()})
			continue
		}
		if ex.Label < -1<<31 || ex.Label > 1<<31-1 {
			out = append(out, entry{id: id, err: fmt.Sprintf("label %d is out of range", ex.Label)})
			continue
		}
		out = append(out, entry{id: id, label: int(ex.Label), encoded: ex.Encoded})
	}
	return out
}
