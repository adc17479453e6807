package infer

import (
	"fmt"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
)

// MaxOpset is the newest ai.onnx opset the executor knows: the operators it
// implements follow the ONNX specification up to this version (checked
// against the node tests of ONNX 1.22). A model that imports a newer one
// may rely on semantics the executor does not have, and Compile refuses it.
const MaxOpset = 25

// OpsetError is Compile's error for a model that imports an ai.onnx opset
// newer than MaxOpset. It has kind failure.Unsupported and matches
// ErrUnsupported.
type OpsetError struct{ Opset int64 }

func (e *OpsetError) Error() string {
	return fmt.Sprintf("the model imports ai.onnx opset %d, newer than %d, the newest opset eightbit knows", e.Opset, MaxOpset)
}

// Is reports whether target is ErrUnsupported or failure.Unsupported.
func (e *OpsetError) Is(target error) bool {
	return target == ErrUnsupported || target == failure.Unsupported
}

// checkOpset refuses a model importing an ai.onnx opset newer than
// MaxOpset with an *OpsetError.
func checkOpset(m *graph.Model) error {
	if v := m.Opset(); v > MaxOpset {
		return &OpsetError{Opset: v}
	}
	return nil
}
