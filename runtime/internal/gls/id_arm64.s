//go:build gc

#include "textflag.h"

// func getg() unsafe.Pointer
TEXT ·getg(SB), NOSPLIT, $0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET

// func stackBounds() (lo, hi uintptr)
// The first two words of the g structure are its stack's bounds.
TEXT ·stackBounds(SB), NOSPLIT, $0-16
	MOVD 0(g), R0
	MOVD R0, lo+0(FP)
	MOVD 8(g), R0
	MOVD R0, hi+8(FP)
	RET

// func Hide(v any) any
TEXT ·Hide(SB), NOSPLIT, $0-32
	MOVD v_type+0(FP), R0
	MOVD v_data+8(FP), R1
	MOVD R0, ret_type+16(FP)
	MOVD R1, ret_data+24(FP)
	RET
