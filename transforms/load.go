package transforms

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn4x0[context.Context, ModelTask, func(ModelTask), func(Row)](&loadModelFn{})
	register.Emitter1[Row]()
}

type loadModelFn struct{}

func (f *loadModelFn) ProcessElement(ctx context.Context, t ModelTask, ok func(ModelTask), failed func(Row)) {
	t0 := time.Now()
	lm, err := loadModel(ctx, &t)
	if err == nil {
		_, err = floatProgram(ctx, &t)
	}
	metricLoadUS.Update(ctx, time.Since(t0).Microseconds())
	if lm != nil {
		metricModelBytes.Update(ctx, lm.bytes)
	}
	if lm != nil {
		t.Digest, t.FloatBytes, t.Opset, t.Params = lm.digest, lm.bytes, lm.opset, lm.params
		t.Ops = histogram(lm.ops)
	}
	if err != nil {
		metricFailedLoads.Inc(ctx, 1)
		failed(failureRow(&t, "load", err))
		return
	}
	ok(t)
}

func histogram(ops map[string]int) []string {
	out := make([]string, 0, len(ops))
	for k, v := range ops {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// LoadModels reads, parses and prepares every model and compiles its float
// program (which checks that eightbit supports every op). Models that pass
// come out of the first collection with their digest and size filled in;
// the others become failed report rows in the second.
func LoadModels(s beam.Scope, tasks beam.PCollection) (ok, failed beam.PCollection) {
	s = s.Scope("transforms.LoadModels")
	return beam.ParDo2(s, &loadModelFn{}, beam.Reshuffle(s, tasks))
}
