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

// Byte shuffle of deinterleave2AVX2: per 128-bit lane, the 8 even bytes,
// then the 8 odd bytes.
DATA deintMask<>+0(SB)/8, $0x0e0c0a0806040200
DATA deintMask<>+8(SB)/8, $0x0f0d0b0907050301
DATA deintMask<>+16(SB)/8, $0x0e0c0a0806040200
DATA deintMask<>+24(SB)/8, $0x0f0d0b0907050301
GLOBL deintMask<>(SB), RODATA|NOPTR, $32

// func deinterleave2AVX2(even, odd *int16, src *byte, n, flip, zx int)
//
// even[k] = int16((src[2k] XOR flip) − zx), odd[k] = int16((src[2k+1]
// XOR flip) − zx) for 2k < n, n a multiple of 32 (the stencil's phase
// planes for a column stride of 2).
TEXT ·deinterleave2AVX2(SB), NOSPLIT, $0-48
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
