package tensor

import "testing"

func TestShape(t *testing.T) {
	s := Shape{2, 3, 4}
	if s.Size() != 24 {
		t.Fatalf("size %d", s.Size())
	}
	st := s.Strides()
	if st[0] != 12 || st[1] != 4 || st[2] != 1 {
		t.Fatalf("strides %v", st)
	}
	if (Shape{}).Size() != 1 {
		t.Fatal("scalar size")
	}
}

func TestNewValidateClone(t *testing.T) {
	for _, dt := range []DType{Float32, Uint8, Int8, Int32, Int64, Bool} {
		x := New(dt, Shape{2, 2})
		if err := x.Validate(); err != nil {
			t.Fatalf("%v: %v", dt, err)
		}
		c := x.Clone()
		if !c.Equal(x) {
			t.Fatalf("%v: clone differs", dt)
		}
	}
	bad := FromFloat32(Shape{3}, []float32{1, 2})
	if bad.Validate() == nil {
		t.Fatal("want size error")
	}
}

func TestArgMax(t *testing.T) {
	cases := []struct {
		in   []float32
		want int
	}{{[]float32{1, 3, 2}, 1}, {[]float32{5, 5}, 0}, {[]float32{-1, -0.5}, 1}}
	for _, c := range cases {
		if got := ArgMax(c.in); got != c.want {
			t.Errorf("ArgMax(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
