package report

// Types of the report fields added for issue 9: per-class accuracy, the
// paired top-1 interval, per-layer error statistics and gate outcomes. The
// fields themselves are at the end of Model, Float and Int8 in report.go;
// docs/report-schema.md describes every one of them.

// ClassAccuracy is the top-1 accuracy of both models on the evaluation
// samples of one class (element of Model.PerClass).
type ClassAccuracy struct {
	// Class is the class index (the label's position in the model output).
	Class int `json:"class"`
	// Label is the class name when the dataset has one.
	Label string `json:"label,omitempty"`
	// Samples is the number of evaluation samples labeled Class.
	Samples   int      `json:"samples"`
	FloatTop1 *float64 `json:"float_top1,omitempty"`
	Int8Top1  *float64 `json:"int8_top1,omitempty"`
}

// Equalization is what cross-layer equalization did to a model
// (Model.Equalization): the Conv pairs it equalized and the Relu6 Clips it
// rewrote as Relu and a per-channel Min.
type Equalization struct {
	Pairs int `json:"pairs"`
	Clips int `json:"clips,omitempty"`
}

// ClassCount is the number of samples of one class in a split (element of
// Calibration.PerClass).
type ClassCount struct {
	Class   int `json:"class"`
	Samples int `json:"samples"`
}

// Layer holds the error statistics of one quantized tensor (element of
// Model.Layers); LayerStats.Result builds it.
type Layer struct {
	// Tensor is the name of the activation tensor in the float model.
	Tensor string `json:"tensor"`
	// Op is the op type of the node that produces Tensor.
	Op string `json:"op,omitempty"`
	// Scale and ZeroPoint are the tensor's quantization parameters.
	Scale     float64 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
	// Values is the number of value pairs compared over the evaluation set.
	Values int64 `json:"values"`
	// SQNRDB is 10·log10(Σx² / Σ(x−y)²) in dB, x the float and y the
	// dequantized int8 activations. Absent when the error is exactly zero
	// (Exact is then true) or when Σx² is zero.
	SQNRDB *float64 `json:"sqnr_db,omitempty"`
	// Exact is set when every compared int8 value equals its float value.
	Exact bool `json:"exact,omitempty"`
	// Cosine is Σxy / √(Σx²·Σy²); absent when either norm is zero.
	Cosine *float64 `json:"cosine,omitempty"`
	// MaxAbsErr is max |x−y|.
	MaxAbsErr float64 `json:"max_abs_err"`
	// Clipped is the share of float values outside the representable range
	// [scale·(qmin−zp), scale·(qmax−zp)], a fraction in [0,1].
	Clipped float64 `json:"clipped"`
	// NonFinite counts pairs skipped because a value was NaN or infinite.
	NonFinite int64 `json:"non_finite,omitempty"`
	// LocalSQNRDB is the SQNR of the tensor's own quantization: x against
	// scale·(clamp(round(x/scale)+zp, qmin, qmax)−zp), the error its range
	// adds by itself, without the error inherited from earlier layers.
	// Absent when that error is zero (LocalExact is then true).
	LocalSQNRDB *float64 `json:"local_sqnr_db,omitempty"`
	LocalExact  bool     `json:"local_exact,omitempty"`
}

// PairedDiff is the top-1 difference int8 − float on paired samples with its
// 95% confidence interval (Model.Top1Diff); see Top1Diff for the formula.
type PairedDiff struct {
	// Samples is n, the number of samples both models were evaluated on.
	Samples int64 `json:"samples"`
	// FloatOnly is b, the samples the float model got right and int8 wrong.
	FloatOnly int64 `json:"float_only"`
	// Int8Only is c, the samples int8 got right and the float model wrong.
	Int8Only int64 `json:"int8_only"`
	// Diff is (c − b)/n, int8 top-1 minus float top-1.
	Diff float64 `json:"diff"`
	// Low and High bound the 95% confidence interval of Diff.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// GateResult records the gates a model was checked against and the outcome
// (Model.Gates); Evaluate sets it.
type GateResult struct {
	// MaxTop1Drop is the largest allowed float top-1 − int8 top-1.
	MaxTop1Drop *float64 `json:"max_top1_drop,omitempty"`
	// MinAgreement is the smallest allowed agreement.
	MinAgreement *float64 `json:"min_agreement,omitempty"`
	// Passed is true when the model met every gate.
	Passed bool `json:"passed"`
	// Failures are the messages of the gates the model failed, in the order
	// status, max_top1_drop, min_agreement.
	Failures []string `json:"failures,omitempty"`
}

// BadSample is a dataset sample left out of the evaluation (element of
// Model.BadSamples): a corrupt image, a truncated or corrupt record, a label
// out of range.
type BadSample struct {
	// ID is the sample's stable id in its dataset.
	ID string `json:"id"`
	// Error says why it could not be used.
	Error string `json:"error"`
}
