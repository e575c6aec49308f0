//go:build !(linux && (amd64 || arm64))

package netio

import "net"

// newPollConn has no faster path on this platform.
func newPollConn(net.Conn, Wait) *pollConn { return nil }

// pollConn is not made on this platform.
type pollConn struct {
	net.Conn
	wait Wait
}

func (*pollConn) setWait(Wait) {}
