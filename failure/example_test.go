package failure_test

import (
	"errors"
	"fmt"

	"github.com/eightbitml/eightbit/failure"
)

func Example() {
	errInvalid := failure.Errorf(failure.InvalidModel, "invalid ONNX data")
	err := fmt.Errorf("zoo/m.onnx: %w", errInvalid)

	fmt.Println(errors.Is(err, failure.InvalidModel), errors.Is(err, errInvalid))
	e := failure.Classify("load", err)
	fmt.Println(e.Stage, e.Kind, e.Message)
	// Output:
	// true true
	// load invalid-model zoo/m.onnx: invalid ONNX data
}
