package onnx

import (
	"fmt"
	"strings"

	"github.com/eightbitml/eightbit/formats/onnx/onnxpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits bounds what Decode accepts before it builds the graph, so that a
// hostile or corrupt file is an error of kind failure.InvalidModel (it
// wraps ErrInvalid) rather than an out-of-memory or a stack overflow.
// Zero fields take the DefaultLimits value. The graph's own limits (node
// count, tensor elements, attribute sizes) are graph.Limits, which every
// path checks through graph.Validate.
type Limits struct {
	// MaxModelBytes is the largest serialized model (protobuf itself
	// cannot hold more than 2 GiB; larger models keep their weights in
	// external data).
	MaxModelBytes int64
	// MaxExternalBytes is the largest total of external data one model
	// may read.
	MaxExternalBytes int64
	// MaxSubgraphDepth bounds the nesting of graphs in attributes
	// (control flow bodies): the protobuf parser stops at the message
	// depth such nesting needs, so a file nesting thousands of graphs
	// fails cleanly (naming the depth) instead of recursing. eightbit runs
	// no subgraph at all: shallower ones are ErrUnsupported.
	MaxSubgraphDepth int
}

// DefaultLimits are the limits of Decode and DecodeWithExternal.
var DefaultLimits = Limits{
	MaxModelBytes:    2 << 30,
	MaxExternalBytes: 16 << 30,
	MaxSubgraphDepth: 16,
}

func (l Limits) withDefaults() Limits {
	if l.MaxModelBytes <= 0 {
		l.MaxModelBytes = DefaultLimits.MaxModelBytes
	}
	if l.MaxExternalBytes <= 0 {
		l.MaxExternalBytes = DefaultLimits.MaxExternalBytes
	}
	if l.MaxSubgraphDepth <= 0 {
		l.MaxSubgraphDepth = DefaultLimits.MaxSubgraphDepth
	}
	return l
}

// recursionLimit is the protobuf message nesting a model of
// MaxSubgraphDepth nested graphs needs at most: model, graph, node,
// attribute per level, and the type and shape messages of value infos
// (TypeProto nests for sequences and maps) below the innermost graph.
func (l Limits) recursionLimit() int { return 3*l.MaxSubgraphDepth + 32 }

// unmarshalModel parses a ModelProto within l. Its errors wrap ErrInvalid
// and, when the protobuf is malformed, say which field failed at which
// byte offset.
func unmarshalModel(data []byte, mp *onnxpb.ModelProto, l Limits) error {
	l = l.withDefaults()
	if int64(len(data)) > l.MaxModelBytes {
		return fmt.Errorf("%w: the model has %d bytes, more than the limit of %d", ErrInvalid, len(data), l.MaxModelBytes)
	}
	if len(data) == 0 {
		return fmt.Errorf("%w: the file is empty, so the model has no graph", ErrInvalid)
	}
	err := proto.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: l.recursionLimit()}.Unmarshal(data, mp)
	if err == nil {
		return nil
	}
	if where := locateWireError(data, mp.ProtoReflect().Descriptor(), l); where != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, where)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// locateWireError walks the protobuf wire format of data as a message md
// and describes the first defect it finds: the field path and the byte
// offset of the field that does not parse, or "" when it finds none.
func locateWireError(data []byte, md protoreflect.MessageDescriptor, l Limits) string {
	w := wireWalker{limit: l.MaxSubgraphDepth}
	w.walk(data, md, 0, nil, 0)
	return w.err
}

type wireWalker struct {
	limit int
	err   string
}

func fieldPath(path []string) string {
	if len(path) == 0 {
		return "model"
	}
	if len(path) > 10 {
		return strings.Join(path[:4], ".") + fmt.Sprintf(".(%d more).", len(path)-7) + strings.Join(path[len(path)-3:], ".")
	}
	return strings.Join(path, ".")
}

func (w *wireWalker) fail(path []string, off int, format string, args ...any) {
	if w.err == "" {
		w.err = fmt.Sprintf("%s at byte %d: %s", fieldPath(path), off, fmt.Sprintf(format, args...))
	}
}

// wantWire is the wire type a field of kind k is written with (bytes for
// packed repeated scalars is accepted separately).
func wantWire(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.FloatKind, protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return protowire.Fixed32Type
	case protoreflect.DoubleKind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

func (w *wireWalker) walk(data []byte, md protoreflect.MessageDescriptor, base int, path []string, graphs int) {
	if md.Name() == "GraphProto" {
		graphs++
		if graphs > w.limit {
			w.fail(path, base, "graphs nested %d deep, more than the limit of %d", graphs, w.limit)
			return
		}
	}
	index := map[protowire.Number]int{}
	for off := 0; off < len(data) && w.err == ""; {
		num, typ, n := protowire.ConsumeTag(data[off:])
		if n < 0 {
			w.fail(path, base+off, "bad field tag: %v", protowire.ParseError(n))
			return
		}
		fd := md.Fields().ByNumber(num)
		name := fmt.Sprintf("field %d", num)
		if fd != nil {
			name = string(fd.Name())
			if fd.IsList() {
				name = fmt.Sprintf("%s[%d]", name, index[num])
				index[num]++
			}
		}
		here := append(append([]string(nil), path...), name)
		m := protowire.ConsumeFieldValue(num, typ, data[off+n:])
		if m < 0 {
			if typ == protowire.BytesType {
				if size, k := protowire.ConsumeVarint(data[off+n:]); k > 0 && size > uint64(len(data)-off-n-k) {
					w.fail(here, base+off, "the field declares %d bytes, only %d remain (a truncated file?)", size, len(data)-off-n-k)
					return
				}
			}
			w.fail(here, base+off, "%v", protowire.ParseError(m))
			return
		}
		if fd != nil {
			want := wantWire(fd.Kind())
			packed := fd.IsList() && typ == protowire.BytesType && want != protowire.BytesType
			if typ != want && !packed {
				w.fail(here, base+off, "wire type %d, want %d for a %v field", typ, want, fd.Kind())
				return
			}
			if fd.Kind() == protoreflect.MessageKind {
				v, _ := protowire.ConsumeBytes(data[off+n:])
				start := off + n + (m - len(v))
				w.walk(v, fd.Message(), base+start, here, graphs)
			}
		}
		off += n + m
	}
}
