//go:build !(linux && (amd64 || arm64))

package netio

import "net"

// newPollConn has no faster path on this platform.
func newPollConn(net.Conn, Wait) net.Conn { return nil }
