package calibrate

import (
	"fmt"
	"testing"
)

func BenchmarkResult(b *testing.B) {
	data := synthetic("relu-gaussian", 100000, []float32{30}, 1)
	for _, m := range Methods {
		for _, sym := range []bool{false, true} {
			o := Options{Method: m, Symmetric: sym}
			h := build(data, o)
			name := string(m)
			if sym {
				name += "-sym"
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					h.Result(o)
				}
			})
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	data := synthetic("relu-gaussian", 1<<20, nil, 1)
	var mm MinMax
	mm.Add(data)
	b.Run("minmax", func(b *testing.B) {
		b.SetBytes(int64(4 * len(data)))
		for i := 0; i < b.N; i++ {
			var m MinMax
			m.Add(data)
		}
	})
	for _, sym := range []bool{false, true} {
		h := NewHistogram(mm.Range(), DefaultBins, sym)
		b.Run(fmt.Sprintf("histogram-sym=%v", sym), func(b *testing.B) {
			b.SetBytes(int64(4 * len(data)))
			for i := 0; i < b.N; i++ {
				h.Add(data)
			}
		})
	}
}
