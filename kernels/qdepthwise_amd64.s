//go:build amd64 && !purego

// Code written for eightbit: the depthwise convolution kernel for AVX-512
// VNNI + VBMI. See qdepthwise.go for the method and dwArgs for the fields.

#include "textflag.h"

// func depthwiseVNNI(a *dwArgs)
//
// For each block of 16 output columns:
//   pass 1, for each padded input row ih and column group j: Z1 = fill;
//     Z1{mask} = 64 bytes at rows[ih] + col[j]; Z1 ^= flip; Z1 = VPERMB(Z1,
//     idx); scratch[ih][j] = Z1 (the 4 taps of each of the 16 pixels);
//   pass 2, for each output row oh: Z0 = rowAdd; Z2 = 0; for each tap t
//     (kernel row, column group): Z1 = scratch at oh·SH·nj + toff[t];
//     Z0 += VPDPBUSD(Z1, w[t]); (zs ≠ 0: Z2 += VPDPBUSD(Z1, ones[t]));
//     Z0 += rowMul · Z2; int32 output: store Z0; else requantize as the
//     engine's epilogue and store 16 bytes (masked).
TEXT ·depthwiseVNNI(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), R8
	MOVQ 72(R8), AX
	VMOVDQU8 (AX), Z31
	VPBROADCASTB 80(R8), Z30
	VPXORD Z29, Z29, Z29
	CMPQ 88(R8), $0
	JEQ noflip
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z29

noflip:
	VPBROADCASTD 112(R8), Z28
	VPBROADCASTD 116(R8), Z27
	VBROADCASTSS 120(R8), Z26
	VBROADCASTSS 128(R8), Z25
	VBROADCASTSS 132(R8), Z24
	VPBROADCASTD 124(R8), Z23
	MOVQ 24(R8), BX
	MOVQ 8(R8), R10
	MOVQ 32(R8), SI
	TESTQ SI, SI
	JZ done
	CMPQ 40(R8), $0
	JEQ done
	CMPQ 176(R8), $0
	JEQ done

blockloop:
	// Pass 1: the gathered taps of every padded row.
	MOVQ 0(R8), R9
	MOVQ 160(R8), R11
	MOVQ 152(R8), CX

p1row:
	MOVQ (R9), R13
	MOVQ R10, R12
	MOVQ 16(R8), DX

p1col:
	MOVQ R13, AX
	ADDQ 0(R12), AX
	KMOVQ 8(R12), K1
	VMOVDQA64 Z30, Z1
	VMOVDQU8 (AX), K1, Z1
	VPXORD Z29, Z1, Z1
	VPERMB Z1, Z31, Z1
	VMOVDQU64 Z1, (R11)
	ADDQ $64, R11
	ADDQ $16, R12
	DECQ DX
	JNZ p1col
	ADDQ $8, R9
	DECQ CX
	JNZ p1row

	// Pass 2: the output rows of this block.
	MOVQ 160(R8), R9
	MOVQ 56(R8), DI
	MOVQ 0(BX), R14
	KMOVW 8(BX), K2
	MOVQ 40(R8), CX
	CMPQ 176(R8), $3
	JNE p2row
	CMPQ 96(R8), $0
	JNE p2row
	CMPQ 104(R8), $0
	JNE p2row

	// Three taps, no window sum, byte output: weights in Z20..Z22, tap
	// offsets in R12, R13 (the first is 0).
	MOVQ 136(R8), AX
	VPBROADCASTD 0(AX), Z20
	VPBROADCASTD 4(AX), Z21
	VPBROADCASTD 8(AX), Z22
	MOVQ 168(R8), AX
	MOVQ 8(AX), R12
	MOVQ 16(AX), R13
	MOVQ 48(R8), R11

p3row:
	VMOVDQA64 Z28, Z0
	VMOVDQU64 (R9), Z1
	VMOVDQU64 (R9)(R12*1), Z3
	VMOVDQU64 (R9)(R13*1), Z4
	VPDPBUSD Z20, Z1, Z0
	VPDPBUSD Z21, Z3, Z0
	VPDPBUSD Z22, Z4, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z26, Z0, Z0
	VMAXPS Z25, Z0, Z0
	VMINPS Z24, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z23, Z0, Z0
	VPMOVDB Z0, K2, (DI)(R14*1)
	ADDQ R11, R9
	ADDQ 64(R8), DI
	DECQ CX
	JNZ p3row
	JMP nextblock

p2row:
	VMOVDQA64 Z28, Z0
	VPXORD Z2, Z2, Z2
	MOVQ 168(R8), R12
	MOVQ 136(R8), R11
	MOVQ 144(R8), R13
	MOVQ 176(R8), DX

p2tap:
	MOVQ (R12), AX
	VMOVDQU64 (R9)(AX*1), Z1
	VPDPBUSD.BCST (R11), Z1, Z0
	CMPQ 96(R8), $0
	JEQ nosum
	VPDPBUSD.BCST (R13), Z1, Z2

nosum:
	ADDQ $8, R12
	ADDQ $4, R11
	ADDQ $4, R13
	DECQ DX
	JNZ p2tap

	CMPQ 96(R8), $0
	JEQ nocorr
	VPMULLD Z27, Z2, Z2
	VPADDD Z2, Z0, Z0

nocorr:
	CMPQ 104(R8), $0
	JNE store32
	VCVTDQ2PS Z0, Z0
	VMULPS Z26, Z0, Z0
	VMAXPS Z25, Z0, Z0
	VMINPS Z24, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z23, Z0, Z0
	VPMOVDB Z0, K2, (DI)(R14*1)
	JMP nextrow

store32:
	VMOVDQU32 Z0, K2, (DI)(R14*4)

nextrow:
	ADDQ 48(R8), R9
	ADDQ 64(R8), DI
	DECQ CX
	JNZ p2row

nextblock:
	ADDQ $16, BX
	MOVQ 16(R8), AX
	SHLQ $4, AX
	ADDQ AX, R10
	DECQ SI
	JNZ blockloop

done:
	VZEROUPPER
	RET
