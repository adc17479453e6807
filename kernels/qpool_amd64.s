//go:build amd64 && !purego

// Code written for eightbit: the uint8 row kernels of MaxPool (qpool.go).

#include "textflag.h"

// func maxU8AVX512(dst, src *byte, n int)
//
//	for i := 0; i < n; i++ {
//		dst[i] = max(dst[i], src[i])
//	}
//
// 64 bytes at a time, the tail under a mask.
TEXT ·maxU8AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, BX
	ANDQ $-64, BX
	XORQ DX, DX
max64:
	CMPQ DX, BX
	JGE  maxTail
	VMOVDQU8 (SI)(DX*1), Z0
	VPMAXUB  (DI)(DX*1), Z0, Z0
	VMOVDQU8 Z0, (DI)(DX*1)
	ADDQ $64, DX
	JMP  max64
maxTail:
	SUBQ DX, CX
	JZ   maxDone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
	VMOVDQU8.Z (SI)(DX*1), K1, Z0
	VMOVDQU8.Z (DI)(DX*1), K1, Z1
	VPMAXUB Z1, Z0, Z0
	VMOVDQU8 Z0, K1, (DI)(DX*1)
maxDone:
	VZEROUPPER
	RET

// func maxU8Stride2AVX512(dst, src *byte, n int)
//
//	for j := 0; j < n; j++ {
//		dst[j] = max(dst[j], src[2*j])
//	}
//
// 32 outputs at a time from 32 words whose low bytes VPMOVWB keeps, the
// tail under a mask; it reads src[0 : 2n].
TEXT ·maxU8Stride2AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ DX, DX
even32:
	CMPQ DX, BX
	JGE  evenTail
	VMOVDQU16 (SI)(DX*2), Z0
	VPMOVWB  Z0, Y0
	VPMAXUB  (DI)(DX*1), Y0, Y0
	VMOVDQU8 Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP  even32
evenTail:
	SUBQ DX, CX
	JZ   evenDone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVD AX, K1
	VMOVDQU16.Z (SI)(DX*2), K1, Z0
	VPMOVWB Z0, Y0
	VMOVDQU8.Z (DI)(DX*1), K1, Y1
	VPMAXUB Y1, Y0, Y0
	VMOVDQU8 Y0, K1, (DI)(DX*1)
evenDone:
	VZEROUPPER
	RET

// func maxU8AVX2(dst, src *byte, n int)
//
//	for i := 0; i < n; i++ {
//		dst[i] = max(dst[i], src[i])
//	}
//
// n a multiple of 32.
TEXT ·maxU8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ DX, DX
max32:
	CMPQ DX, CX
	JGE  max32Done
	VMOVDQU (SI)(DX*1), Y0
	VPMAXUB (DI)(DX*1), Y0, Y0
	VMOVDQU Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP  max32
max32Done:
	VZEROUPPER
	RET

// func maxU8Stride2AVX2(dst, src *byte, n int)
//
//	for j := 0; j < n; j++ {
//		dst[j] = max(dst[j], src[2*j])
//	}
//
// n a multiple of 16; 16 outputs at a time from 16 words, masked to their
// low bytes and packed; it reads src[0 : 2n].
TEXT ·maxU8Stride2AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $8, Y15, Y15  // 0x00FF in every word
	XORQ DX, DX
even16:
	CMPQ DX, CX
	JGE  even16Done
	VMOVDQU (SI)(DX*2), Y0
	VPAND   Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VPMAXUB (DI)(DX*1), X0, X0
	VMOVDQU X0, (DI)(DX*1)
	ADDQ $16, DX
	JMP  even16
even16Done:
	VZEROUPPER
	RET

// func maxU8K3S2AVX512(dst, src *byte, n int)
//
//	for j := 0; j < n; j++ {
//		dst[j] = max(src[2*j], src[2*j+1], src[2*j+2])
//	}
//
// The window of 3 columns at stride 2: from the words at src+2j (low byte
// src[2j], high byte src[2j+1]) and src+2j+2, 32 outputs at a time, the
// tail under a mask; it reads src[0 : 2n+2].
TEXT ·maxU8K3S2AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ DX, DX
win32:
	CMPQ DX, BX
	JGE  winTail
	VMOVDQU16 (SI)(DX*2), Z0
	VMOVDQU16 2(SI)(DX*2), Z1
	VPSRLW   $8, Z0, Z2
	VPMAXUB  Z2, Z0, Z0
	VPMAXUB  Z1, Z0, Z0
	VPMOVWB  Z0, (DI)(DX*1)
	ADDQ $32, DX
	JMP  win32
winTail:
	SUBQ DX, CX
	JZ   winDone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVD AX, K1
	VMOVDQU16.Z (SI)(DX*2), K1, Z0
	VMOVDQU16.Z 2(SI)(DX*2), K1, Z1
	VPSRLW  $8, Z0, Z2
	VPMAXUB Z2, Z0, Z0
	VPMAXUB Z1, Z0, Z0
	VPMOVWB Z0, K1, (DI)(DX*1)
winDone:
	VZEROUPPER
	RET

// func maxU8K3S2AVX2(dst, src *byte, n int)
//
// maxU8K3S2AVX512 for n a multiple of 16, 16 outputs at a time (the low
// bytes of the words masked and packed); it reads src[0 : 2n+2].
TEXT ·maxU8K3S2AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $8, Y15, Y15  // 0x00FF in every word
	XORQ DX, DX
win16:
	CMPQ DX, CX
	JGE  win16Done
	VMOVDQU (SI)(DX*2), Y0
	VMOVDQU 2(SI)(DX*2), Y1
	VPSRLW  $8, Y0, Y2
	VPMAXUB Y2, Y0, Y0
	VPMAXUB Y1, Y0, Y0
	VPAND   Y15, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VMOVDQU X0, (DI)(DX*1)
	ADDQ $16, DX
	JMP  win16
win16Done:
	VZEROUPPER
	RET
