package quantize

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"github.com/eightbitml/eightbit/internal/zootest"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// sizeBreakdown splits an encoded ONNX model into the bytes spent on each
// part: initializer data by element type, initializer names and headers,
// node names, node input/output names, the rest of the nodes (op types,
// attributes, framing), value_info, graph inputs/outputs and doc strings.
func sizeBreakdown(enc []byte) (string, error) {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(enc, &mp); err != nil {
		return "", err
	}
	parts := map[string]int{}
	g := mp.GetGraph()
	for _, t := range g.GetInitializer() {
		typ := onnxpb.TensorProto_DataType(t.GetDataType()).String()
		parts["init data "+strings.ToLower(typ)] += len(t.GetRawData())
		parts["init names"] += len(t.GetName())
		parts["init other"] += proto.Size(t) - len(t.GetRawData()) - len(t.GetName())
		parts["framing"] += protoFrame(proto.Size(t))
	}
	for _, n := range g.GetNode() {
		size := proto.Size(n)
		names := 0
		for _, s := range append(append([]string(nil), n.GetInput()...), n.GetOutput()...) {
			names += len(s)
		}
		parts["node names"] += len(n.GetName())
		parts["node doc strings"] += len(n.GetDocString())
		parts["node io names"] += names
		parts["node other"] += size - names - len(n.GetName()) - len(n.GetDocString())
		parts["framing"] += protoFrame(size)
	}
	for _, v := range g.GetValueInfo() {
		parts["value_info"] += proto.Size(v) + protoFrame(proto.Size(v))
	}
	for _, v := range append(append([]*onnxpb.ValueInfoProto(nil), g.GetInput()...), g.GetOutput()...) {
		parts["graph inputs/outputs"] += proto.Size(v) + protoFrame(proto.Size(v))
	}
	parts["doc strings"] += len(mp.GetDocString()) + len(g.GetDocString())
	sum := 0
	for _, v := range parts {
		sum += v
	}
	parts["model rest"] = len(enc) - sum
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d bytes:", len(enc))
	for _, k := range keys {
		if parts[k] != 0 {
			fmt.Fprintf(&b, " %s %d;", k, parts[k])
		}
	}
	return b.String(), nil
}

// protoFrame is the size of the tag and length prefix of an embedded
// message of n bytes (field numbers below 16).
func protoFrame(n int) int {
	return 1 + protowire.SizeVarint(uint64(n))
}

// TestSizeBreakdown logs where the bytes of the float and quantized zoo
// models go (structure only: made-up ranges).
func TestSizeBreakdown(t *testing.T) {
	for _, name := range mnistModels {
		t.Run(name, func(t *testing.T) {
			raw := zootest.ReadFile(t, "models", "trained", "mnist", name+".onnx")
			m, err := onnx.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Prepare(m)
			if err != nil {
				t.Fatal(err)
			}
			q, _, err := Quantize(m, fakeRanges(p.Graph), Options{})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := onnx.Encode(q)
			if err != nil {
				t.Fatal(err)
			}
			fb, err := sizeBreakdown(raw)
			if err != nil {
				t.Fatal(err)
			}
			qb, err := sizeBreakdown(enc)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("float %s", fb)
			t.Logf("quantized (%.1f%%) %s", 100*float64(len(enc))/float64(len(raw)), qb)
		})
	}
}
