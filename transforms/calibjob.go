package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/report"
)

func init() {
	register.DoFn4x0[string, func(*ModelTask) bool, func(*RangeSet) bool, func(Row)](&calibRowFn{})
}

// calibRowFn turns a model's calibration result into its report row: the
// settings, sample count and range file of a calibrated model, or the
// failure.
type calibRowFn struct{}

func (f *calibRowFn) ProcessElement(name string, taskIter func(*ModelTask) bool, rangeIter func(*RangeSet) bool, emit func(Row)) {
	var t ModelTask
	if !taskIter(&t) {
		return
	}
	var rs RangeSet
	if !rangeIter(&rs) {
		emit(failureRow(&t, "calibrate", failure.Errorf(failure.BadData, "the calibration split produced no samples")))
		return
	}
	if rs.Err != "" {
		emit(failureRow(&t, "calibrate", failErr(rs.Err)))
		return
	}
	if _, err := calibRanges(&t, &rs); err != nil {
		emit(failureRow(&t, "calibrate", err))
		return
	}
	m := baseModel(&t)
	m.Status = report.StatusOK
	m.Calibration = calibrationInfo(&t)
	emit(encodeRow(m))
}

// CalibrationRows joins loaded models with their CalibrateWith results and
// gives one report row per model: the calibration entry (method, samples,
// range file) or the failure.
func CalibrationRows(s beam.Scope, tasks, ranges beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.CalibrationRows")
	return beam.ParDo(s, &calibRowFn{}, beam.CoGroupByKey(s, beam.ParDo(s, keyByName, tasks), ranges))
}
