package transforms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/storage"
)

// flight is a process-wide memo: the first caller of a key computes the
// value, concurrent callers wait for it, later callers reuse it. Errors are
// remembered too, so a bad model is not parsed again by every shard.
type flight[V any] struct {
	mu sync.Mutex
	m  map[string]*flightEntry[V]
}

type flightEntry[V any] struct {
	once sync.Once
	v    V
	err  error
}

func (f *flight[V]) get(key string, load func() (V, error)) (V, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flightEntry[V]{}
	}
	e, ok := f.m[key]
	if !ok {
		e = &flightEntry[V]{}
		f.m[key] = e
	}
	f.mu.Unlock()
	e.once.Do(func() { e.v, e.err = load() })
	return e.v, e.err
}

var (
	buckets  flight[*storage.Bucket]
	models   flight[*loadedModel]
	programs flight[*infer.Program]
	datasets flight[*labeledImages]
)

// bucket opens (once per process) the bucket of a folder URL.
func bucket(ctx context.Context, url string) (*storage.Bucket, error) {
	return buckets.get(url, func() (*storage.Bucket, error) {
		return storage.Open(context.WithoutCancel(ctx), url)
	})
}

// outBucket opens (once per process) the job's output folder, creating a
// local folder when needed.
func outBucket(ctx context.Context, url string) (*storage.Bucket, error) {
	return buckets.get("create\x00"+url, func() (*storage.Bucket, error) {
		return storage.Create(context.WithoutCancel(ctx), url)
	})
}

func readKey(ctx context.Context, url, key string) ([]byte, error) {
	b, err := bucket(ctx, url)
	if err != nil {
		return nil, err
	}
	return b.ReadAll(ctx, key)
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// loadedModel is a parsed and prepared float model.
type loadedModel struct {
	bytes    int64
	digest   string
	ops      map[string]int // op histogram of the file as read
	opset    int64
	params   int64
	prepared *graph.Model
}

// loadModel reads, parses and prepares a task's float model, once per
// process and run. When the task already carries a digest, the bytes read
// must match it.
func loadModel(ctx context.Context, t *ModelTask) (*loadedModel, error) {
	return models.get(t.RunID+"\x00"+t.ZooURL+"\x00"+t.File, func() (*loadedModel, error) {
		data, err := readKey(ctx, t.ZooURL, t.File)
		if err != nil {
			return nil, err
		}
		d := digest(data)
		if t.Digest != "" && d != t.Digest {
			return nil, fmt.Errorf("model file %s changed during the job", t.File)
		}
		m, err := onnx.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("model file %s: %w", t.File, err)
		}
		ops, params := m.Graph.OpCounts(), int64(m.Graph.ParamCount())
		p, err := quantize.Prepare(m)
		if err != nil {
			return nil, fmt.Errorf("model file %s: %w", t.File, err)
		}
		return &loadedModel{bytes: int64(len(data)), digest: d, ops: ops, opset: m.Opset(), params: params, prepared: p}, nil
	})
}

// floatProgram returns the compiled float program of a task's model.
func floatProgram(ctx context.Context, t *ModelTask) (*infer.Program, error) {
	return programs.get(t.RunID+"\x00float\x00"+t.ZooURL+"\x00"+t.File, func() (*infer.Program, error) {
		lm, err := loadModel(ctx, t)
		if err != nil {
			return nil, err
		}
		p, err := infer.Compile(lm.prepared, infer.Options{})
		if err != nil {
			return nil, fmt.Errorf("model file %s: %w", t.File, err)
		}
		return p, nil
	})
}

// int8Program returns the compiled integer program of a task's quantized
// model, read back from the job's output.
func int8Program(ctx context.Context, t *ModelTask) (*infer.Program, error) {
	return programs.get(t.RunID+"\x00int8\x00"+t.OutURL+"\x00"+t.Int8Key, func() (*infer.Program, error) {
		data, err := readKey(ctx, t.OutURL, t.Int8Key)
		if err != nil {
			return nil, err
		}
		if t.Int8Digest != "" && digest(data) != t.Int8Digest {
			return nil, fmt.Errorf("quantized model %s changed during the job", t.Int8Key)
		}
		m, err := onnx.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("quantized model %s: %w", t.Int8Key, err)
		}
		p, err := infer.Compile(m, infer.Options{Integer: true})
		if err != nil {
			return nil, fmt.Errorf("quantized model %s: %w", t.Int8Key, err)
		}
		return p, nil
	})
}

// labeledImages is one decoded dataset split.
type labeledImages struct {
	images *dataset.Images
	labels []int
	// ids are stable sample ids (e.g. file paths); nil means the sample's
	// index in the split is its id.
	ids []string
}

// id returns the stable id of sample i of the split.
func (d *labeledImages) id(i int) string {
	if d.ids != nil {
		return d.ids[i]
	}
	return strconv.Itoa(i)
}

// split returns the decoded images and labels of one split of a task's
// dataset, once per process and run.
func split(ctx context.Context, t *ModelTask, which string) (*labeledImages, error) {
	imagesKey, labelsKey := t.CalibImages, t.CalibLabels
	if which == SplitEvaluation {
		imagesKey, labelsKey = t.EvalImages, t.EvalLabels
	}
	return datasets.get(t.RunID+"\x00"+t.ZooURL+"\x00"+imagesKey+"\x00"+labelsKey, func() (*labeledImages, error) {
		ib, err := readKey(ctx, t.ZooURL, imagesKey)
		if err != nil {
			return nil, err
		}
		im, err := dataset.DecodeIDXImages(ib)
		if err != nil {
			return nil, fmt.Errorf("dataset %s, %s: %w", t.Dataset, imagesKey, err)
		}
		lb, err := readKey(ctx, t.ZooURL, labelsKey)
		if err != nil {
			return nil, err
		}
		labels, err := dataset.DecodeIDXLabels(lb)
		if err != nil {
			return nil, fmt.Errorf("dataset %s, %s: %w", t.Dataset, labelsKey, err)
		}
		if len(labels) != im.N {
			return nil, fmt.Errorf("dataset %s: %s has %d images but %s has %d labels", t.Dataset, imagesKey, im.N, labelsKey, len(labels))
		}
		for i, l := range labels {
			if l < 0 || l >= t.Classes {
				return nil, fmt.Errorf("dataset %s, %s: label %d of sample %d is outside [0,%d)", t.Dataset, labelsKey, l, i, t.Classes)
			}
		}
		return &labeledImages{images: im, labels: labels}, nil
	})
}

// preprocess decodes the task's preprocessing settings.
func preprocess(t *ModelTask) (dataset.Preprocess, error) {
	var p dataset.Preprocess
	if len(t.Preprocess) == 0 {
		return p, nil
	}
	err := json.Unmarshal(t.Preprocess, &p)
	return p, err
}
