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

func encodeHist(t testing.TB, h *Histogram) []byte {
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sprinkle returns raw with special values written at the given indices.
func sprinkle(raw []float32, idx []uint8) []float32 {
	special := []float32{nan, pinf, ninf, negz, 0, 1e-38, -1e-38, 3.4e38, -3.4e38}
	data := append([]float32(nil), raw...)
	for i, k := range idx {
		if len(data) > 0 {
			data[int(k)%len(data)] = special[i%len(special)]
		}
	}
	return data
}

// TestHistogramMergeProperty: observing the data at once, or any split of it
// in separate histograms merged in any order and partly through JSON, gives
// byte-identical histograms; merge is commutative and associative.
func TestHistogramMergeProperty(t *testing.T) {
	f := func(raw []float32, idx, cuts []uint8, seed int64, sym bool, bins uint8) bool {
		data := sprinkle(raw, idx)
		nb := 2 + int(bins)
		var mm MinMax
		mm.Add(data)
		whole := NewHistogram(mm.Range(), nb, sym)
		whole.Add(data)
		want := encodeHist(t, whole)

		parts := split(data, cuts)
		hs := make([]*Histogram, len(parts))
		for i, p := range parts {
			hs[i] = NewHistogram(mm.Range(), nb, sym)
			hs[i].Add(p)
		}
		rng := rand.New(rand.NewSource(seed))
		for len(hs) > 1 {
			i, j := rng.Intn(len(hs)), rng.Intn(len(hs)-1)
			if j >= i {
				j++
			}
			a, b := hs[i], hs[j]
			if rng.Intn(2) == 0 {
				var back Histogram
				if err := json.Unmarshal(encodeHist(t, b), &back); err != nil {
					t.Log(err)
					return false
				}
				b = &back
			}
			if err := a.Merge(b); err != nil {
				t.Log(err)
				return false
			}
			hs = append(hs[:j], hs[j+1:]...)
		}
		if got := encodeHist(t, hs[0]); !bytes.Equal(got, want) {
			t.Logf("split into %d:\n got %s\nwant %s", len(parts), got, want)
			return false
		}
		// Explicit commutativity and associativity on three parts.
		if len(data) >= 3 {
			third := len(data) / 3
			mk := func(p []float32) *Histogram {
				h := NewHistogram(mm.Range(), nb, sym)
				h.Add(p)
				return h
			}
			x, y, z := data[:third], data[third:2*third], data[2*third:]
			l := mk(x)
			l.Merge(mk(y))
			l.Merge(mk(z)) // (x+y)+z
			yz := mk(y)
			yz.Merge(mk(z))
			r := mk(x)
			r.Merge(yz) // x+(y+z)
			c := mk(z)
			c.Merge(mk(y))
			c.Merge(mk(x)) // (z+y)+x
			if !bytes.Equal(encodeHist(t, l), want) || !bytes.Equal(encodeHist(t, r), want) || !bytes.Equal(encodeHist(t, c), want) {
				t.Log("not associative/commutative")
				return false
			}
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func FuzzHistogramSplit(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(3), false)
	f.Add([]byte{0, 0, 0, 0x80, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x3f}, uint8(1), true)
	f.Fuzz(func(t *testing.T, raw []byte, cut uint8, sym bool) {
		data := make([]float32, len(raw)/4)
		for i := range data {
			data[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		var mm MinMax
		mm.Add(data)
		whole := NewHistogram(mm.Range(), 64, sym)
		whole.Add(data)
		k := int(cut) % (len(data) + 1)
		a, b := NewHistogram(mm.Range(), 64, sym), NewHistogram(mm.Range(), 64, sym)
		a.Add(data[:k])
		b.Add(data[k:])
		ab, _ := json.Marshal(a)
		var ba Histogram
		json.Unmarshal(ab, &ba)
		if err := ba.Merge(b); err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(whole)
		g, _ := json.Marshal(&ba)
		if !bytes.Equal(w, g) {
			t.Fatalf("whole %s\nsplit %s", w, g)
		}
		for _, m := range Methods {
			r := whole.Result(Options{Method: m})
			if r.Min > 0 || r.Max < 0 || isNonFinite(r.Min) || isNonFinite(r.Max) {
				t.Fatalf("%s: range %v", m, r)
			}
		}
	})
}

// synthetic returns n samples of a distribution with the given outliers
// appended.
func synthetic(kind string, n int, outliers []float32, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	out := make([]float32, 0, n+len(outliers))
	for i := 0; i < n; i++ {
		var v float64
		switch kind {
		case "uniform":
			v = 2*rng.Float64() - 1
		case "gaussian":
			v = rng.NormFloat64()
		case "laplace":
			v = rng.ExpFloat64()
			if rng.Intn(2) == 0 {
				v = -v
			}
		case "relu-gaussian":
			v = math.Max(0, rng.NormFloat64())
		}
		out = append(out, float32(v))
	}
	return append(out, outliers...)
}

// quantiles returns n evenly spaced quantiles of a distribution (stratified
// samples: the empirical distribution has no sampling noise, so a brute
// force over raw samples scores the distribution itself), outliers
// appended.
func quantiles(kind string, n int, outliers []float32) []float32 {
	out := make([]float32, 0, n+len(outliers))
	for i := 0; i < n; i++ {
		u := (float64(i) + 0.5) / float64(n)
		var v float64
		switch kind {
		case "uniform":
			v = 2*u - 1
		case "gaussian":
			v = math.Sqrt2 * math.Erfinv(2*u-1)
		case "relu-gaussian":
			v = math.Max(0, math.Sqrt2*math.Erfinv(2*u-1))
		case "laplace":
			if u < 0.5 {
				v = math.Log(2 * u)
			} else {
				v = -math.Log(2 - 2*u)
			}
		}
		out = append(out, float32(v))
	}
	return append(out, outliers...)
}

func build(data []float32, o Options) *Histogram {
	var mm MinMax
	mm.Add(data)
	h := NewHistogram(mm.Range(), DefaultBins, o.Symmetric)
	h.Add(data)
	return h
}

// TestClosedForm checks each method on synthetic data with injected
// outliers: MinMax keeps them, Percentile and Entropy clip them to near the
// bulk of the distribution.
func TestClosedForm(t *testing.T) {
	const n = 200000
	cases := []struct {
		kind   string
		out    []float32
		pctLo  float32 // expected 99.99th-percentile magnitude bounds
		pctHi  float32
		entMin float32 // entropy keeps at least this much
	}{
		{"uniform", []float32{40, -35, 38}, 0.99, 1.0001, 0.9},
		// Two-sided 99.99% of N(0,1): |x| < 3.89 (0.005% per tail).
		{"gaussian", []float32{60, -55, 58, 61}, 3.6, 4.2, 2.0},
		// Laplace(0,1): P(|x|>t) = e^−t; 0.005% per tail → t ≈ 9.2.
		{"laplace", []float32{120, -110, 115}, 8.3, 10.2, 3.0},
	}
	for _, c := range cases {
		for _, sym := range []bool{false, true} {
			data := synthetic(c.kind, n, c.out, 1)
			h := build(data, Options{Symmetric: sym})
			name := c.kind
			if sym {
				name += "/symmetric"
			}
			t.Run(name, func(t *testing.T) {
				mm := h.Result(Options{Method: MethodMinMax})
				if mm.Max < c.out[0] || mm.Min > c.out[1] && !sym {
					t.Errorf("minmax %v lost the outliers %v", mm, c.out)
				}
				pct := h.Result(Options{Method: MethodPercentile, Percentile: 99.99})
				ent := h.Result(Options{Method: MethodEntropy})
				mse := h.Result(Options{Method: MethodMSE})
				t.Logf("minmax %v percentile %v entropy %v mse %v", mm, pct, ent, mse)
				// Percentile and Entropy clip the outliers (Entropy's
				// smallest window is 1/16 of the histogram for symmetric
				// ranges and 1/8 for asymmetric ones, as in TensorRT).
				for what, r := range map[string]qmath.Range{"percentile": pct, "entropy": ent} {
					if r.Max > c.out[0]/4 || -r.Min > c.out[0]/4 {
						t.Errorf("%s %v kept the outliers", what, r)
					}
				}
				// MSE weighs the outliers' clipping error against the
				// rounding error of the rest; it must not do worse than
				// either min/max or the percentile range.
				qmin, qmax := Options{Symmetric: sym}.levels()
				params := func(r qmath.Range) qmath.Params {
					if sym {
						return qmath.SymmetricParams(r, qmax)
					}
					return qmath.AsymmetricParams(r, qmin, qmax)
				}
				em := h.ExpectedError(params(mse), qmin, qmax)
				if e := h.ExpectedError(params(mm), qmin, qmax); em > e {
					t.Errorf("mse %v: expected error %g above min/max's %g", mse, em, e)
				}
				if e := h.ExpectedError(params(pct), qmin, qmax); em > e {
					t.Errorf("mse %v: expected error %g above percentile's %g", mse, em, e)
				}
				w := float32(h.Width())
				if sym {
					// Percentile cuts the 0.01% from the top of |x|.
					if pct.Max < c.pctLo*0.97 || pct.Max > c.pctHi*1.05+w {
						t.Errorf("percentile %v, want |t| in [%v, %v]", pct, c.pctLo, c.pctHi)
					}
				} else if pct.Max < c.pctLo || pct.Max > c.pctHi+w || -pct.Min < c.pctLo || -pct.Min > c.pctHi+w {
					t.Errorf("percentile %v, want both ends in [%v, %v]", pct, c.pctLo, c.pctHi)
				}
				if ent.Max < c.entMin {
					t.Errorf("entropy %v clipped into the bulk (want max >= %v)", ent, c.entMin)
				}
			})
		}
	}
}

// bruteMSE returns the squared error of quantizing data with p on [qmin,
// qmax] through qmath, summed.
func bruteMSE(data []float32, p qmath.Params, qmin, qmax int32) float64 {
	var s float64
	for _, v := range data {
		q := int32(qmath.RoundHalfEven(v/p.Scale)) + p.ZeroPoint
		if v/p.Scale > 1e9 {
			q = qmax
		} else if v/p.Scale < -1e9 {
			q = qmin
		}
		q = qmath.Saturate(q, qmin, qmax)
		d := float64(v) - float64(qmath.Dequantize(q, p))
		s += d * d
	}
	return s
}

// TestMSEBruteForce compares the histogram's MSE choice with a brute-force
// search over clipping thresholds on bin edges, each scored by the exact
// squared error of quantizing the raw samples through qmath (a million
// stratified samples of each distribution plus outliers): the two
// thresholds lie within one bin of each other. The brute force scores every
// 16th edge, then every edge around its best and around the histogram's
// choice (scoring all 2048 edges on a million samples takes too long).
func TestMSEBruteForce(t *testing.T) {
	if testing.Short() {
		t.Skip("brute force over a million samples")
	}
	cases := []struct {
		kind string
		sym  bool
		out  []float32
	}{
		{"gaussian", true, []float32{30, -28}},
		{"laplace", true, []float32{60, -50}},
		{"uniform", true, []float32{9, -8}},
		{"relu-gaussian", false, []float32{25, 24, 22, 26, 23.5, 25.5, 21, 24.5}},
		{"laplace", false, []float32{60, -50}},
	}
	for _, c := range cases {
		data := quantiles(c.kind, 1000000, c.out)
		o := Options{Method: MethodMSE, Symmetric: c.sym}
		h := build(data, o)
		got := h.Result(o)
		qmin, qmax := o.levels()
		score := func(m int) float64 {
			a, b := h.window(m)
			var p qmath.Params
			if c.sym {
				e := float32(h.Edge(b))
				p = qmath.SymmetricParams(qmath.Range{Min: -e, Max: e}, qmax)
			} else {
				p = qmath.AsymmetricParams(qmath.Range{Min: float32(h.Edge(a)), Max: float32(h.Edge(b))}, qmin, qmax)
			}
			return bruteMSE(data, p, qmin, qmax)
		}
		scores := map[int]float64{}
		best, bestM := math.Inf(1), 0
		try := func(m int) {
			if m < 1 || m > h.Bins() {
				return
			}
			if _, ok := scores[m]; ok {
				return
			}
			scores[m] = score(m)
			if scores[m] < best {
				best, bestM = scores[m], m
			}
		}
		for m := 16; m <= h.Bins(); m += 16 {
			try(m)
		}
		around := func(center int) {
			for m := center - 16; m <= center+16; m++ {
				try(m)
			}
		}
		around(bestM)
		var hm int
		for m := 1; m <= h.Bins(); m++ {
			a, b := h.window(m)
			if r := h.clamp(h.Edge(a), h.Edge(b)); r == got {
				hm = m
				break
			}
		}
		around(hm)
		around(bestM)
		a, b := h.window(bestM)
		want := h.clamp(h.Edge(a), h.Edge(b))
		w := float32(h.Width())
		t.Logf("%s sym=%v: histogram %v (window %d), brute force %v (window %d), bin %.4g", c.kind, c.sym, got, hm, want, bestM, w)
		if d := got.Max - want.Max; d > w*1.0001 || d < -w*1.0001 {
			t.Errorf("%s sym=%v: max %v, brute force %v: more than one bin (%v) apart", c.kind, c.sym, got.Max, want.Max, w)
		}
		if d := got.Min - want.Min; d > w*1.0001 || d < -w*1.0001 {
			t.Errorf("%s sym=%v: min %v, brute force %v: more than one bin (%v) apart", c.kind, c.sym, got.Min, want.Min, w)
		}
	}
}

// TestRangeInvariants: every method and variant gives a finite range that
// contains zero, lies within the observed values (widened to zero) and
// represents zero exactly; constant and all-zero tensors give valid ranges.
func TestRangeInvariants(t *testing.T) {
	inputs := map[string][]float32{
		"all zero":      {0, 0, negz, 0},
		"constant":      {5, 5, 5},
		"negative":      {-3, -3, -1},
		"one value":     {0.25},
		"nan and inf":   {nan, pinf, 2, ninf, -1},
		"tiny":          {1e-38, -1e-38, 0},
		"huge":          {3.4e38, -3.4e38, 1},
		"relu":          synthetic("relu-gaussian", 5000, nil, 3),
		"shifted":       {10, 11, 12, 13, 10.5},
		"laplace+spike": synthetic("laplace", 5000, []float32{1000}, 4),
	}
	for name, data := range inputs {
		var mm MinMax
		mm.Add(data)
		obs := mm.Result()
		for _, sym := range []bool{false, true} {
			for _, m := range Methods {
				o := Options{Method: m, Symmetric: sym}
				h := NewHistogram(mm.Range(), DefaultBins, sym)
				h.Add(data)
				r := h.Result(o)
				if isNonFinite(r.Min) || isNonFinite(r.Max) || r.Min > 0 || r.Max < 0 {
					t.Errorf("%s %s sym=%v: range %v", name, m, sym, r)
				}
				a := max(-obs.Min, obs.Max)
				if r.Max > a || r.Min < -a || (!sym && (r.Min < obs.Min || r.Max > obs.Max)) {
					t.Errorf("%s %s sym=%v: range %v beyond observed %v", name, m, sym, r, obs)
				}
				if sym && r.Min != -r.Max {
					t.Errorf("%s %s: symmetric range %v", name, m, r)
				}
				p := qmath.AsymmetricParams(r, qmath.Uint8Min, qmath.Uint8Max)
				if z := qmath.Dequantize(int32(qmath.QuantizeUint8(0, p)), p); z != 0 {
					t.Errorf("%s %s sym=%v: zero maps to %v", name, m, sym, z)
				}
				if h.Count() != mm.Count() || h.NonFinite() != mm.NonFinite() {
					t.Errorf("%s: counts %d/%d, want %d/%d", name, h.Count(), h.NonFinite(), mm.Count(), mm.NonFinite())
				}
			}
		}
	}
	var mm MinMax
	mm.Add([]float32{0, 0})
	if r := mm.Result(); r != (qmath.Range{}) {
		t.Errorf("all-zero minmax %v", r)
	}
	mm = MinMax{}
	mm.Add([]float32{5, 5})
	if r := mm.Result(); r != (qmath.Range{Min: 0, Max: 5}) {
		t.Errorf("constant minmax %v", r)
	}
}

func TestHistogramMergeMismatch(t *testing.T) {
	a := NewHistogram(qmath.Range{Min: -1, Max: 1}, 256, false)
	b := NewHistogram(qmath.Range{Min: -1, Max: 2}, 256, false)
	if err := a.Merge(b); err == nil {
		t.Fatal("merged histograms with different bins")
	}
	var h Histogram
	for _, bad := range []string{
		`{"neg":1,"pos":1,"width":1,"min":0,"max":0,"count":1,"counts":[1,1]}`,
		`{"neg":1,"pos":1,"width":-1,"min":0,"max":0,"count":0,"counts":[-2]}`,
		`{"neg":0,"pos":2,"width":1,"min":0,"max":0,"count":0,"counts":[-3]}`,
		`{"neg":0,"pos":2,"width":1,"min":0,"max":0,"count":0,"counts":[-2],"x":1}`,
	} {
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestHistogramsSet(t *testing.T) {
	p1 := NewRanges()
	p1.ObserveValues("a", []float32{-1, 3})
	p1.ObserveValues("nan", []float32{nan})
	s, err := NewHistograms(p1, Options{Method: MethodPercentile})
	if err != nil {
		t.Fatal(err)
	}
	s.Observe("a", tensor.FromFloat32(tensor.Shape{2}, []float32{-1, 3}))
	s.ObserveValues("unknown", []float32{1})
	res := s.Result()
	if len(res) != 1 || res["a"].Max > 3 || res["a"].Min < -1 || res["a"].Max < 2.9 {
		t.Fatalf("result %v", res)
	}
	if _, err := NewHistograms(p1, Options{Method: "fancy"}); err == nil {
		t.Fatal("unknown method accepted")
	}
}

func TestTableJSON(t *testing.T) {
	tb := &Table{Version: TableVersion, Options: Options{Method: MethodEntropy, Bins: 2048}, Tensors: []TensorResult{
		{Name: "b", Min: -1, Max: 2, ObservedMin: -3, ObservedMax: 2, Count: 10},
		{Name: "a", Min: 0, Max: 0, Count: 0, NonFinite: 2},
	}}
	b1, err := json.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("%s\n%s", b1, b2)
	}
	if r := back.Ranges(); len(r) != 1 || r["b"] != (qmath.Range{Min: -1, Max: 2}) {
		t.Fatalf("ranges %v", r)
	}
	if err := json.Unmarshal([]byte(`{"version":1,"options":{"method":"minmax"},"tensors":[{"name":"a","min":1,"max":2,"observed_min":1,"observed_max":2,"count":1}]}`), &back); err == nil {
		t.Fatal("range without zero accepted")
	}
}

func TestWeightRanges(t *testing.T) {
	// A [2, 4096] weight, channels along axis 0: channel 0 Gaussian,
	// channel 1 heavy-tailed (Laplace). Clipping must never raise
	// the squared error of the channel's int8 weights.
	const k = 4096
	g := synthetic("gaussian", k, nil, 5)
	l := synthetic("laplace", k, nil, 6)
	vals := make([]float32, 0, 2*k)
	for _, v := range g {
		vals = append(vals, v*0.05)
	}
	for _, v := range l {
		vals = append(vals, v*0.05)
	}
	w := tensor.FromFloat32(tensor.Shape{2, k}, vals)
	plain, err := WeightRanges(w, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for c := range plain {
		var mm MinMax
		mm.Add(vals[c*k : (c+1)*k])
		if plain[c] != mm.Result() {
			t.Fatalf("channel %d: %v, want %v", c, plain[c], mm.Result())
		}
	}
	clipped, err := WeightRanges(w, 0, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("min/max %v, mse %v", plain, clipped)
	for c := range clipped {
		r := clipped[c]
		if r.Min != -r.Max || r.Max > max(-plain[c].Min, plain[c].Max) {
			t.Fatalf("channel %d: clipped range %v", c, r)
		}
		sym := func(r qmath.Range) qmath.Params { return qmath.SymmetricParams(r, qmath.Int8SymMax) }
		ec := bruteMSE(vals[c*k:(c+1)*k], sym(r), -127, 127)
		ep := bruteMSE(vals[c*k:(c+1)*k], sym(plain[c]), -127, 127)
		if ec > ep {
			t.Errorf("channel %d: clipping raised the error from %g to %g", c, ep, ec)
		}
	}
	// Axis 1 of the same tensor: k channels of 2 values.
	per, err := WeightRanges(w, 1, false, 0)
	if err != nil || len(per) != k {
		t.Fatal(err, len(per))
	}
	if want := (qmath.Range{Min: min(vals[7], vals[k+7]), Max: max(vals[7], vals[k+7])}).WithZero(); per[7] != want {
		t.Fatalf("axis 1 channel 7: %v, want %v", per[7], want)
	}
	if _, err := WeightRanges(w, 2, false, 0); err == nil {
		t.Fatal("bad axis accepted")
	}
}

// TestHistogramParallelAdd: a slice large enough to be binned on several
// goroutines gives the bytes of a serial Add, NaN and Inf included.
func TestHistogramParallelAdd(t *testing.T) {
	data := synthetic("laplace", 10*parallelChunk+7, []float32{50}, 9)
	data[12345] = nan
	data[3*parallelChunk] = pinf
	var mm MinMax
	mm.Add(data)
	for _, sym := range []bool{false, true} {
		par := NewHistogram(mm.Range(), DefaultBins, sym)
		par.Add(data)
		ser := NewHistogram(mm.Range(), DefaultBins, sym)
		for i := 0; i < len(data); i += parallelChunk / 2 {
			ser.Add(data[i:min(i+parallelChunk/2, len(data))])
		}
		if a, b := encodeHist(t, par), encodeHist(t, ser); !bytes.Equal(a, b) {
			t.Fatalf("sym=%v: parallel and serial Add differ", sym)
		}
		if par.NonFinite() != 2 || par.Count() != int64(len(data)-2) {
			t.Fatalf("counts %d %d", par.Count(), par.NonFinite())
		}
	}
}

// TestEntropyPointMasses covers the two shapes that made the KL search
// collapse onto its narrowest window: exact zeros (half of a ReLU output)
// and point masses (a convolution's constant output over a uniform
// background, one value per channel) holding most of the values below a
// spread-out tail that carries the signal.
func TestEntropyPointMasses(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	var vs []float32
	for i := 0; i < 200000; i++ {
		switch {
		case i%2 == 0:
			vs = append(vs, 0) // ReLU zeros
		case i%10 < 9:
			vs = append(vs, []float32{0.11, 0.23, 0.38, 0.52, 0.61}[i%5]) // constants
		default:
			vs = append(vs, float32(math.Min(6, rng.ExpFloat64()*1.5))) // signal, clamped at 6
		}
	}
	var mm MinMax
	mm.Add(vs)
	for _, sym := range []bool{false, true} {
		h := NewHistogram(mm.Range(), DefaultBins, sym)
		h.Add(vs)
		r := h.Result(Options{Method: MethodEntropy})
		var clipped int
		for _, v := range vs {
			if v > r.Max {
				clipped++
			}
		}
		nonzero := len(vs) / 2
		if share := float64(clipped) / float64(nonzero); share > entropyMaxClip+0.001 {
			t.Errorf("symmetric=%v: entropy range %v clips %.1f%% of the nonzero values", sym, r, 100*share)
		}
		if r.Max < 2 {
			t.Errorf("symmetric=%v: entropy range %v collapsed onto the point masses", sym, r)
		}
	}
}
