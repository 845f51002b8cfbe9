//go:build gc

#include "textflag.h"

// func getg() unsafe.Pointer
TEXT ·getg(SB), NOSPLIT, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET

// func stackBounds() (lo, hi uintptr)
// The first two words of the g structure are its stack's bounds.
TEXT ·stackBounds(SB), NOSPLIT, $0-16
	MOVQ (TLS), AX
	MOVQ 0(AX), BX
	MOVQ BX, lo+0(FP)
	MOVQ 8(AX), BX
	MOVQ BX, hi+8(FP)
	RET

// func Hide(v any) any
TEXT ·Hide(SB), NOSPLIT, $0-32
	MOVQ v_type+0(FP), AX
	MOVQ v_data+8(FP), BX
	MOVQ AX, ret_type+16(FP)
	MOVQ BX, ret_data+24(FP)
	RET
