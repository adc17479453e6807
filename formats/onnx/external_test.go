package onnx

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

func externalModel(loc string, kv ...string) *onnxpb.ModelProto {
	m := validModel()
	w := m.Graph.Initializer[0]
	w.FloatData = nil
	w.DataLocation = proto.Int32(int32(onnxpb.TensorProto_EXTERNAL))
	w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
	for i := 0; i+1 < len(kv); i += 2 {
		w.ExternalData = append(w.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return m
}

func floatBytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func TestDecodeWithExternal(t *testing.T) {
	file := append([]byte("padding!"), floatBytes(3, 4)...)
	opened := 0
	open := func(loc string) ([]byte, error) {
		opened++
		if loc != "data/weights.bin" {
			return nil, errors.New("no such file")
		}
		return file, nil
	}
	m, err := DecodeWithExternal(mustMarshal(t, externalModel("./data/weights.bin", "offset", "8", "length", "8")), open)
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Graph.Initializers["weight"]; w == nil || w.F32[0] != 3 || w.F32[1] != 4 {
		t.Fatalf("weight = %v", w)
	}
	if opened != 1 {
		t.Fatalf("opened %d times", opened)
	}
	// Without a length the rest of the file is the data.
	if _, err := DecodeWithExternal(mustMarshal(t, externalModel("data/weights.bin", "offset", "8")), open); err != nil {
		t.Fatal(err)
	}
	// Plain Decode still refuses external data.
	if _, err := Decode(mustMarshal(t, externalModel("data/weights.bin"))); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Decode: %v", err)
	}
	for _, tc := range []struct {
		loc  string
		kv   []string
		want string
	}{
		{"../weights.bin", nil, "outside"},
		{"data/../../weights.bin", nil, "outside"},
		{"/etc/passwd", nil, "relative"},
		{`C:\w.bin`, nil, "relative"},
		{"", nil, "relative"},
		{"data/weights.bin", []string{"offset", "100"}, "beyond"},
		{"data/weights.bin", []string{"offset", "8", "length", "9"}, "beyond"},
		{"data/weights.bin", []string{"offset", "-1"}, "offset"},
		{"data/weights.bin", []string{"length", "4"}, "raw_data"},
		{"missing.bin", nil, "no such file"},
	} {
		_, err := DecodeWithExternal(mustMarshal(t, externalModel(tc.loc, tc.kv...)), open)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"weight"`) {
			t.Errorf("%q %v: error %v, want one naming the tensor and %q", tc.loc, tc.kv, err, tc.want)
		}
	}
}
