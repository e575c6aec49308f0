//go:build !linux

package h1_test

import (
	"runtime"
	"time"
)

func threadCPU() time.Duration { return 0 }

var lockThread = runtime.LockOSThread
