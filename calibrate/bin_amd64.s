//go:build amd64 && !purego

// Code written for eightbit: the fused scan-and-bin pass of Histogram.bin
// with AVX2 (see binGo in bin.go for the contract).

#include "textflag.h"

// func binAVX2(vs *float32, n int, idx *int32, p *binParams)
//
// For n values (n a multiple of 8), 8 at a time:
//   idx[i] = int32(trunc(min(max(float64(|v|?)·inv + off, 0), top)))
//   (max returns 0 for NaN: it is the second source operand)
// and into p: the running min and max (VMINPS/VMAXPS), an all-ones lane
// pattern where a value was NaN, and per-lane counts of exact zeros.
TEXT ·binAVX2(SB), NOSPLIT, $0-32
	MOVQ vs+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ idx+16(FP), DI
	MOVQ p+24(FP), BX
	VBROADCASTSD 0(BX), Y8     // inv
	VBROADCASTSD 8(BX), Y9     // off
	VBROADCASTSD 16(BX), Y10   // top
	VBROADCASTSD 24(BX), Y11   // abs mask (all ones when signed)
	VMOVUPS 32(BX), Y12        // running min (8 lanes)
	VMOVUPS 64(BX), Y13        // running max
	VMOVUPS 96(BX), Y14        // NaN lanes
	VMOVDQU 128(BX), Y15       // zero counts
	VXORPD Y7, Y7, Y7          // 0.0
	XORQ DX, DX
loop:
	CMPQ DX, CX
	JGE  done
	VMOVUPS (SI)(DX*4), Y0
	VMINPS Y0, Y12, Y12
	VMAXPS Y0, Y13, Y13
	VCMPPS $3, Y0, Y0, Y1      // unordered: NaN
	VORPS Y1, Y14, Y14
	VCMPPS $0, Y7, Y0, Y1      // == 0 (−0 too)
	VPSUBD Y1, Y15, Y15
	VCVTPS2PD X0, Y2           // values 0..3
	VEXTRACTF128 $1, Y0, X3
	VCVTPS2PD X3, Y3           // values 4..7
	VANDPD Y11, Y2, Y2
	VANDPD Y11, Y3, Y3
	VMULPD Y8, Y2, Y2
	VMULPD Y8, Y3, Y3
	VADDPD Y9, Y2, Y2
	VADDPD Y9, Y3, Y3
	VMAXPD Y7, Y2, Y2          // NaN → 0 (second source)
	VMAXPD Y7, Y3, Y3
	VMINPD Y10, Y2, Y2
	VMINPD Y10, Y3, Y3
	VCVTTPD2DQY Y2, X2
	VCVTTPD2DQY Y3, X3
	VMOVDQU X2, (DI)(DX*4)
	VMOVDQU X3, 16(DI)(DX*4)
	ADDQ $8, DX
	JMP  loop
done:
	VMOVUPS Y12, 32(BX)
	VMOVUPS Y13, 64(BX)
	VMOVUPS Y14, 96(BX)
	VMOVDQU Y15, 128(BX)
	VZEROUPPER
	RET

// func scanAVX2(vs *float32, n int, p *binParams)
//
// binAVX2's min, max, NaN and zero lanes without the bins (n a multiple
// of 8).
TEXT ·scanAVX2(SB), NOSPLIT, $0-24
	MOVQ vs+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ p+16(FP), BX
	VMOVUPS 32(BX), Y12
	VMOVUPS 64(BX), Y13
	VMOVUPS 96(BX), Y14
	VMOVDQU 128(BX), Y15
	VXORPS Y7, Y7, Y7
	XORQ DX, DX
sloop:
	CMPQ DX, CX
	JGE  sdone
	VMOVUPS (SI)(DX*4), Y0
	VMINPS Y0, Y12, Y12
	VMAXPS Y0, Y13, Y13
	VCMPPS $3, Y0, Y0, Y1
	VORPS Y1, Y14, Y14
	VCMPPS $0, Y7, Y0, Y1
	VPSUBD Y1, Y15, Y15
	ADDQ $8, DX
	JMP  sloop
sdone:
	VMOVUPS Y12, 32(BX)
	VMOVUPS Y13, 64(BX)
	VMOVUPS Y14, 96(BX)
	VMOVDQU Y15, 128(BX)
	VZEROUPPER
	RET
