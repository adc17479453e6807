//go:build amd64 && !purego

// Code written for eightbit: integer kernels for AVX2 (no VNNI). See
// qcore.go for the tile and epilogue contracts. Products are formed with
// VPMADDWD on operands widened to int16 (VPMOVZXBW / VPMOVSXBW), which sums
// pairs of exact 16-bit products into int32 lanes without saturation;
// VPMADDUBSW (saturating int16 pairs) is not used.

#include "textflag.h"

DATA epiShuf<>+0(SB)/8, $0x808080800c080400
DATA epiShuf<>+8(SB)/8, $0x8080808080808080
DATA epiShuf<>+16(SB)/8, $0x808080800c080400
DATA epiShuf<>+24(SB)/8, $0x8080808080808080
GLOBL epiShuf<>(SB), RODATA|NOPTR, $32

DATA epiPerm<>+0(SB)/8, $0x0000000400000000
DATA epiPerm<>+8(SB)/8, $0
DATA epiPerm<>+16(SB)/8, $0
DATA epiPerm<>+24(SB)/8, $0
GLOBL epiPerm<>(SB), RODATA|NOPTR, $32

// func tileAVX2(s *int8, u *uint8, offs *int64, k4n int, acc *[384]int32, buf *int16, first, sld int)
//
// buf receives S widened to int16 ([k4n][6][4]; S packed when sld = 0,
// else rows of sld bytes). Then, for each strip of 8
// columns: Y(2r), Y(2r+1) accumulate row r against columns 0–3 and 4–7 of
// the strip, two int32 lanes per column (taps 0+1 and 2+3); at the end
// VPHADDD joins the pairs and VPERMQ restores column order. first = 0 adds
// the result to acc instead of storing it (K split into chunks).
TEXT ·tileAVX2(SB), NOSPLIT, $0-64
	MOVQ s+0(FP), SI
	MOVQ buf+40(FP), DI
	MOVQ k4n+24(FP), CX
	MOVQ sld+56(FP), R8
	TESTQ R8, R8
	JZ packed
	TESTQ CX, CX
	JZ widened
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9

widenrows:
	VMOVD (SI), X0
	VMOVD (SI)(R8*1), X1
	VMOVD (SI)(R8*2), X2
	VMOVD (R9), X3
	VMOVD (R9)(R8*1), X4
	VMOVD (R9)(R8*2), X5
	VPUNPCKLDQ X1, X0, X0
	VPUNPCKLDQ X3, X2, X2
	VPUNPCKLDQ X5, X4, X4
	VPMOVSXBW X0, X0
	VPMOVSXBW X2, X2
	VPMOVSXBW X4, X4
	VMOVDQU X0, (DI)
	VMOVDQU X2, 16(DI)
	VMOVDQU X4, 32(DI)
	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ $48, DI
	DECQ CX
	JNZ widenrows
	JMP widened

packed:
	LEAQ (CX)(CX*2), CX
	TESTQ CX, CX
	JZ widened

widen:
	VPMOVSXBW (SI), X0
	VMOVDQU X0, (DI)
	ADDQ $8, SI
	ADDQ $16, DI
	DECQ CX
	JNZ widen

widened:
	MOVQ u+8(FP), DX
	MOVQ offs+16(FP), BX
	MOVQ acc+32(FP), R10
	XORQ R8, R8
	MOVQ $8, R9

strip:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ buf+40(FP), SI
	MOVQ BX, R11
	MOVQ k4n+24(FP), CX
	TESTQ CX, CX
	JZ combine

kloop:
	MOVQ (R11), AX
	ADDQ DX, AX
	VPMOVZXBW (AX)(R8*1), Y12
	VPMOVZXBW 16(AX)(R8*1), Y13
	VPBROADCASTQ 0(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y0, Y0
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y1, Y1
	VPBROADCASTQ 8(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y2, Y2
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y3, Y3
	VPBROADCASTQ 16(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y4, Y4
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y5, Y5
	VPBROADCASTQ 24(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y6, Y6
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y7, Y7
	VPBROADCASTQ 32(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y8, Y8
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y9, Y9
	VPBROADCASTQ 40(SI), Y14
	VPMADDWD Y14, Y12, Y15
	VPADDD Y15, Y10, Y10
	VPMADDWD Y14, Y13, Y15
	VPADDD Y15, Y11, Y11
	ADDQ $48, SI
	ADDQ $8, R11
	DECQ CX
	JNZ kloop

combine:
	VPHADDD Y1, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPHADDD Y5, Y4, Y4
	VPHADDD Y7, Y6, Y6
	VPHADDD Y9, Y8, Y8
	VPHADDD Y11, Y10, Y10
	VPERMQ $0xD8, Y0, Y0
	VPERMQ $0xD8, Y2, Y2
	VPERMQ $0xD8, Y4, Y4
	VPERMQ $0xD8, Y6, Y6
	VPERMQ $0xD8, Y8, Y8
	VPERMQ $0xD8, Y10, Y10
	CMPQ first+48(FP), $0
	JNE store
	VPADDD 0(R10), Y0, Y0
	VPADDD 256(R10), Y2, Y2
	VPADDD 512(R10), Y4, Y4
	VPADDD 768(R10), Y6, Y6
	VPADDD 1024(R10), Y8, Y8
	VPADDD 1280(R10), Y10, Y10

store:
	VMOVDQU Y0, 0(R10)
	VMOVDQU Y2, 256(R10)
	VMOVDQU Y4, 512(R10)
	VMOVDQU Y6, 768(R10)
	VMOVDQU Y8, 1024(R10)
	VMOVDQU Y10, 1280(R10)
	ADDQ $32, R8
	ADDQ $32, R10
	DECQ R9
	JNZ strip
	VZEROUPPER
	RET

// func epilogueAVX2(e *epiArgs, n8 int)
//
// The epilogue of epilogueAVX512 (see there) on the first n8 columns of
// every row, n8 a multiple of 8; the caller finishes the rest.
TEXT ·epilogueAVX2(SB), NOSPLIT, $0-16
	MOVQ e+0(FP), R8
	MOVQ n8+8(FP), CX
	MOVQ 0(R8), SI
	MOVQ 16(R8), DI
	MOVQ 32(R8), R9
	MOVQ 48(R8), R10
	MOVQ 56(R8), R11
	MOVQ 80(R8), R12
	VPBROADCASTD 96(R8), Y13
	VBROADCASTSS 104(R8), Y11
	VBROADCASTSS 108(R8), Y12
	// Y15 moves byte 0 of each dword to the low 4 bytes of its 128-bit
	// lane; Y14 (dwords 0, 4) joins the two lanes' 4 bytes.
	VMOVDQU epiShuf<>(SB), Y15
	VMOVDQU epiPerm<>(SB), Y14
	TESTQ R9, R9
	JZ edone
	TESTQ CX, CX
	JZ edone

erow:
	VPBROADCASTD (R10), Y9
	VPBROADCASTD (R11), Y10
	MOVQ 64(R8), R13
	MOVQ 72(R8), R14
	CMPQ 88(R8), $0
	JNE ecols
	VBROADCASTSS (R12), Y8

ecols:
	XORQ AX, AX

ecol:
	VMOVDQU (SI)(AX*4), Y0
	VPADDD Y9, Y0, Y0
	VPADDD (R13)(AX*4), Y0, Y0
	VPMULLD (R14)(AX*4), Y10, Y1
	VPADDD Y1, Y0, Y0
	VCVTDQ2PS Y0, Y0
	CMPQ 88(R8), $0
	JEQ erowmult
	VMULPS (R12)(AX*4), Y0, Y0
	JMP eclamp

erowmult:
	VMULPS Y8, Y0, Y0

eclamp:
	VMAXPS Y11, Y0, Y0
	VMINPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPSHUFB Y15, Y0, Y0
	VPERMD Y0, Y14, Y0
	MOVQ X0, (DI)(AX*1)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT ecol
	MOVQ 8(R8), AX
	SHLQ $2, AX
	ADDQ AX, SI
	ADDQ 24(R8), DI
	ADDQ $4, R10
	ADDQ $4, R11
	CMPQ 88(R8), $0
	JNE enext
	ADDQ $4, R12

enext:
	DECQ R9
	JNZ erow

edone:
	VZEROUPPER
	RET
