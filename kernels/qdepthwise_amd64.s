//go:build amd64 && !purego

// Code written for eightbit: the depthwise convolution kernels
// (qdepthwise.go): the vector kernel for AVX-512 VNNI + VBMI (see
// qdepthwise.go for the method and dwArgs for the fields), and the AVX2
// kernels of the stencil form.

#include "textflag.h"

// func depthwiseS8U8AVX512VBMI(a *dwArgs)
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
TEXT ·depthwiseS8U8AVX512VBMI(SB), NOSPLIT, $0-8
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

// AVX2: one output row of the depthwise stencil (dwRowGo) and its input
// (centreGo, deinterleave2Go).

// func dwRowI16AVX2(acc *int32, plane *int16, offs *int64, coefs *int32, ntaps, n int)
//
// acc[i] = Σ_t coefs[t]·plane[offs[t]+i] for i < n, n a multiple of 8:
// 32 outputs at a time in Y0..Y3 (8 at a time for the rest), each tap
// sign-extending 8 int16 inputs per register (VPMOVSXWD), multiplying by
// the broadcast coefficient (VPMULLD) and adding (VPADDD), all modulo 2^32.
TEXT ·dwRowI16AVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ plane+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ coefs+24(FP), R9
	MOVQ ntaps+32(FP), R10
	MOVQ n+40(FP), CX
	XORQ DX, DX            // output index i
loop32:
	MOVQ CX, AX
	SUBQ DX, AX
	CMPQ AX, $32
	JLT  loop8
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	XORQ R11, R11          // tap
tap32:
	CMPQ R11, R10
	JGE  store32
	MOVQ (R8)(R11*8), AX
	ADDQ DX, AX
	LEAQ (SI)(AX*2), BX    // &plane[offs[t]+i]
	VPBROADCASTD (R9)(R11*4), Y15
	VPMOVSXWD 0(BX), Y4
	VPMOVSXWD 16(BX), Y5
	VPMOVSXWD 32(BX), Y6
	VPMOVSXWD 48(BX), Y7
	VPMULLD Y15, Y4, Y4
	VPMULLD Y15, Y5, Y5
	VPMULLD Y15, Y6, Y6
	VPMULLD Y15, Y7, Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	INCQ R11
	JMP  tap32
store32:
	VMOVDQU Y0, 0(DI)(DX*4)
	VMOVDQU Y1, 32(DI)(DX*4)
	VMOVDQU Y2, 64(DI)(DX*4)
	VMOVDQU Y3, 96(DI)(DX*4)
	ADDQ $32, DX
	JMP  loop32
loop8:
	CMPQ DX, CX
	JGE  done
	VPXOR Y0, Y0, Y0
	XORQ R11, R11
tap8:
	CMPQ R11, R10
	JGE  store8
	MOVQ (R8)(R11*8), AX
	ADDQ DX, AX
	LEAQ (SI)(AX*2), BX
	VPBROADCASTD (R9)(R11*4), Y15
	VPMOVSXWD 0(BX), Y4
	VPMULLD Y15, Y4, Y4
	VPADDD Y4, Y0, Y0
	INCQ R11
	JMP  tap8
store8:
	VMOVDQU Y0, 0(DI)(DX*4)
	ADDQ $8, DX
	JMP  loop8
done:
	VZEROUPPER
	RET

// func centreU8I16AVX2(dst *int16, src *byte, n int, flip, zx int)
//
// dst[i] = int16((src[i] XOR flip) − zx) for i < n, n a multiple of 16.
TEXT ·centreU8I16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ flip+24(FP), AX
	MOVQ zx+32(FP), BX
	MOVQ AX, X1
	VPBROADCASTB X1, X1    // flip in every byte
	MOVQ BX, X2
	VPBROADCASTW X2, Y2    // zx in every word
	XORQ DX, DX
centre16:
	CMPQ DX, CX
	JGE  centred
	VMOVDQU (SI)(DX*1), X0
	VPXOR X1, X0, X0
	VPMOVZXBW X0, Y0
	VPSUBW Y2, Y0, Y0
	VMOVDQU Y0, (DI)(DX*2)
	ADDQ $16, DX
	JMP  centre16
centred:
	VZEROUPPER
	RET

// Byte shuffle of deinterleave2U8I16AVX2: per 128-bit lane, the 8 even bytes,
// then the 8 odd bytes.
DATA deintMask<>+0(SB)/8, $0x0e0c0a0806040200
DATA deintMask<>+8(SB)/8, $0x0f0d0b0907050301
DATA deintMask<>+16(SB)/8, $0x0e0c0a0806040200
DATA deintMask<>+24(SB)/8, $0x0f0d0b0907050301
GLOBL deintMask<>(SB), RODATA|NOPTR, $32

// func deinterleave2U8I16AVX2(even, odd *int16, src *byte, n, flip, zx int)
//
// even[k] = int16((src[2k] XOR flip) − zx), odd[k] = int16((src[2k+1]
// XOR flip) − zx) for 2k < n, n a multiple of 32 (the stencil's phase
// planes for a column stride of 2).
TEXT ·deinterleave2U8I16AVX2(SB), NOSPLIT, $0-48
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ flip+32(FP), AX
	MOVQ zx+40(FP), BX
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ BX, X2
	VPBROADCASTW X2, Y2
	VMOVDQU deintMask<>(SB), Y3
	XORQ DX, DX            // source byte index
	XORQ R9, R9            // destination element index
deint32:
	CMPQ DX, CX
	JGE  deintDone
	VMOVDQU (SI)(DX*1), Y0
	VPXOR Y1, Y0, Y0
	VPSHUFB Y3, Y0, Y0
	VPERMQ $0xD8, Y0, Y0   // 16 even bytes, then 16 odd bytes
	VEXTRACTI128 $1, Y0, X4
	VPMOVZXBW X0, Y5
	VPMOVZXBW X4, Y6
	VPSUBW Y2, Y5, Y5
	VPSUBW Y2, Y6, Y6
	VMOVDQU Y5, (DI)(R9*2)
	VMOVDQU Y6, (R8)(R9*2)
	ADDQ $32, DX
	ADDQ $16, R9
	JMP  deint32
deintDone:
	VZEROUPPER
	RET
