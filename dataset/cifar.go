package dataset

import "fmt"

// CIFAR binary layout: each record is the label byte(s) followed by a 32×32
// image stored planar (1024 red bytes, then green, then blue, each row-major).
// CIFAR-10 records carry one label byte; CIFAR-100 records a coarse and a
// fine label byte (the fine label is used).
const (
	cifarSide   = 32
	cifarPixels = cifarSide * cifarSide * 3
)

// DecodeCIFAR decodes one CIFAR-10 (cifar100 false) or CIFAR-100 binary
// file into images (H=W=32, C=3, interleaved RGB) and labels. A trailing
// partial record is reported as an error alongside the complete records.
func DecodeCIFAR(data []byte, cifar100 bool) (*Images, []int, error) {
	lb := 1
	if cifar100 {
		lb = 2
	}
	rec := lb + cifarPixels
	n := len(data) / rec
	im := &Images{N: n, H: cifarSide, W: cifarSide, C: 3, Pix: make([]uint8, n*cifarPixels)}
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		r := data[i*rec : (i+1)*rec]
		labels[i] = int(r[lb-1])
		planes := r[lb:]
		dst := im.Pix[i*cifarPixels : (i+1)*cifarPixels]
		const plane = cifarSide * cifarSide
		for p := 0; p < plane; p++ {
			dst[3*p] = planes[p]
			dst[3*p+1] = planes[plane+p]
			dst[3*p+2] = planes[2*plane+p]
		}
	}
	var err error
	if rest := len(data) % rec; rest != 0 {
		err = fmt.Errorf("%w: truncated CIFAR record: %d trailing bytes, records are %d bytes", ErrFormat, rest, rec)
	}
	return im, labels, err
}

func cifarEntries(name string, data []byte, cifar100 bool) []entry {
	im, labels, err := DecodeCIFAR(data, cifar100)
	out := make([]entry, 0, im.N+1)
	for i := 0; i < im.N; i++ {
		out = append(out, entry{id: fmt.Sprintf("%s#%d", name, i), label: labels[i], fixed: im, index: i})
	}
	if err != nil {
		out = append(out, entry{id: fmt.Sprintf("%s#%d", name, im.N), err: err.Error()})
	}
	return out
}
