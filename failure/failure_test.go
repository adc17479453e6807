package failure

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

var errSentinel = Errorf(InvalidModel, "invalid model data")

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), Internal},
		{"marked", Mark(errors.New("no such key"), NotFound), NotFound},
		{"wrapped sentinel", fmt.Errorf("model a.onnx: %w", errSentinel), InvalidModel},
		{"kind wrapped directly", fmt.Errorf("%w: weight w has NaN", NonFinite), NonFinite},
		{"errorf with cause", Errorf(BadData, "sample 3: %w", fs.ErrNotExist), BadData},
		{"outermost of two marks", Mark(fmt.Errorf("ctx: %w", Mark(errors.New("x"), Config)), IO), IO},
		{"classified", fmt.Errorf("again: %w", Classify("load", Mark(errors.New("x"), Unsupported))), Unsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
			if tc.want != "" && !errors.Is(tc.err, tc.want) && tc.want != Internal {
				t.Errorf("errors.Is(%v, %q) = false", tc.err, tc.want)
			}
		})
	}
}

func TestMarkKeepsMessageAndIdentity(t *testing.T) {
	if Mark(nil, IO) != nil {
		t.Fatal("Mark(nil) != nil")
	}
	err := fmt.Errorf("m.onnx: %w", errSentinel)
	if err.Error() != "m.onnx: invalid model data" {
		t.Errorf("message %q", err)
	}
	if !errors.Is(err, errSentinel) || !errors.Is(err, InvalidModel) || errors.Is(err, NotFound) {
		t.Errorf("errors.Is wrong for %v", err)
	}
	cause := errors.New("cause")
	if m := Mark(cause, BadData); !errors.Is(m, cause) || m.Error() != "cause" {
		t.Errorf("Mark lost its cause: %v", m)
	}
}

func TestClassify(t *testing.T) {
	if Classify("load", nil) != nil {
		t.Fatal("Classify(nil) != nil")
	}
	e := Classify("load", fmt.Errorf("zoo/m.onnx: %w", errSentinel))
	want := Error{Stage: "load", Kind: InvalidModel, Message: "zoo/m.onnx: invalid model data"}
	if *e != want {
		t.Errorf("Classify = %+v, want %+v", *e, want)
	}
	if e.Error() != "load: zoo/m.onnx: invalid model data" {
		t.Errorf("Error() = %q", e.Error())
	}
	if !errors.Is(e, InvalidModel) || errors.Is(e, NotFound) {
		t.Error("errors.Is on a classified Error")
	}
	// Classified once, a failure keeps its stage and kind.
	again := Classify("report", fmt.Errorf("row: %w", e))
	if again.Stage != "load" || again.Kind != InvalidModel || again.Message != want.Message {
		t.Errorf("reclassified: %+v", *again)
	}
	if k := Classify("x", &Error{Kind: "bogus", Message: "m"}); k.Kind != Internal || k.Stage != "x" {
		t.Errorf("invalid kind kept: %+v", *k)
	}
}

func TestKindsValid(t *testing.T) {
	seen := map[Kind]bool{}
	for _, k := range Kinds() {
		if !k.Valid() || seen[k] || k.Error() != string(k) {
			t.Errorf("kind %q", k)
		}
		seen[k] = true
	}
	if Kind("nope").Valid() {
		t.Error(`Kind("nope").Valid()`)
	}
}
