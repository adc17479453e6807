//go:build amd64 && !purego

// Code written for eightbit: element-wise 8-bit row kernels (qelem.go).

#include "textflag.h"

// VPSHUFB mask gathering byte 0 of each dword of a 128-bit lane into the
// lane's first dword (the low bytes of four int32).
DATA lowBytes<>+0(SB)/8, $0x808080800c080400
DATA lowBytes<>+8(SB)/8, $0x8080808080808080
DATA lowBytes<>+16(SB)/8, $0x808080800c080400
DATA lowBytes<>+24(SB)/8, $0x8080808080808080
GLOBL lowBytes<>(SB), RODATA|NOPTR, $32

// func quantizeF32Q8AVX512(dst *byte, src *float32, n int, q *quantRow)
//
//	for i := 0; i < n; i++ {
//		v := src[i] / q.scale
//		if v != v {
//			v = 0
//		}
//		dst[i] = byte(int32(round_half_even(min(max(v, q.lo), q.hi))) + q.zp)
//	}
//
// 16 values at a time, the tail under a mask.
#define QUANT16(MASK) \
	VDIVPS Z20, Z0, Z0 \
	VCMPPS $7, Z0, Z0, K2 \
	VMOVAPS.Z Z0, K2, Z0 \
	VMAXPS Z21, Z0, Z0 \
	VMINPS Z22, Z0, Z0 \
	VCVTPS2DQ Z0, Z0 \
	VPADDD Z23, Z0, Z0 \
	VPMOVDB Z0, MASK, (DI)(DX*1)

TEXT ·quantizeF32Q8AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ q+24(FP), R8
	VBROADCASTSS 0(R8), Z20
	VBROADCASTSS 4(R8), Z21
	VBROADCASTSS 8(R8), Z22
	VPBROADCASTD 12(R8), Z23
	MOVL $0xFFFF, AX
	KMOVW AX, K3
	MOVQ CX, BX
	ANDQ $-16, BX
	XORQ DX, DX
quant16:
	CMPQ DX, BX
	JGE  quantTail
	VMOVUPS (SI)(DX*4), Z0
	QUANT16(K3)
	ADDQ $16, DX
	JMP  quant16
quantTail:
	SUBQ DX, CX
	JZ   quantDone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI)(DX*4), K1, Z0
	QUANT16(K1)
quantDone:
	VZEROUPPER
	RET

// func quantizeF32Q8AVX2(dst *byte, src *float32, n int, q *quantRow)
//
// quantizeF32Q8AVX512 for n a multiple of 8, 8 values at a time.
TEXT ·quantizeF32Q8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ q+24(FP), R8
	VBROADCASTSS 0(R8), Y10
	VBROADCASTSS 4(R8), Y11
	VBROADCASTSS 8(R8), Y12
	VPBROADCASTD 12(R8), Y13
	VMOVDQU lowBytes<>(SB), Y14
	XORQ DX, DX
quant8:
	CMPQ DX, CX
	JGE  quant8Done
	VMOVUPS (SI)(DX*4), Y0
	VDIVPS Y10, Y0, Y0
	VCMPPS $7, Y0, Y0, Y1  // ordered: not NaN
	VANDPS Y1, Y0, Y0
	VMAXPS Y11, Y0, Y0
	VMINPS Y12, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y13, Y0, Y0
	VPSHUFB Y14, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLDQ X1, X0, X0
	VMOVQ X0, (DI)(DX*1)
	ADDQ $8, DX
	JMP  quant8
quant8Done:
	VZEROUPPER
	RET

// func dequantizeQ8F32AVX512(dst *float32, src *byte, n int, scale float32, zp int32, signed int)
//
//	for i := 0; i < n; i++ {
//		v := int32(src[i]) // int32(int8(src[i])) when signed != 0
//		dst[i] = float32(v-zp) * scale
//	}
//
// 16 values at a time, the tail under a mask.
#define DEQUANT16(EXT, MASK) \
	EXT (SI)(DX*1), MASK, Z0 \
	VPSUBD Z21, Z0, Z0 \
	VCVTDQ2PS Z0, Z0 \
	VMULPS Z20, Z0, Z0 \
	VMOVUPS Z0, MASK, (DI)(DX*4)

TEXT ·dequantizeQ8F32AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z20
	MOVL zp+28(FP), AX
	VMOVD AX, X5
	VPBROADCASTD X5, Z21
	MOVQ signed+32(FP), R8
	MOVL $0xFFFF, AX
	KMOVW AX, K3
	MOVQ CX, BX
	ANDQ $-16, BX
	SUBQ BX, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	XORQ DX, DX
	TESTQ R8, R8
	JNZ  sdeq16
udeq16:
	CMPQ DX, BX
	JGE  udeqTail
	DEQUANT16(VPMOVZXBD.Z, K3)
	ADDQ $16, DX
	JMP  udeq16
udeqTail:
	TESTQ CX, CX
	JZ   deqDone
	DEQUANT16(VPMOVZXBD.Z, K1)
	JMP  deqDone
sdeq16:
	CMPQ DX, BX
	JGE  sdeqTail
	DEQUANT16(VPMOVSXBD.Z, K3)
	ADDQ $16, DX
	JMP  sdeq16
sdeqTail:
	TESTQ CX, CX
	JZ   deqDone
	DEQUANT16(VPMOVSXBD.Z, K1)
deqDone:
	VZEROUPPER
	RET

// func dequantizeQ8F32AVX2(dst *float32, src *byte, n int, scale float32, zp int32, signed int)
//
// dequantizeQ8F32AVX512 for n a multiple of 8, 8 values at a time.
#define DEQUANT8(EXT) \
	EXT (SI)(DX*1), Y0 \
	VPSUBD Y11, Y0, Y0 \
	VCVTDQ2PS Y0, Y0 \
	VMULPS Y10, Y0, Y0 \
	VMOVUPS Y0, (DI)(DX*4)

TEXT ·dequantizeQ8F32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y10
	MOVL zp+28(FP), AX
	VMOVD AX, X5
	VPBROADCASTD X5, Y11
	MOVQ signed+32(FP), R8
	XORQ DX, DX
	TESTQ R8, R8
	JNZ  sdeq8
udeq8:
	CMPQ DX, CX
	JGE  deq8Done
	DEQUANT8(VPMOVZXBD)
	ADDQ $8, DX
	JMP  udeq8
sdeq8:
	CMPQ DX, CX
	JGE  deq8Done
	DEQUANT8(VPMOVSXBD)
	ADDQ $8, DX
	JMP  sdeq8
deq8Done:
	VZEROUPPER
	RET

// func qaddQ8AVX512(dst, a, b *byte, n int, k *qaddConsts)
//
//	for i := 0; i < n; i++ {
//		av, bv := float32(a[i]), float32(b[i]) // as int8 when k.signed != 0
//		v := fma(av, k.ra, fma(bv, k.rb, k.fixed))
//		dst[i] = byte(int32(round_half_even(min(max(v, k.lo), k.hi))))
//	}
//
// 16 values at a time, the tail under a mask.
#define QADD16(EXT, MASK) \
	EXT (SI)(DX*1), MASK, Z0 \
	EXT (R8)(DX*1), MASK, Z1 \
	VCVTDQ2PS Z0, Z0 \
	VCVTDQ2PS Z1, Z1 \
	VMOVAPS Z22, Z2 \
	VFMADD231PS Z21, Z1, Z2 \
	VFMADD231PS Z20, Z0, Z2 \
	VMAXPS Z23, Z2, Z2 \
	VMINPS Z24, Z2, Z2 \
	VCVTPS2DQ Z2, Z2 \
	VPMOVDB Z2, MASK, (DI)(DX*1)

TEXT ·qaddQ8AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R9
	VBROADCASTSS 0(R9), Z20
	VBROADCASTSS 4(R9), Z21
	VBROADCASTSS 8(R9), Z22
	VBROADCASTSS 12(R9), Z23
	VBROADCASTSS 16(R9), Z24
	MOVL 20(R9), R10
	MOVL $0xFFFF, AX
	KMOVW AX, K3
	MOVQ CX, BX
	ANDQ $-16, BX
	SUBQ BX, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	XORQ DX, DX
	TESTL R10, R10
	JNZ  sadd16
uadd16:
	CMPQ DX, BX
	JGE  uaddTail
	QADD16(VPMOVZXBD.Z, K3)
	ADDQ $16, DX
	JMP  uadd16
uaddTail:
	TESTQ CX, CX
	JZ   addDone
	QADD16(VPMOVZXBD.Z, K1)
	JMP  addDone
sadd16:
	CMPQ DX, BX
	JGE  saddTail
	QADD16(VPMOVSXBD.Z, K3)
	ADDQ $16, DX
	JMP  sadd16
saddTail:
	TESTQ CX, CX
	JZ   addDone
	QADD16(VPMOVSXBD.Z, K1)
addDone:
	VZEROUPPER
	RET

// func qaddQ8AVX2(dst, a, b *byte, n int, k *qaddConsts)
//
// qaddQ8AVX512 for n a multiple of 8, 8 values at a time.
#define QADD8(EXT) \
	EXT (SI)(DX*1), Y0 \
	EXT (R8)(DX*1), Y1 \
	VCVTDQ2PS Y0, Y0 \
	VCVTDQ2PS Y1, Y1 \
	VMOVAPS Y12, Y2 \
	VFMADD231PS Y11, Y1, Y2 \
	VFMADD231PS Y10, Y0, Y2 \
	VMAXPS Y13, Y2, Y2 \
	VMINPS Y14, Y2, Y2 \
	VCVTPS2DQ Y2, Y2 \
	VPSHUFB Y15, Y2, Y2 \
	VEXTRACTI128 $1, Y2, X3 \
	VPUNPCKLDQ X3, X2, X2 \
	VMOVQ X2, (DI)(DX*1)

TEXT ·qaddQ8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ k+32(FP), R9
	VBROADCASTSS 0(R9), Y10
	VBROADCASTSS 4(R9), Y11
	VBROADCASTSS 8(R9), Y12
	VBROADCASTSS 12(R9), Y13
	VBROADCASTSS 16(R9), Y14
	VMOVDQU lowBytes<>(SB), Y15
	MOVL 20(R9), R10
	XORQ DX, DX
	TESTL R10, R10
	JNZ  sadd8
uadd8:
	CMPQ DX, CX
	JGE  add8Done
	QADD8(VPMOVZXBD)
	ADDQ $8, DX
	JMP  uadd8
sadd8:
	CMPQ DX, CX
	JGE  add8Done
	QADD8(VPMOVSXBD)
	ADDQ $8, DX
	JMP  sadd8
add8Done:
	VZEROUPPER
	RET
