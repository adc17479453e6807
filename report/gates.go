package report

import "fmt"

// Gates are the quality bars a quantized model must meet, in the spirit of
// TensorFlow Model Analysis thresholds. A nil field disables that gate.
type Gates struct {
	// MaxTop1Drop is the largest allowed float top-1 − int8 top-1, as a
	// fraction (0.01 = one percentage point).
	MaxTop1Drop *float64
	// MinAgreement is the smallest allowed agreement, a fraction.
	MinAgreement *float64
}

// GateFailure is one gate one model failed.
type GateFailure struct {
	Model string
	// Gate is "status", "max_top1_drop" or "min_agreement".
	Gate string
	// Message explains the failure, e.g. "top-1 drop 1.20 pp > 1.00 pp".
	Message string
}

func (f GateFailure) String() string { return f.Model + ": " + f.Message }

// gateSlack absorbs the rounding of top-1 fractions computed from counts, so
// that a drop exactly equal to the limit passes.
const gateSlack = 1e-12

// Evaluate checks every model of r against g, records the outcome in each
// model's Gates field and returns the failures, ordered by model name and
// then gate. With both gates nil it changes nothing and returns nil.
//
// A failed model fails the "status" gate. A gate whose measurement is
// missing (no top-1 of either model, no agreement) fails: a gate is a
// promise that the number was checked. The top-1 drop is float top-1 − int8
// top-1; a negative drop (int8 better) always passes the drop gate.
func Evaluate(r *Report, g Gates) []GateFailure {
	if g.MaxTop1Drop == nil && g.MinAgreement == nil {
		return nil
	}
	r.Sort()
	var all []GateFailure
	for i := range r.Models {
		m := &r.Models[i]
		res := &GateResult{MaxTop1Drop: g.MaxTop1Drop, MinAgreement: g.MinAgreement}
		fail := func(gate, format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			res.Failures = append(res.Failures, gate+": "+msg)
			all = append(all, GateFailure{Model: m.Name, Gate: gate, Message: gate + ": " + msg})
		}
		if m.Status != StatusOK {
			fail("status", "model %s", m.Status)
		}
		if lim := g.MaxTop1Drop; lim != nil {
			var f, q *float64
			if m.Float != nil {
				f = m.Float.Top1
			}
			if m.Int8 != nil {
				q = m.Int8.Top1
			}
			if f == nil || q == nil {
				fail("max_top1_drop", "top-1 not measured")
			} else if drop := *f - *q; drop > *lim+gateSlack {
				fail("max_top1_drop", "top-1 drop %.2f pp > %.2f pp", drop*100, *lim*100)
			}
		}
		if lim := g.MinAgreement; lim != nil {
			if m.Agreement == nil {
				fail("min_agreement", "agreement not measured")
			} else if *m.Agreement < *lim-gateSlack {
				fail("min_agreement", "agreement %.2f%% < %.2f%%", *m.Agreement*100, *lim*100)
			}
		}
		res.Passed = len(res.Failures) == 0
		m.Gates = res
	}
	return all
}
