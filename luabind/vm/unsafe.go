//go:build lua53

package vm

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

func unsafePtr[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

func unsafeCharPtr(p *C.char) unsafe.Pointer { return unsafe.Pointer(p) }

func freeC(p *C.char) { C.free(unsafe.Pointer(p)) }

// cAddr passes a C block to C as an integer (lrt_run_u): a C pointer
// needs none of the Go-pointer checks cgo makes on pointer arguments.
func cAddr[T any](p *T) C.uintptr_t { return C.uintptr_t(uintptr(unsafe.Pointer(p))) }
