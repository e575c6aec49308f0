//go:build lua53

package vm

/*
#include <stdlib.h>
*/
import "C"

import "unsafe"

func unsafePtr[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

func unsafeCharPtr(p *C.char) unsafe.Pointer { return unsafe.Pointer(p) }

func freeC(p *C.char) { C.free(unsafe.Pointer(p)) }
