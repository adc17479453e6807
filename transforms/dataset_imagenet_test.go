package transforms

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/eightbitml/eightbit/internal/zootest"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*tensorStats)(nil)).Elem())
	register.DoFn2x2[context.Context, Shard, tensorStats, error](&preprocessStatsFn{})
	register.Function2x1[tensorStats, tensorStats, tensorStats](mergeTensorStats)
	register.Function1x1[tensorStats, string](formatTensorStats)
}

// tensorStats summarizes preprocessed input tensors independently of how
// they were sharded: counts and the wrapping sum of the float32 bit
// patterns are exact; sums are float64 (compared rounded).
type tensorStats struct {
	Samples, Values int64
	Bits            uint64
	Sum, SumSq      [3]float64
	Min, Max        float32
	Shape           string
}

type preprocessStatsFn struct{}

func (f *preprocessStatsFn) ProcessElement(ctx context.Context, sh Shard) (tensorStats, error) {
	data, err := split(ctx, &sh.Task, sh.Split)
	if err != nil {
		return tensorStats{}, err
	}
	pre, err := preprocess(&sh.Task)
	if err != nil {
		return tensorStats{}, err
	}
	st := tensorStats{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
	for b := sh.Start; b < sh.End; b += 25 {
		var idx []int
		for i := b; i < min(b+25, sh.End); i++ {
			idx = append(idx, i)
		}
		x, err := batchTensor(pre, data, idx)
		if err != nil {
			return tensorStats{}, err
		}
		st.Shape = fmt.Sprint(x.Shape[1:])
		st.Samples += int64(len(idx))
		per := len(x.F32) / len(idx) / 3
		for i, v := range x.F32 {
			c := (i / per) % 3 // NCHW
			st.Values++
			st.Bits += uint64(math.Float32bits(v))
			st.Sum[c] += float64(v)
			st.SumSq[c] += float64(v) * float64(v)
			st.Min, st.Max = min(st.Min, v), max(st.Max, v)
		}
	}
	return st, nil
}

func mergeTensorStats(a, b tensorStats) tensorStats {
	out := tensorStats{Samples: a.Samples + b.Samples, Values: a.Values + b.Values, Bits: a.Bits + b.Bits,
		Min: min(a.Min, b.Min), Max: max(a.Max, b.Max), Shape: a.Shape}
	if out.Shape == "" {
		out.Shape = b.Shape
	}
	for c := range 3 {
		out.Sum[c] = a.Sum[c] + b.Sum[c]
		out.SumSq[c] = a.SumSq[c] + b.SumSq[c]
	}
	return out
}

func formatTensorStats(s tensorStats) string {
	out := fmt.Sprintf("samples=%d values=%d shape=%s bits=%016x min=%.4f max=%.4f", s.Samples, s.Values, s.Shape, s.Bits, s.Min, s.Max)
	per := float64(s.Values) / 3
	for c := range 3 {
		mean := s.Sum[c] / per
		out += fmt.Sprintf(" c%d=%.3f±%.3f", c, mean, math.Sqrt(s.SumSq[c]/per-mean*mean))
	}
	return out
}

// imagenetStats is what resize 256 / center crop 224 / ImageNet
// normalization gives on the 1000 sample photos, as first measured by this
// test: the bit sum pins every value exactly; min and max are the
// normalized 0 and 255 ((0 − 0.485)/0.229 and (1 − 0.406)/0.225); per
// channel means near 0 and deviations near 1 are what normalized photos
// should show.
const imagenetStats = "samples=1000 values=150528000 shape=[3,224,224] bits=0488ecea48fe04ed min=-2.1179 max=2.6400" +
	" c0=0.024±1.181 c1=0.009±1.176 c2=0.010±1.222"

// TestDatasetImageNetPipeline runs the 1000 ImageNet sample photos (JPEGs
// of varied sizes, some gray) through resize shorter side 256 (bilinear),
// center crop 224 and mean/std normalization in a Beam pipeline on prism,
// ten shards of 100 photos, and checks statistics of the input tensors.
func TestDatasetImageNetPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 1000 photos twice")
	}
	root := zootest.Path(t)
	zootest.Path(t, "data", "imagenet-sample", "synset_labels.txt")
	manifest := fmt.Sprintf(`
datasets:
  imagenet-sample:
    format: image-folder
    classes: 1000
    location: %s/data/imagenet-sample
    label_file: {path: synset_labels.txt, format: synsets}
    split: {calibration: 100}
models:
  - name: light-resnet50
    file: %s/models/structure/light_resnet50.onnx
    dataset: imagenet-sample
    label_offset: 0
    preprocess:
      channels: 3
      resize: {shorter: 256, filter: bilinear}
      crop: {width: 224, height: 224}
      divide: 255
      mean: [0.485, 0.456, 0.406]
      std: [0.229, 0.224, 0.225]
`, root, root)
	task := zooTasks(t, manifest, ZooOptions{RunID: t.Name()})[0]
	task.EvalFrom, task.EvalTo, task.SplitRule = 0, 0, false
	data, err := split(context.Background(), &task, SplitEvaluation)
	if err != nil {
		t.Fatal(err)
	}
	if data.len() != 1000 || len(data.bad) != 0 {
		t.Fatalf("%d samples, %d bad: %v", data.len(), len(data.bad), data.bad)
	}
	seen := map[int]bool{}
	for _, l := range data.labels {
		seen[l] = true
	}
	if len(seen) != 1000 || data.id(0) != "n01440764_tench.JPEG" || data.labels[0] != 0 {
		t.Fatalf("%d distinct labels; first %s → %d", len(seen), data.id(0), data.labels[0])
	}
	p, s := beam.NewPipelineWithRoot()
	var shards []Shard
	for start := 0; start < 1000; start += 100 {
		shards = append(shards, Shard{Task: task, Split: SplitEvaluation, Start: start, End: start + 100})
	}
	col := beam.Reshuffle(s, beam.CreateList(s, shards))
	stats := beam.Combine(s, mergeTensorStats, beam.ParDo(s, &preprocessStatsFn{}, col))
	got := beam.ParDo(s, formatTensorStats, stats)
	passert.Equals(s, got, imagenetStats)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}
