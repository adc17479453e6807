package transforms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"sync"

	"github.com/eightbitml/eightbit/dataset"
	"github.com/eightbitml/eightbit/formats"
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

// modelKey is the worker-cache key of a task's float model: its content
// digest when known (set by SkipDone: the same bytes are loaded once per
// process, whatever the run, location or sweep variant), otherwise its
// location within the run.
func modelKey(t *ModelTask) string {
	if t.Digest != "" {
		return "sha256\x00" + t.Digest
	}
	return t.RunID + "\x00" + t.ZooURL + "\x00" + t.File
}

// decodeModelDigest decodes a task's model file in its format; a TensorFlow graph
// is cut at the manifest's input and output tensors. ONNX external data is
// read from the model's folder and may not leave it (storage.ReadInside:
// no absolute paths, no "..", no symbolic links out of a local folder).
//
// It also returns the model's digest (see modelDigest).
func decodeModelDigest(ctx context.Context, t *ModelTask, data []byte) (*graph.Model, string, error) {
	h := sha256.New()
	h.Write(data)
	external := false
	folder := t.ZooURL
	if dir := path.Dir(t.File); dir != "." {
		var err error
		if folder, err = storage.Join(t.ZooURL, dir); err != nil {
			return nil, "", err
		}
	}
	opt := formats.Options{External: func(rel string) ([]byte, error) {
		b, err := storage.ReadInside(ctx, folder, rel)
		if err == nil {
			external = true
			fmt.Fprintf(h, "\x00external\x00%s\x00%s", rel, digest(b))
		}
		return b, err
	}}
	if t.CutInput != "" {
		opt.Inputs = []string{t.CutInput}
	}
	if t.CutOutput != "" {
		opt.Outputs = []string{t.CutOutput}
	}
	m, err := formats.Decode(data, t.Format, opt)
	if err != nil {
		return nil, "", err
	}
	if !external {
		return m, digest(data), nil
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// modelDigest is the digest of a task's model: that of its file's bytes,
// and for an ONNX file with external data the digest of those bytes and of
// every external file it reads (location and content, in the order the
// decoder reads them), so that a changed weights file is a changed model
// for every cache. A file that does not decode has the digest of its bytes
// (loading it fails later, with its own error).
func modelDigest(ctx context.Context, t *ModelTask, data []byte) string {
	if t.Format == formats.TFGraphDef || !bytes.Contains(data, []byte("location")) {
		return digest(data)
	}
	_, d, err := decodeModelDigest(ctx, t, data)
	if err != nil {
		return digest(data)
	}
	return d
}

// loadModel reads, parses and prepares a task's float model, once per
// process (see modelKey). When the task already carries a digest, the bytes
// read must match it.
func loadModel(ctx context.Context, t *ModelTask) (*loadedModel, error) {
	return models.get(modelKey(t), func() (*loadedModel, error) {
		data, err := readKey(ctx, t.ZooURL, t.File)
		if err != nil {
			return nil, err
		}
		m, d, err := decodeModelDigest(ctx, t, data)
		if err == nil && t.Digest != "" && d != t.Digest {
			return nil, fmt.Errorf("model file %s changed during the job", t.File)
		}
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
	return programs.get("float\x00"+modelKey(t), func() (*infer.Program, error) {
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

var equalized flight[*equalizedModel]

// equalizedModel is a prepared model after cross-layer equalization.
type equalizedModel struct {
	model *graph.Model
	eq    *quantize.Equalization
}

// quantizeInput returns the model a task calibrates and quantizes: the
// prepared float model, equalized when the task asks for CLE (once per
// process, see modelKey).
func quantizeInput(ctx context.Context, t *ModelTask) (*graph.Model, *quantize.Equalization, error) {
	lm, err := loadModel(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if !t.Quantize.CLE {
		return lm.prepared, nil, nil
	}
	em, err := equalized.get(modelKey(t), func() (*equalizedModel, error) {
		m, eq, err := quantize.Equalize(lm.prepared)
		if err != nil {
			return nil, fmt.Errorf("model file %s: cross-layer equalization: %w", t.File, err)
		}
		return &equalizedModel{m, eq}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return em.model, em.eq, nil
}

// calibProgram returns the float program a task calibrates on: that of
// quantizeInput.
func calibProgram(ctx context.Context, t *ModelTask) (*infer.Program, error) {
	if !t.Quantize.CLE {
		return floatProgram(ctx, t)
	}
	return programs.get("float-cle\x00"+modelKey(t), func() (*infer.Program, error) {
		m, _, err := quantizeInput(ctx, t)
		if err != nil {
			return nil, err
		}
		p, err := infer.Compile(m, infer.Options{})
		if err != nil {
			return nil, fmt.Errorf("model file %s (equalized): %w", t.File, err)
		}
		return p, nil
	})
}

// int8Program returns the compiled integer program of a task's quantized
// model, read back from the job's output.
func int8Program(ctx context.Context, t *ModelTask) (*infer.Program, error) {
	return quantizedProgram(ctx, t, true)
}

// qdqProgram returns the quantized model compiled with float QDQ semantics
// (infer.Options{Integer: false}): every DequantizeLinear output is computed
// and observable, which the per-layer statistics need.
func qdqProgram(ctx context.Context, t *ModelTask) (*infer.Program, error) {
	return quantizedProgram(ctx, t, false)
}

func quantizedProgram(ctx context.Context, t *ModelTask, integer bool) (*infer.Program, error) {
	mode := "qdq"
	if integer {
		mode = "int8"
	}
	return programs.get(t.RunID+"\x00"+mode+"\x00"+t.OutURL+"\x00"+t.Int8Key, func() (*infer.Program, error) {
		m, err := readInt8Model(ctx, t)
		if err != nil {
			return nil, err
		}
		p, err := infer.Compile(m, infer.Options{Integer: integer})
		if err != nil {
			return nil, fmt.Errorf("quantized model %s: %w", t.Int8Key, err)
		}
		return p, nil
	})
}

// readInt8Model reads and decodes a task's quantized model (a fresh copy
// per call: compiling may rewrite it).
func readInt8Model(ctx context.Context, t *ModelTask) (*graph.Model, error) {
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
	return m, nil
}

var activations flight[[]quantize.Activation]

// int8Activations returns the quantized activations of a task's quantized
// model and the float tensors they stand for, once per process and run.
func int8Activations(ctx context.Context, t *ModelTask) ([]quantize.Activation, error) {
	return activations.get(t.RunID+"\x00"+t.OutURL+"\x00"+t.Int8Key, func() ([]quantize.Activation, error) {
		m, err := readInt8Model(ctx, t)
		if err != nil {
			return nil, err
		}
		return quantize.Activations(m)
	})
}

// labeledImages is one dataset split: its usable samples (pixels or
// encoded images, decoded per shard), their labels and stable ids, and the
// samples that were left out.
type labeledImages struct {
	// samples is the split; pixels are decoded from it per batch.
	samples *dataset.Samples
	// images is the split as one block of equally sized raw images, for
	// code that gathers pixels directly. For encoded formats (image
	// folders, TFRecord) it only carries N (H = W = C = 0): use subset
	// instead of copying pixels.
	images *dataset.Images
	labels []int
	// ids are stable sample ids ("<file>#<record>" for IDX, CIFAR and
	// TFRecord, the image's key for image folders); nil means the sample's
	// index in the split is its id.
	ids []string
	// bad lists the samples that could not be used (corrupt image,
	// truncated or corrupt record, label out of range), in canonical order.
	bad []dataset.BadSample
}

// id returns the stable id of sample i of the split.
func (d *labeledImages) id(i int) string {
	if d.ids != nil {
		return d.ids[i]
	}
	return strconv.Itoa(i)
}

// Len, ID and Image make a split an evaluate.Samples.
func (d *labeledImages) Len() int                            { return d.len() }
func (d *labeledImages) ID(i int) string                     { return d.id(i) }
func (d *labeledImages) Image(i int) (*dataset.Image, error) { return d.image(i) }

// len returns the number of usable samples of the split.
func (d *labeledImages) len() int {
	if d.samples != nil {
		return d.samples.N
	}
	return d.images.N
}

// image returns sample i's pixels (decoding it if it is stored encoded).
func (d *labeledImages) image(i int) (*dataset.Image, error) {
	if d.samples != nil {
		return d.samples.Image(i)
	}
	if d.images.H*d.images.W*d.images.C == 0 {
		return nil, fmt.Errorf("sample %s: split without pixels (gather encoded datasets with labeledImages.subset)", d.id(i))
	}
	if i < 0 || i >= d.images.N {
		return nil, fmt.Errorf("sample %d out of range [0,%d)", i, d.images.N)
	}
	im := d.images
	return &dataset.Image{H: im.H, W: im.W, C: im.C, Pix: im.Image(i)}, nil
}

// subset returns the samples idx of the split as a split of their own
// (labels, ids and pixels or encoded images; no copy of pixel data).
func (d *labeledImages) subset(idx []int) *labeledImages {
	g := &labeledImages{labels: make([]int, len(idx)), ids: make([]string, len(idx))}
	for k, i := range idx {
		g.labels[k] = d.labels[i]
		g.ids[k] = d.id(i)
	}
	if d.samples != nil {
		g.samples = d.samples.Subset(idx)
		g.images = fixedOrCount(g.samples)
		return g
	}
	im := d.images
	sz := im.H * im.W * im.C
	g.images = &dataset.Images{N: len(idx), H: im.H, W: im.W, C: im.C, Pix: make([]uint8, 0, len(idx)*sz)}
	for _, i := range idx {
		g.images.Pix = append(g.images.Pix, im.Image(i)...)
	}
	return g
}

// splitKey identifies one split of a task's dataset (source, folder and
// range) for caches keyed by split.
func splitKey(t *ModelTask, which string) string {
	spec, url, from, to, _ := splitSource(t, which)
	key := t.RunID + "\x00" + url + "\x00" + string(spec) + "\x00" + strconv.Itoa(from) + ":" + strconv.Itoa(to)
	if t.SplitRule {
		key += "\x00rule"
	}
	if which == SplitEvaluation && t.EvalSamples > 0 {
		key += "\x00cap " + strconv.Itoa(t.EvalSamples)
	}
	return key
}

// fixedOrCount returns the samples as one raw image block when they are
// equally sized raw images, and otherwise a block carrying only N.
func fixedOrCount(s *dataset.Samples) *dataset.Images {
	if f := s.Fixed(); f != nil {
		return f
	}
	return &dataset.Images{N: s.N}
}

var sources flight[*dataset.Set]

// splitSource returns the dataset spec, the folder URL and the range of one
// split of a task. Tasks made before dataset specs existed name IDX files.
func splitSource(t *ModelTask, which string) (spec []byte, url string, from, to int, err error) {
	spec, from, to = t.CalibSpec, t.CalibFrom, t.CalibTo
	if which == SplitEvaluation {
		spec, from, to = t.EvalSpec, t.EvalFrom, t.EvalTo
	}
	url = t.DatasetURL
	if url == "" {
		url = t.ZooURL
	}
	if len(spec) == 0 {
		images, labels := t.CalibImages, t.CalibLabels
		if which == SplitEvaluation {
			images, labels = t.EvalImages, t.EvalLabels
		}
		spec, err = json.Marshal(dataset.Spec{Format: dataset.FormatIDX, Classes: t.Classes,
			Files: dataset.Files{Images: images, Labels: labels}})
	}
	return spec, url, from, to, err
}

// split returns one split of a task's dataset, once per process and run.
// The dataset source is read once and shared by the splits cut from it.
func split(ctx context.Context, t *ModelTask, which string) (*labeledImages, error) {
	specJS, url, from, to, err := splitSource(t, which)
	if err != nil {
		return nil, err
	}
	srcKey := t.RunID + "\x00" + url + "\x00" + string(specJS)
	return datasets.get(splitKey(t, which), func() (*labeledImages, error) {
		set, err := sources.get(srcKey, func() (*dataset.Set, error) {
			var spec dataset.Spec
			if err := json.Unmarshal(specJS, &spec); err != nil {
				return nil, fmt.Errorf("dataset %s: spec: %w", t.Dataset, err)
			}
			b, err := bucket(ctx, url)
			if err != nil {
				return nil, err
			}
			set, err := dataset.Load(ctx, b, spec)
			if err != nil {
				return nil, fmt.Errorf("dataset %s (%s): %w", t.Dataset, storage.Redact(url), err)
			}
			return set, nil
		})
		if err != nil {
			return nil, err
		}
		s := samplesOf(set, t, which, from, to)
		return &labeledImages{samples: s, images: fixedOrCount(s), labels: s.Labels, ids: s.IDs, bad: s.Bad}, nil
	})
}

// samplesOf cuts one split out of its source: a range of the canonical
// order, or a rule split's per-class choice (dataset.Set.RuleSplit). An
// evaluation split capped by ModelTask.EvalSamples keeps that many samples,
// chosen per class by the hash of their ids (dataset.Stratify), with every
// bad sample of the split still listed.
func samplesOf(set *dataset.Set, t *ModelTask, which string, from, to int) *dataset.Samples {
	var s *dataset.Samples
	if t.SplitRule {
		m := 0
		if t.EvalTo > 0 {
			m = t.EvalTo - t.EvalFrom
		}
		s = set.RuleSplit(which, t.CalibTo, m)
	} else {
		s = set.Samples(from, to)
	}
	if which == SplitEvaluation && t.EvalSamples > 0 && t.EvalSamples < s.N {
		bad := s.Bad
		s = s.Subset(dataset.Stratify(s.IDs, s.Labels, t.EvalSamples))
		s.Bad = bad
	}
	return s
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
