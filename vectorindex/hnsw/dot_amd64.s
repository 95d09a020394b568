//go:build amd64 && !purego

#include "textflag.h"

// func dotInt8AVX2(a, b *int8, n int) int32
// n is a multiple of 32.
TEXT ·dotInt8AVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
loop:
	CMPQ CX, $0
	JLE done
	VPMOVSXBW (SI), Y0
	VPMOVSXBW (DI), Y1
	VPMADDWD Y1, Y0, Y0
	VPADDD Y0, Y4, Y4
	VPMOVSXBW 16(SI), Y2
	VPMOVSXBW 16(DI), Y3
	VPMADDWD Y3, Y2, Y2
	VPADDD Y2, Y5, Y5
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP loop
done:
	VPADDD Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X0
	VPADDD X0, X4, X4
	VPSHUFD $0x4E, X4, X0
	VPADDD X0, X4, X4
	VPSHUFD $0xB1, X4, X0
	VPADDD X0, X4, X4
	VMOVD X4, AX
	VZEROUPPER
	MOVL AX, ret+24(FP)
	RET

// func dotInt8VNNI(a, b *int8, n int) int32
// n is a multiple of 64. AVX-512 VNNI's VPDPBUSD multiplies unsigned by
// signed bytes, so a is offset to a+128 (a XOR 0x80) and 128·Σb, summed
// alongside with a vector of ones, is taken off again.
TEXT ·dotInt8VNNI(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z31
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z30
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
vloop2:
	CMPQ CX, $128
	JL vloop1
	VMOVDQU64 (SI), Z2
	VMOVDQU64 64(SI), Z3
	VPXORD Z31, Z2, Z2
	VPXORD Z31, Z3, Z3
	VPDPBUSD (DI), Z2, Z0
	VPDPBUSD (DI), Z30, Z1
	VPDPBUSD 64(DI), Z3, Z4
	VPDPBUSD 64(DI), Z30, Z5
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $128, CX
	JMP vloop2
vloop1:
	CMPQ CX, $0
	JLE vdone
	VMOVDQU64 (SI), Z2
	VPXORD Z31, Z2, Z2
	VPDPBUSD (DI), Z2, Z0
	VPDPBUSD (DI), Z30, Z1
vdone:
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPSLLD $7, Z1, Z1
	VPSUBD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, AX
	VZEROUPPER
	MOVL AX, ret+24(FP)
	RET

// func prefetch(p *int8, n int)
// Asks for the n bytes at p to be brought into the cache.
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
ploop:
	CMPQ CX, $0
	JLE pdone
	PREFETCHT0 (SI)
	ADDQ $64, SI
	SUBQ $64, CX
	JMP ploop
pdone:
	RET
