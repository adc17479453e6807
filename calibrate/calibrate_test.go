package calibrate

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"testing"
	"testing/quick"

	"github.com/eightbitml/eightbit/qmath"
	"github.com/eightbitml/eightbit/tensor"
)

var (
	nan  = float32(math.NaN())
	pinf = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	negz = float32(math.Copysign(0, -1))
)

func TestMinMaxAdd(t *testing.T) {
	cases := []struct {
		name      string
		in        []float32
		want      qmath.Range
		count     int64
		nonFinite int64
	}{
		{"empty", nil, qmath.Range{}, 0, 0},
		{"one", []float32{2.5}, qmath.Range{Min: 2.5, Max: 2.5}, 1, 0},
		{"mixed", []float32{3, -1, 7, 0}, qmath.Range{Min: -1, Max: 7}, 4, 0},
		{"nan skipped", []float32{nan, 1, nan, 2}, qmath.Range{Min: 1, Max: 2}, 2, 2},
		{"inf skipped", []float32{pinf, -3, ninf, 4}, qmath.Range{Min: -3, Max: 4}, 2, 2},
		{"only non-finite", []float32{nan, pinf}, qmath.Range{}, 0, 2},
		{"negative zero", []float32{negz, 0}, qmath.Range{Min: 0, Max: 0}, 2, 0},
		{"all negative", []float32{-5, -2}, qmath.Range{Min: -5, Max: -2}, 2, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m MinMax
			m.Add(c.in)
			if got := m.Range(); got != c.want || (got.Min == 0 && math.Signbit(float64(got.Min))) {
				t.Errorf("Range = %+v, want %+v", got, c.want)
			}
			if m.Count() != c.count || m.NonFinite() != c.nonFinite {
				t.Errorf("Count %d NonFinite %d, want %d %d", m.Count(), m.NonFinite(), c.count, c.nonFinite)
			}
		})
	}
}

func TestMinMaxMerge(t *testing.T) {
	cases := []struct {
		name string
		a, b []float32
		want qmath.Range
	}{
		{"both", []float32{1, 2}, []float32{-1, 0.5}, qmath.Range{Min: -1, Max: 2}},
		{"left empty", nil, []float32{3, 4}, qmath.Range{Min: 3, Max: 4}},
		{"right empty", []float32{3, 4}, nil, qmath.Range{Min: 3, Max: 4}},
		{"right only nan", []float32{3}, []float32{nan}, qmath.Range{Min: 3, Max: 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a, b MinMax
			a.Add(c.a)
			b.Add(c.b)
			a.Merge(&b)
			if got := a.Range(); got != c.want {
				t.Errorf("Range = %+v, want %+v", got, c.want)
			}
			if a.Count() != int64(len(c.a)+len(c.b))-b.NonFinite() {
				t.Errorf("Count = %d", a.Count())
			}
		})
	}
}

func TestRangesObserve(t *testing.T) {
	r := NewRanges()
	r.Observe("x", tensor.FromFloat32(tensor.Shape{3}, []float32{1, -2, 3}))
	r.Observe("x", tensor.FromFloat32(tensor.Shape{1}, []float32{5}))
	r.Observe("ids", tensor.FromInt64(tensor.Shape{2}, []int64{100, -100})) // ignored
	r.Observe("bad", tensor.FromFloat32(tensor.Shape{1}, []float32{nan}))
	res := r.Result()
	if got := res["x"]; got != (qmath.Range{Min: -2, Max: 5}) {
		t.Errorf("x = %+v", got)
	}
	if _, ok := res["ids"]; ok {
		t.Error("int64 tensor was observed")
	}
	if _, ok := res["bad"]; ok {
		t.Error("tensor with only NaN has a range")
	}
	if r.Get("bad").NonFinite() != 1 {
		t.Error("NaN not counted")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := NewRanges()
	r.ObserveValues("b", []float32{0.1, 1e-30, -3.4e38})
	r.ObserveValues("a", []float32{nan, 2})
	r.ObserveValues("c", []float32{pinf})
	b1, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Ranges
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip changed the encoding:\n%s\n%s", b1, b2)
	}
	want := `{"version":1,"tensors":[{"name":"a","min":2,"max":2,"count":1,"nonfinite":1},{"name":"b","min":-3.4e+38,"max":0.1,"count":3},{"name":"c","min":0,"max":0,"count":0,"nonfinite":1}]}`
	if string(b1) != want {
		t.Errorf("encoding\n got %s\nwant %s", b1, want)
	}
	for _, bad := range []string{
		`{"version":2,"tensors":[]}`,
		`{"version":1,"tensors":[{"name":"a","min":3,"max":2,"count":1}]}`,
		`{"version":1,"tensors":[{"name":"a","count":1},{"name":"a","count":1}]}`,
		`{"version":1,"tensors":[],"extra":1}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// split cuts data into parts at the given cut fractions.
func split(data []float32, cuts []uint8) [][]float32 {
	var parts [][]float32
	start := 0
	for _, c := range cuts {
		end := start + int(c)%(len(data)-start+1)
		parts = append(parts, data[start:end])
		start = end
	}
	return append(parts, data[start:])
}

// TestMergeOrderProperty checks that observing data in one go and observing
// any split of it in separate Ranges merged in any order (and through JSON)
// give byte-identical results.
func TestMergeOrderProperty(t *testing.T) {
	special := []float32{nan, pinf, ninf, negz, 0, 1e-38, -1e-38, 3.4e38}
	f := func(raw []float32, idx []uint8, cuts []uint8, seed int64) bool {
		data := append([]float32(nil), raw...)
		for i, k := range idx { // sprinkle special values
			if len(data) > 0 {
				data[int(k)%len(data)] = special[i%len(special)]
			}
		}
		whole := NewRanges()
		whole.ObserveValues("t", data)
		whole.ObserveValues("u", data[:len(data)/2])
		want, _ := json.Marshal(whole)

		parts := split(data, cuts)
		rs := make([]*Ranges, len(parts))
		for i, p := range parts {
			rs[i] = NewRanges()
			rs[i].ObserveValues("t", p)
		}
		// "u" sees only the first half, split the same way.
		half := split(data[:len(data)/2], cuts)
		for i, p := range half {
			if i < len(rs) {
				rs[i].ObserveValues("u", p)
			}
		}
		rng := rand.New(rand.NewSource(seed))
		// Merge in a random tree order, shipping some through JSON.
		for len(rs) > 1 {
			i, j := rng.Intn(len(rs)), rng.Intn(len(rs)-1)
			if j >= i {
				j++
			}
			a, b := rs[i], rs[j]
			if rng.Intn(2) == 0 {
				bb, _ := json.Marshal(b)
				b = NewRanges()
				if err := json.Unmarshal(bb, b); err != nil {
					return false
				}
			}
			a.Merge(b)
			rs = append(rs[:j], rs[j+1:]...)
		}
		got, _ := json.Marshal(rs[0])
		if !bytes.Equal(got, want) {
			t.Logf("split %d parts:\n got %s\nwant %s", len(parts), got, want)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func FuzzMergeSplit(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint8(3))
	f.Add([]byte{0, 0, 0, 0x80, 0, 0, 0xc0, 0x7f}, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, cut uint8) {
		data := make([]float32, len(raw)/4)
		for i := range data {
			data[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		var whole, a, b MinMax
		whole.Add(data)
		k := int(cut) % (len(data) + 1)
		a.Add(data[:k])
		b.Add(data[k:])
		ab, ba := a, b
		ab.Merge(&b)
		ba.Merge(&a)
		if ab != whole || ba != whole {
			t.Fatalf("whole %+v, a+b %+v, b+a %+v", whole, ab, ba)
		}
	})
}
