// Package formats decodes a model file of any format eightbit reads into
// the graph IR, choosing the codec by format name: "onnx" (formats/onnx)
// or "tf-graphdef" (formats/tfgraph, TensorFlow frozen GraphDef). Like the
// codecs it does no I/O: callers read the bytes, and external tensor data
// of ONNX files through Options.External.
package formats

import (
	"fmt"
	"path"
	"strings"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/formats/tfgraph"
	"github.com/eightbitml/eightbit/graph"
)

// The model formats, as the zoo manifest names them.
const (
	ONNX       = "onnx"
	TFGraphDef = "tf-graphdef"
)

// Names returns the format names, the default first.
func Names() []string { return []string{ONNX, TFGraphDef} }

// Options configures Decode.
type Options struct {
	// Inputs and Outputs cut a TensorFlow graph at named tensors
	// ("Mul:0", "softmax:0"; see tfgraph.Options). ONNX models take no cut:
	// they must be empty.
	Inputs, Outputs []string
	// External reads an ONNX file's external tensor data by its relative
	// location; nil refuses external data.
	External func(location string) ([]byte, error)
}

// ForFile returns the format a file name implies: tf-graphdef for ".pb",
// onnx otherwise.
func ForFile(name string) string {
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	if strings.EqualFold(path.Ext(name), ".pb") {
		return TFGraphDef
	}
	return ONNX
}

// ValueName returns the name of the graph IR value that a model's own
// tensor name denotes: for a TensorFlow graph "softmax:0" is the value
// "softmax" (tfgraph.ValueName); ONNX names are IR names.
func ValueName(format, tensor string) string {
	if format == TFGraphDef && tensor != "" {
		return tfgraph.ValueName(tensor)
	}
	return tensor
}

// Decode decodes data in the named format ("" is onnx).
func Decode(data []byte, format string, opt Options) (*graph.Model, error) {
	switch format {
	case "", ONNX:
		if len(opt.Inputs) > 0 || len(opt.Outputs) > 0 {
			return nil, fmt.Errorf("formats: an ONNX model takes no input or output cut (got inputs %q, outputs %q)", opt.Inputs, opt.Outputs)
		}
		if opt.External != nil {
			return onnx.DecodeWithExternal(data, opt.External)
		}
		return onnx.Decode(data)
	case TFGraphDef:
		return tfgraph.Decode(data, tfgraph.Options{Inputs: opt.Inputs, Outputs: opt.Outputs})
	}
	return nil, fmt.Errorf("formats: unknown model format %q (known: %s)", format, strings.Join(Names(), ", "))
}
