package failure

import (
	"errors"
	"fmt"
)

// Kind is a class of failure, independent of the stage it happens in. It is
// an error, so that errors.Is(err, kind) tests an error's kind.
type Kind string

// The kinds, in the order KindOf tries them.
const (
	// NotFound: a file, object, tensor or split named by the job does not
	// exist.
	NotFound Kind = "not-found"
	// InvalidModel: a model file that does not decode or whose graph is
	// inconsistent (dangling inputs, cycles, bad shapes).
	InvalidModel Kind = "invalid-model"
	// Unsupported: an operator, data type, attribute or opset eightbit
	// does not handle.
	Unsupported Kind = "unsupported"
	// NonFinite: NaN or infinite values in weights, activations or ranges.
	NonFinite Kind = "non-finite"
	// BadData: a dataset file or sample that cannot be read, decoded or
	// preprocessed.
	BadData Kind = "bad-data"
	// Config: a manifest, job spec or flag value that is wrong.
	Config Kind = "config"
	// IO: reading or writing storage failed for another reason than a
	// missing object (permissions, network, a full disk).
	IO Kind = "io"
	// Internal: an error that carries no kind, which is a defect of
	// eightbit or an unclassified condition.
	Internal Kind = "internal"
)

// Kinds lists every kind, in the order KindOf tries them.
func Kinds() []Kind {
	return []Kind{NotFound, InvalidModel, Unsupported, NonFinite, BadData, Config, IO, Internal}
}

// Error returns the kind's name.
func (k Kind) Error() string { return string(k) }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds() {
		if k == x {
			return true
		}
	}
	return false
}

// marked is an error that carries a kind without changing its message.
type marked struct {
	err  error
	kind Kind
}

func (m *marked) Error() string        { return m.err.Error() }
func (m *marked) Unwrap() error        { return m.err }
func (m *marked) Is(target error) bool { return target == m.kind }

// Mark returns an error with err's message for which errors.Is(·, kind)
// and errors.Is(·, err) hold. Mark(nil, kind) is nil.
func Mark(err error, kind Kind) error {
	if err == nil {
		return nil
	}
	return &marked{err: err, kind: kind}
}

// Errorf formats an error as fmt.Errorf does (%w included) and marks it
// with kind.
func Errorf(kind Kind, format string, args ...any) error {
	return Mark(fmt.Errorf(format, args...), kind)
}

// KindOf returns the kind of err: that of the outermost Error or mark in
// its chain, else the first of Kinds that err wraps, Internal when it
// carries none, and "" for a nil error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) && fe.Kind.Valid() {
		return fe.Kind
	}
	var m *marked
	if errors.As(err, &m) {
		return m.kind
	}
	for _, k := range Kinds() {
		if errors.Is(err, k) {
			return k
		}
	}
	return Internal
}

// Error is a classified failure in plain data, as it crosses a Beam
// boundary and lands in a report row or the dead-letter file: the stage
// that failed ("load", "calibrate", "quantize", "evaluate", ...), the kind
// and the message of the original error.
type Error struct {
	Stage   string `json:"stage"`
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

// Classify returns err as an Error of the stage, with KindOf(err) as its
// kind and err's message. It returns nil for a nil err. An err that already
// is (or wraps) an Error keeps that Error's stage and kind, so a failure
// classified early is not reclassified later.
func Classify(stage string, err error) *Error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		c := *fe
		if c.Stage == "" {
			c.Stage = stage
		}
		if !c.Kind.Valid() {
			c.Kind = Internal
		}
		if c.Message == "" {
			c.Message = err.Error()
		}
		return &c
	}
	return &Error{Stage: stage, Kind: KindOf(err), Message: err.Error()}
}

// Error returns "stage: message" (the message alone without a stage).
func (e *Error) Error() string {
	if e.Stage == "" {
		return e.Message
	}
	return e.Stage + ": " + e.Message
}

// Is reports whether target is e's kind, so errors.Is(e, failure.NotFound)
// works on a classified failure as on the error it came from.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}
