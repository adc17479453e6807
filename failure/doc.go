// Package failure classifies what went wrong, so that a zoo job can say
// whether a model failed because a file was missing, the model was invalid,
// an operator is unsupported, the data was bad or values were not finite,
// and so that callers can branch on it with errors.Is.
//
// A Kind is itself an error. Packages mark their errors with a kind where
// they know it (formats marks a file that does not decode as InvalidModel,
// storage a missing object as NotFound, dataset a malformed file as
// BadData):
//
//	var ErrInvalid = failure.Errorf(failure.InvalidModel, "invalid ONNX data")
//	...
//	return fmt.Errorf("%s: %w", name, ErrInvalid)
//
// and errors.Is(err, failure.InvalidModel) then holds for every error that
// wraps ErrInvalid, while errors.Is(err, ErrInvalid) keeps working.
//
// Before an error crosses a Beam boundary, where only plain data survives,
// Classify turns it into an Error: a stage, a kind and a message, which the
// report and the dead-letter file carry as they are.
//
// The package imports only the standard library; every package may import
// it.
package failure
