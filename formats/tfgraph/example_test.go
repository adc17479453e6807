package tfgraph_test

import (
	"fmt"

	"github.com/eightbitml/eightbit/formats/tfgraph"
	"github.com/eightbitml/eightbit/formats/tfgraph/tfpb"
	"github.com/eightbitml/eightbit/infer"
	"github.com/eightbitml/eightbit/tensor"
	"google.golang.org/protobuf/proto"
)

func Example() {
	// A frozen graph y = Relu(x · W + b), as TensorFlow would write it.
	f32 := &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: tfpb.DataType_DT_FLOAT}}
	constant := func(name string, dims []int64, v ...float32) *tfpb.NodeDef {
		shape := &tfpb.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
		}
		tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape, FloatVal: v}
		return &tfpb.NodeDef{Name: name, Op: "Const", Attr: map[string]*tfpb.AttrValue{
			"dtype": f32, "value": {Value: &tfpb.AttrValue_Tensor{Tensor: tp}}}}
	}
	gd := &tfpb.GraphDef{Node: []*tfpb.NodeDef{
		{Name: "x", Op: "Placeholder", Attr: map[string]*tfpb.AttrValue{"dtype": f32}},
		constant("W", []int64{2, 2}, 1, -1, 2, 1),
		constant("b", []int64{2}, 0.5, 0),
		{Name: "mm", Op: "MatMul", Input: []string{"x", "W"}},
		{Name: "add", Op: "BiasAdd", Input: []string{"mm", "b"}},
		{Name: "y", Op: "Relu", Input: []string{"add"}},
	}}
	data, err := proto.Marshal(gd)
	if err != nil {
		fmt.Println(err)
		return
	}

	m, err := tfgraph.Decode(data, tfgraph.Options{Outputs: []string{"y:0"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := infer.Compile(m, infer.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.FromFloat32(tensor.Shape{2, 2}, []float32{1, 1, 3, -1})
	out, err := p.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tfgraph.ValueName("y:0"), out["y"].Shape, out["y"].F32)
	// Output: y [2,2] [3.5 0 1.5 0]
}
