package transforms

import (
	"errors"
	"strings"

	"github.com/eightbitml/eightbit/failure"
)

// Failures cross Beam boundaries as strings (the Err fields of Shard,
// TensorStats, CalibPart, RangeSet, EvalCounts and LayerPart). failText
// puts the error's kind (failure.KindOf) in front of its message so that
// the kind survives; failErr turns such a string back into an error of that
// kind, and failureRow classifies it into the report row's stage and kind.

// kindSep separates the kind from the message in a failure string.
const kindSep = "\x1f"

// failText renders err for an Err field.
func failText(err error) string {
	return string(failure.KindOf(err)) + kindSep + err.Error()
}

// failErr is the error of a failText string (a plain string is an error
// without a kind).
func failErr(s string) error {
	kind, msg, ok := strings.Cut(s, kindSep)
	if !ok {
		return errors.New(s)
	}
	if k := failure.Kind(kind); k.Valid() {
		return failure.Mark(errors.New(msg), k)
	}
	return errors.New(msg)
}
