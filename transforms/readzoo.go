package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/eightbitml/eightbit/storage"
	"github.com/eightbitml/eightbit/zoo"
)

func init() {
	register.DoFn3x1[context.Context, string, func(ModelTask), error](&readZooFn{})
	register.Emitter1[ModelTask]()
}

// ZooOptions are the job settings that every model task carries.
type ZooOptions struct {
	OutURL       string
	RunID        string
	CalibSamples int
	EvalSamples  int
	ShardSize    int
}

// SplitZooURL splits a zoo location into the folder URL and the manifest
// key: a URL whose path ends in .yaml or .yml names the manifest itself;
// anything else is the zoo folder holding zoo.yaml.
func SplitZooURL(zooURL string) (folder, key string, err error) {
	u, err := url.Parse(zooURL)
	if err != nil {
		return "", "", fmt.Errorf("zoo URL %q: %w", zooURL, err)
	}
	if ext := path.Ext(strings.TrimRight(u.Path, "/")); ext == ".yaml" || ext == ".yml" {
		return storage.Split(zooURL)
	}
	return zooURL, zoo.FileName, nil
}

// ReadManifest reads and validates the manifest of a zoo.
func ReadManifest(ctx context.Context, zooURL string) (*zoo.Manifest, string, error) {
	folder, key, err := SplitZooURL(zooURL)
	if err != nil {
		return nil, "", err
	}
	data, err := readKey(ctx, folder, key)
	if err != nil {
		return nil, "", err
	}
	m, err := zoo.Parse(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", key, err)
	}
	return m, folder, nil
}

// Tasks turns a manifest into model tasks, in manifest order.
func Tasks(m *zoo.Manifest, folder string, opt ZooOptions) ([]ModelTask, error) {
	shard := opt.ShardSize
	if shard <= 0 {
		shard = 250
	}
	var tasks []ModelTask
	for _, md := range m.Models {
		ds := m.Datasets[md.Dataset]
		pre, err := json.Marshal(md.Preprocess)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, ModelTask{
			RunID:        opt.RunID,
			Name:         md.Name,
			ZooURL:       folder,
			File:         md.File,
			Dataset:      md.Dataset,
			Classes:      ds.Classes,
			CalibImages:  ds.Calibration.Images,
			CalibLabels:  ds.Calibration.Labels,
			EvalImages:   ds.Evaluation.Images,
			EvalLabels:   ds.Evaluation.Labels,
			Input:        md.Input,
			Output:       md.Output,
			Preprocess:   pre,
			CalibSamples: opt.CalibSamples,
			EvalSamples:  opt.EvalSamples,
			ShardSize:    shard,
			OutURL:       opt.OutURL,
		})
	}
	return tasks, nil
}

type readZooFn struct {
	Opt ZooOptions
}

func (f *readZooFn) ProcessElement(ctx context.Context, zooURL string, emit func(ModelTask)) error {
	m, folder, err := ReadManifest(ctx, zooURL)
	if err != nil {
		return err
	}
	tasks, err := Tasks(m, folder, f.Opt)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		emit(t)
	}
	return nil
}

// ReadZoo reads the zoo manifest at zooURL on a worker and emits one
// ModelTask per listed model.
func ReadZoo(s beam.Scope, zooURL string, opt ZooOptions) beam.PCollection {
	s = s.Scope("transforms.ReadZoo")
	urls := beam.Create(s, zooURL)
	return beam.ParDo(s, &readZooFn{Opt: opt}, urls)
}
