//go:build !linux

package core

// The parker (parker_linux.go) needs epoll: elsewhere a parked
// connection waits on a goroutine of its own.
type parker struct{}

type parked struct{}

func newParker(*Engine) *parker { return nil }

func (*parker) park(*HTTPConn) bool { return false }

func (*parker) stop() {}
