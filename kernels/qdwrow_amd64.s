//go:build amd64 && !purego

// Code written for eightbit: one output row of the depthwise stencil
// (dwRowGo in qdepthwise.go) with AVX2.

#include "textflag.h"

// func dwRowAVX2(acc *int32, plane *int16, offs *int64, coefs *int32, ntaps, n int)
//
// acc[i] = Σ_t coefs[t]·plane[offs[t]+i] for i < n, n a multiple of 8:
// 32 outputs at a time in Y0..Y3 (8 at a time for the rest), each tap
// sign-extending 8 int16 inputs per register (VPMOVSXWD), multiplying by
// the broadcast coefficient (VPMULLD) and adding (VPADDD), all modulo 2^32.
TEXT ·dwRowAVX2(SB), NOSPLIT, $0-48
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

// func centreAVX2(dst *int16, src *byte, n int, flip, zx int)
//
// dst[i] = int16((src[i] XOR flip) − zx) for i < n, n a multiple of 16.
TEXT ·centreAVX2(SB), NOSPLIT, $0-40
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
