package h1_test

import (
	"runtime"
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling thread has used, to report
// benchmarks in CPU time on a shared machine, where wall time mostly
// measures the neighbours. The caller must hold its thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var lockThread = runtime.LockOSThread
