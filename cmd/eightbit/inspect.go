package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eightbitml/eightbit/failure"
	"github.com/eightbitml/eightbit/graph"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/quantize"
	"github.com/eightbitml/eightbit/tensor"
)

// inspectValue is one graph input or output.
type inspectValue struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Shape string `json:"shape"`
	// Inferred is the shape that shape inference finds at batch 1, when it
	// differs from the declared one.
	Inferred string `json:"inferred_shape,omitempty"`
}

// inspectReport is what `eightbit inspect` prints.
type inspectReport struct {
	Model       string           `json:"model"`
	Bytes       int              `json:"bytes"`
	IRVersion   int64            `json:"ir_version"`
	Producer    string           `json:"producer,omitempty"`
	Opsets      map[string]int64 `json:"opsets"`
	Inputs      []inspectValue   `json:"inputs"`
	Outputs     []inspectValue   `json:"outputs"`
	Nodes       int              `json:"nodes"`
	Ops         map[string]int   `json:"ops"`
	Parameters  int64            `json:"parameters"`
	MACs        int64            `json:"macs_per_image"`
	MACsPartial bool             `json:"macs_partial,omitempty"`
	Unsupported []string         `json:"unsupported_ops,omitempty"`
	CompileErr  string           `json:"compile_error,omitempty"`
	// CompileKind is the failure kind of CompileErr (failure.Kind:
	// "invalid-model", "non-finite", "unsupported", ...).
	CompileKind string `json:"compile_error_kind,omitempty"`
	// QuantizeOpset is the opset quantize-zoo writes for this model (after
	// upgrading an older one), 0 when it cannot quantize it.
	QuantizeOpset int64 `json:"quantize_opset,omitempty"`
	// QuantizeErr is why quantize-zoo cannot quantize a model that runs,
	// QuantizeKind its failure kind.
	QuantizeErr  string `json:"quantize_error,omitempty"`
	QuantizeKind string `json:"quantize_error_kind,omitempty"`
	// ManifestEntry is a draft of the model's zoo.yaml entry (YAML).
	ManifestEntry string `json:"manifest_entry,omitempty"`
}

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := fset.Bool("json", false, "print JSON instead of text")
	// The model location is the one positional argument.
	var model string
	var rest []string
	for _, a := range args {
		if model == "" && !strings.HasPrefix(a, "-") {
			model = a
			continue
		}
		rest = append(rest, a)
	}
	help, err := parseFlags(fset, rest, stderr)
	if help {
		printHelp(stdout, "inspect", "MODEL_URL [--json]",
			"Describes an ONNX model: inputs and outputs with their shapes, the operator\nhistogram, parameter count, multiply-accumulates per image (from shape\ninference at batch 1), file size, opsets, the operators eightbit cannot run,\nwhether quantize-zoo can quantize it and a draft of its zoo.yaml entry.\nMODEL_URL is a local path or a storage URL (file://, s3://, gs://, mem://, ...);\nexternal tensor data is read from files next to the model.", fset)
		return exitOK
	}
	if err == nil && model == "" {
		err = errors.New("missing MODEL_URL")
	}
	if err != nil {
		fmt.Fprintf(stderr, "eightbit inspect: %v (see eightbit inspect --help)\n", err)
		return exitUsage
	}
	rep, err := inspectModel(ctx, model)
	if err != nil {
		fmt.Fprintf(stderr, "eightbit inspect: %s: %v\n", failure.KindOf(err), err)
		return exitFailed
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		writeInspectText(stdout, rep)
	}
	return exitOK
}

// modelFolder returns the folder location of a model location, for
// reading external data next to it.
func modelFolder(loc string) string {
	if !strings.Contains(loc, "://") {
		return filepath.Dir(loc)
	}
	base, query, _ := strings.Cut(loc, "?")
	scheme, p, _ := strings.Cut(base, "://")
	dir := scheme + "://" + path.Dir(p)
	if query != "" {
		dir += "?" + query
	}
	return dir
}

func inspectModel(ctx context.Context, loc string) (*inspectReport, error) {
	m, size, err := loadModel(ctx, loc)
	if err != nil {
		return nil, err
	}
	rep := &inspectReport{
		Model: loc, Bytes: size, IRVersion: m.IRVersion, Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		Opsets: m.Opsets, Nodes: len(m.Graph.Nodes), Ops: m.Graph.OpCounts(),
	}
	g := m.Graph.Clone()
	if err := g.Validate(); err != nil {
		rep.CompileErr, rep.CompileKind = err.Error(), string(failure.KindOf(err))
	}
	// Shape inference at batch 1: a symbolic or unknown leading dimension
	// of every input is 1.
	ins := make([]graph.ValueInfo, len(g.Inputs))
	for i, v := range g.Inputs {
		if len(v.Shape) > 0 && (v.Shape[0].Param != "" || v.Shape[0].Value < 0) {
			v.Shape = append([]graph.Dim{{Value: 1}}, v.Shape[1:]...)
		}
		ins[i] = v
	}
	sh := graph.InferShapes(g, m.Opset(), ins)
	for _, v := range m.Graph.Inputs {
		rep.Inputs = append(rep.Inputs, describeValue(v, sh))
	}
	for _, v := range m.Graph.Outputs {
		rep.Outputs = append(rep.Outputs, describeValue(v, sh))
	}
	rep.Parameters, rep.MACs, rep.MACsPartial = countModel(g, sh)
	rep.ManifestEntry = manifestEntry(loc, m.Graph)
	if _, err := infer.Compile(m, infer.Options{}); err != nil {
		var ue *infer.UnsupportedError
		if errors.As(err, &ue) {
			for _, op := range ue.Ops {
				name := op.OpType
				if op.Domain != "" && op.Domain != "ai.onnx" {
					name = op.Domain + "." + name
				}
				for i, n := range op.Nodes {
					s := fmt.Sprintf("%s (node %q)", name, n)
					if i < len(op.Reasons) && op.Reasons[i] != "" {
						s += ": " + op.Reasons[i]
					}
					rep.Unsupported = append(rep.Unsupported, s)
				}
			}
		} else if rep.CompileErr == "" {
			rep.CompileErr, rep.CompileKind = err.Error(), string(failure.KindOf(err))
		}
	} else if rep.CompileErr == "" {
		// The checks quantize-zoo makes before calibrating.
		if v, err := quantize.CheckQuantizable(m); err != nil {
			rep.QuantizeErr, rep.QuantizeKind = err.Error(), string(failure.KindOf(err))
		} else {
			rep.QuantizeOpset = v
		}
	}
	return rep, nil
}

func describeValue(v graph.ValueInfo, sh *graph.Shapes) inspectValue {
	iv := inspectValue{Name: v.Name, Type: v.DType.String(), Shape: v.ShapeString()}
	if v.DType == 10 {
		iv.Type = "float16"
	} else if v.DType == 11 {
		iv.Type = "float64"
	}
	if inf, ok := sh.Values[v.Name]; ok && inf.Shape != nil {
		if s := inf.ShapeString(); s != iv.Shape {
			iv.Inferred = s
		}
	}
	return iv
}

func dimsSize(ds []graph.Dim) (int64, bool) {
	if !graph.Static(ds) {
		return 0, false
	}
	n := int64(1)
	for _, d := range ds {
		n *= d.Value
	}
	return n, true
}

// countModel returns the float parameter count (initializers, Constant
// values and ConstantOfShape fills of constant shape) and the
// multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul at the
// inferred shapes; partial is set when some shapes are unknown.
func countModel(g *graph.Graph, sh *graph.Shapes) (params, macs int64, partial bool) {
	params = int64(g.ParamCount())
	for _, n := range g.Nodes {
		out := ""
		if len(n.Outputs) > 0 {
			out = n.Outputs[0]
		}
		switch n.OpType {
		case "ConstantOfShape":
			// ParamCount counts those of initializer shape; shape
			// inference knows some computed shapes too.
			if v := sh.Values[out]; v.DType == tensor.Float32 && !g.IsInitializer(n.Input(0)) && sh.Data[n.Input(0)] != nil {
				if s, ok := dimsSize(v.Shape); ok {
					params += s
				}
			}
		case "Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger":
			// The integer ops count as the float op they compute; the
			// QLinear ones read their weight at input 3.
			op, wi := strings.TrimSuffix(strings.TrimPrefix(n.OpType, "QLinear"), "Integer"), 1
			if strings.HasPrefix(n.OpType, "QLinear") {
				wi = 3
			}
			y, okY := dimsSize(sh.Values[out].Shape)
			w := sh.Values[n.Input(wi)].Shape
			x := sh.Values[n.Input(0)].Shape
			var m int64
			ok := okY
			switch op {
			case "Conv":
				k, okW := dimsSize(w[min(1, len(w)):])
				m, ok = y*k, ok && okW && len(w) > 1
			case "ConvTranspose":
				xs, okX := dimsSize(x)
				k, okW := dimsSize(w[min(1, len(w)):])
				m, ok = xs*k, okX && okW && len(w) > 1
			case "Gemm":
				kd := 0
				if n.AttrInt("transA", 0) != 0 {
					kd = 0
				} else {
					kd = 1
				}
				if len(x) == 2 && x[kd].Value > 0 && x[kd].Param == "" {
					m = y * x[kd].Value
				} else {
					ok = false
				}
			case "MatMul":
				if len(x) > 0 && x[len(x)-1].Value > 0 && x[len(x)-1].Param == "" {
					m = y * x[len(x)-1].Value
				} else {
					ok = false
				}
			}
			if ok {
				macs += m
			} else {
				partial = true
			}
		}
	}
	return params, macs, partial
}

func writeInspectText(w io.Writer, r *inspectReport) {
	fmt.Fprintf(w, "model:      %s\n", r.Model)
	fmt.Fprintf(w, "size:       %d bytes (%.1f KiB)\n", r.Bytes, float64(r.Bytes)/1024)
	ops := make([]string, 0, len(r.Opsets))
	for d, v := range r.Opsets {
		if d == "" {
			d = "ai.onnx"
		}
		ops = append(ops, fmt.Sprintf("%s %d", d, v))
	}
	sort.Strings(ops)
	fmt.Fprintf(w, "ir version: %d\n", r.IRVersion)
	if r.Producer != "" {
		fmt.Fprintf(w, "producer:   %s\n", r.Producer)
	}
	fmt.Fprintf(w, "opsets:     %s\n", strings.Join(ops, ", "))
	vals := func(title string, vs []inspectValue) {
		fmt.Fprintf(w, "%s\n", title)
		for _, v := range vs {
			fmt.Fprintf(w, "  %-24s %-8s %s", v.Name, v.Type, v.Shape)
			if v.Inferred != "" {
				fmt.Fprintf(w, " (at batch 1: %s)", v.Inferred)
			}
			fmt.Fprintln(w)
		}
	}
	vals("inputs:", r.Inputs)
	vals("outputs:", r.Outputs)
	fmt.Fprintf(w, "parameters: %d\n", r.Parameters)
	approx := ""
	if r.MACsPartial {
		approx = " (partial: some shapes are unknown)"
	}
	fmt.Fprintf(w, "MACs/image: %d (%.3f G)%s\n", r.MACs, float64(r.MACs)/1e9, approx)
	fmt.Fprintf(w, "nodes:      %d\n", r.Nodes)
	names := make([]string, 0, len(r.Ops))
	for k := range r.Ops {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if r.Ops[names[i]] != r.Ops[names[j]] {
			return r.Ops[names[i]] > r.Ops[names[j]]
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		fmt.Fprintf(w, "  %-24s %d\n", k, r.Ops[k])
	}
	if len(r.Unsupported) == 0 && r.CompileErr == "" {
		fmt.Fprintln(w, "unsupported: none (eightbit runs this model)")
	}
	if len(r.Unsupported) > 0 {
		fmt.Fprintln(w, "unsupported:")
		for _, u := range r.Unsupported {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
	if r.ManifestEntry != "" {
		fmt.Fprintln(w, "zoo.yaml entry (a draft; see docs/zoo-manifest.md):")
		for _, l := range strings.Split(strings.TrimRight(r.ManifestEntry, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	switch {
	case r.QuantizeErr != "":
		fmt.Fprintf(w, "quantize:   cannot quantize (%s): %s\n", r.QuantizeKind, r.QuantizeErr)
	case r.QuantizeOpset > 0 && r.QuantizeOpset != r.Opsets[""]:
		fmt.Fprintf(w, "quantize:   yes, written at opset %d (upgraded from %d)\n", r.QuantizeOpset, r.Opsets[""])
	case r.QuantizeOpset > 0:
		fmt.Fprintf(w, "quantize:   yes, written at opset %d\n", r.QuantizeOpset)
	}
	if r.CompileErr != "" {
		if r.CompileKind != "" {
			fmt.Fprintf(w, "compile error (%s): %s\n", r.CompileKind, r.CompileErr)
		} else {
			fmt.Fprintf(w, "compile error: %s\n", r.CompileErr)
		}
	}
}
