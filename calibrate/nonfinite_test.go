package calibrate

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/tensor"
)

func TestNonFiniteCounts(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	r := NewRanges()
	r.Observe("conv1", tensor.FromFloat32(tensor.Shape{4}, []float32{1, nan, 2, 3}))
	r.Observe("relu1", tensor.FromFloat32(tensor.Shape{2}, []float32{1, 2}))
	r.Observe("fc", tensor.FromFloat32(tensor.Shape{3}, []float32{inf, -inf, nan}))
	got := r.NonFinite()
	want := []NonFiniteCount{{Tensor: "conv1", NonFinite: 1, Finite: 3}, {Tensor: "fc", NonFinite: 3, Finite: 0}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("NonFinite = %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		name  string
		order []string
		want  string
	}{
		{"graph order", []string{"x", "fc", "conv1"}, `activation "fc": 3 of 3 values are NaN or infinite (and 1 more tensors`},
		{"sorted without order", nil, `activation "conv1": 1 of 4 values are NaN or infinite`},
	} {
		err := FiniteError(got, tc.order)
		var nf *NonFiniteError
		if !errors.As(err, &nf) || failure.KindOf(err) != failure.NonFinite || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (kind %s), want %q", tc.name, err, failure.KindOf(err), tc.want)
		}
	}
	if err := FiniteError(nil, nil); err != nil {
		t.Errorf("no counts: %v", err)
	}

	// Histograms and tables count the same.
	hs, err := NewHistograms(r, Options{Method: MethodMinMax, Bins: 16})
	if err != nil {
		t.Fatal(err)
	}
	hs.Observe("conv1", tensor.FromFloat32(tensor.Shape{2}, []float32{nan, 1}))
	if c := hs.NonFinite(); len(c) != 1 || c[0].Tensor != "conv1" || c[0].NonFinite != 1 {
		t.Errorf("Histograms.NonFinite = %+v", c)
	}
	tab := Table{Tensors: []TensorResult{FromMinMax("conv1", r.Get("conv1")), FromMinMax("relu1", r.Get("relu1"))}}
	if c := tab.NonFinite(); len(c) != 1 || c[0] != want[0] {
		t.Errorf("Table.NonFinite = %+v", c)
	}
}
