//go:build linux && (amd64 || arm64)

package netio

// EAGAINReads returns how many wrapped reads found their socket empty.
func EAGAINReads() int64 { return eagainReads.Load() }
