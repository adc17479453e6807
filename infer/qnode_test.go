package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/tensor"
)

// quantNodeTests are the ONNX quantization node tests that must pass bit for
// bit (8-bit types, per tensor and per axis). Other quantization tests of
// the same directories (other element types, blocked quantization, the
// float "expanded" graphs) may be unsupported, but must never give a wrong
// answer.
var quantNodeTests = map[string]bool{
	"test_qlinearconv": true, "test_qlinearmatmul_2D": true, "test_qlinearmatmul_3D": true,
	"test_qlinearmatmul_2D_uint8_float32": true, "test_qlinearmatmul_3D_uint8_float32": true,
	"test_qlinearmatmul_2D_int8_float32": true, "test_qlinearmatmul_3D_int8_float32": true,
	"test_quantizelinear": true, "test_quantizelinear_axis": true,
	"test_dequantizelinear": true, "test_dequantizelinear_axis": true,
	"test_basic_convinteger": true, "test_convinteger_with_padding": true, "test_convinteger_without_padding": true,
	"test_matmulinteger": true, "test_dynamicquantizelinear": true,
	"test_dynamicquantizelinear_max_adjusted": true, "test_dynamicquantizelinear_min_adjusted": true,
}

func isQuantNodeTest(name string) bool {
	for _, s := range []string{"quantize", "qlinear", "integer"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// errUnsupported marks a test eightbit does not run (unsupported element
// type, attribute or operator).
var errUnsupported = errors.New("unsupported")

// runQuantNodeTest runs one node test through Compile (integer mode) and
// Run and compares every output bit for bit.
func runQuantNodeTest(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return err
	}
	m, err := onnx.Decode(b)
	if err != nil {
		return fmt.Errorf("%w: %v", errUnsupported, err)
	}
	p, err := Compile(m, Options{Integer: true})
	if err != nil {
		return fmt.Errorf("%w: %v", errUnsupported, err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test data")
	}
	for _, set := range sets {
		inputs := map[string]*tensor.Tensor{}
		names := p.InputNames()
		for i := 0; ; i++ {
			data, err := os.ReadFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				break
			}
			t, name, err := onnx.DecodeTensor(data)
			if err != nil {
				return fmt.Errorf("%w: %v", errUnsupported, err)
			}
			if name == "" && i < len(names) {
				name = names[i]
			}
			inputs[name] = t
		}
		outs, err := p.Run(inputs)
		if err != nil {
			return fmt.Errorf("%w: run: %v", errUnsupported, err)
		}
		for i, name := range p.OutputNames() {
			data, err := os.ReadFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				return err
			}
			want, _, err := onnx.DecodeTensor(data)
			if err != nil {
				return fmt.Errorf("%w: %v", errUnsupported, err)
			}
			got := outs[name]
			if got == nil || !got.Equal(want) {
				return fmt.Errorf("output %q: got %v, want %v", name, got, want)
			}
		}
	}
	return nil
}

// TestQuantNodeTests runs the quantization node tests of ONNX 1.12 and 1.22
// bit-exactly and prints pass / unsupported counts.
func TestQuantNodeTests(t *testing.T) {
	root := zootest.Path(t, "onnx-node-tests")
	for _, ver := range []string{"v1.12.0", "v1.22.0-quant"} {
		dirs, _ := filepath.Glob(filepath.Join(root, ver, "test_*"))
		sort.Strings(dirs)
		var pass, unsup, fail int
		var unsupported []string
		for _, dir := range dirs {
			name := filepath.Base(dir)
			if !isQuantNodeTest(name) {
				continue
			}
			err := runQuantNodeTest(dir)
			switch {
			case err == nil:
				pass++
			case errors.Is(err, errUnsupported) && !quantNodeTests[name]:
				unsup++
				unsupported = append(unsupported, name)
			default:
				fail++
				t.Errorf("%s/%s: %v", ver, name, err)
			}
		}
		t.Logf("%s: %d passed bit-exactly, %d unsupported, %d failed; unsupported: %s", ver, pass, unsup, fail, strings.Join(unsupported, " "))
	}
}
