package main

import "os"

// gcBallast keeps the Go collector's heap goal at least twice its size.
// A proxy's live heap is small (a few MiB: the configuration, the idle
// connections' buffers) and its garbage is steady (each request leaves
// a few hundred bytes), so with the default GOGC=100 the collector ran a
// full mark every ~4 MiB allocated: 170 instructions per plain proxied
// request, 650-800 with a Lua action, and the caches it evicts. Against
// the ballast it runs every ~36 MiB allocated. The ballast holds no
// pointers, so marking it is free, and it is never written, so it costs
// address space, not memory: the pages are never touched. As the live
// heap grows (many connections), its share shrinks and the collector
// paces as usual. Setting GOGC or GOMEMLIMIT turns it off: the operator
// then decides.
var gcBallast []byte

const gcBallastSize = 32 << 20

func reserveGCHeadroom() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcBallast = make([]byte, gcBallastSize)
}
