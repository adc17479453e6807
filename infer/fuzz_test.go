package infer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eightbitml/eightbit/formats/onnx"
	"github.com/eightbitml/eightbit/internal/zootest"
	"github.com/eightbitml/eightbit/kernels"
	"github.com/eightbitml/eightbit/tensor"
)

// FuzzCompile feeds arbitrary bytes through the whole front end: Decode,
// graph validation, Compile (shape inference, constant folding, planning)
// and, when the inputs have small static shapes, one Run on zeros. None of
// it may panic; errors are fine. See docs/fuzzing.md.
func FuzzCompile(f *testing.F) {
	if root := zootest.Root(); root != "" {
		for _, name := range []string{"test_conv_with_strides_padding", "test_maxpool_2d_pads", "test_gemm_all_attributes",
			"test_reshape_negative_dim", "test_resize_upsample_scales_linear", "test_slice_neg_steps", "test_convtranspose_pads",
			"test_split_variable_parts_2d", "test_reduce_mean_keepdims_example", "test_layer_normalization_2d_axis0_expanded",
			"test_where_example", "test_expand_dim_changed", "test_pad", "test_batchnorm_example", "test_concat_3d_axis_1"} {
			if b, err := os.ReadFile(filepath.Join(root, "onnx-node-tests", "v1.12.0", name, "model.onnx")); err == nil {
				f.Add(b)
			}
		}
		// Only small seeds: the fuzzer minimizes every new input byte by
		// byte, which is slow for whole zoo models.
	}
	// Keep every generated tensor small so that each input runs quickly.
	defer func(n int) { kernels.MaxElements = n }(kernels.MaxElements)
	kernels.MaxElements = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Decode(data)
		if err != nil {
			return
		}
		p, err := Compile(m, Options{})
		if err != nil {
			return
		}
		inputs := map[string]*tensor.Tensor{}
		for _, v := range p.InputInfo() {
			if v.Shape == nil || !v.DType.Supported() {
				return
			}
			shape := make(tensor.Shape, len(v.Shape))
			for i, d := range v.Shape {
				if d.Value < 0 || d.Value > 64 {
					return
				}
				shape[i] = int(d.Value)
			}
			if shape.Size() > 1<<16 {
				return
			}
			inputs[v.Name] = tensor.New(v.DType, shape)
		}
		_, _ = p.Run(inputs)
	})
}
