package reference

// Window is a resolved 2-D window geometry over NCHW planes (1-D inputs
// use H = 1): input size, kernel size, strides, dilations, padding at the
// four sides and output size. Input (ih, iw) of tap (kh, kw) of output
// (oh, ow) is
//
//	ih = oh·SH − PadT + kh·DH,  iw = ow·SW − PadL + kw·DW
//
// and taps outside [0, H) × [0, W) read padding.
type Window struct {
	N, C, H, W int // input
	KH, KW     int
	SH, SW     int
	DH, DW     int
	PadT, PadL int
	PadB, PadR int
	OH, OW     int
}
