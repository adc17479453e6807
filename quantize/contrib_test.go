package quantize

import (
	"slices"
	"testing"

	"github.com/eightbitml/eightbit/infer"
)

// TestContribOps quantizes zoo models with residual Adds (with and without
// Relu) and a GlobalAveragePool in the qoperator format with
// AllowContribOps: those groups become com.microsoft QLinearAdd and
// QLinearGlobalAveragePool, and eightbit's integer outputs equal those of
// the plain qoperator model (which runs the same arithmetic on the
// DQ → op → Q groups).
func TestContribOps(t *testing.T) {
	want := map[string][2]int{ // QLinearAdd, QLinearGlobalAveragePool
		"cifar-resnet8":     {2, 0}, // the last Add feeds a float Relu → GlobalAveragePool
		"cifar-mobilenetv2": {10, 1},
	}
	for _, zm := range zooModels {
		counts, ok := want[zm.name()]
		if !ok {
			continue
		}
		t.Run(zm.name(), func(t *testing.T) {
			z := loadZoo(t, zm)
			n := min(100, z.eval.im.N)
			ev := &split{im: z.eval.im, labels: z.eval.labels[:n]}
			saved := ev.im.N
			defer func() { ev.im.N = saved }()
			var outs [2][]float32
			for i, contrib := range []bool{false, true} {
				_, dec, _ := z.quantizeEnc(t, Options{Format: FormatQOperator, AllowContribOps: contrib})
				ops := map[string]int{}
				for _, nd := range dec.Graph.Nodes {
					ops[nd.Domain+"."+nd.OpType]++
				}
				if contrib {
					if ops[msDomain+".QLinearAdd"] != counts[0] || ops[msDomain+".QLinearGlobalAveragePool"] != counts[1] {
						t.Errorf("ops %v, want %d QLinearAdd and %d QLinearGlobalAveragePool", ops, counts[0], counts[1])
					}
					if dec.Opsets[msDomain] != 1 {
						t.Errorf("opsets %v, want %s at 1", dec.Opsets, msDomain)
					}
				} else if len(dec.Opsets) != 1 {
					t.Errorf("opsets %v without contrib ops", dec.Opsets)
				}
				p, err := infer.Compile(dec, infer.Options{Integer: true})
				if err != nil {
					t.Fatal(err)
				}
				ev.im.N = n
				outs[i] = z.runAll(t, p, ev, nil)
			}
			if !slices.Equal(outs[0], outs[1]) {
				t.Error("outputs with contrib ops differ from the plain qoperator model's")
			}
		})
	}
}
