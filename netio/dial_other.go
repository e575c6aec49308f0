//go:build !(linux && (amd64 || arm64))

package netio

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

func dialTCP(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	return dialStd(ap, timeout)
}

func startTCP(netip.AddrPort) (*FileConn, bool, error) { return nil, false, errors.ErrUnsupported }

func (c *FileConn) WaitConnected(time.Time) error { return errors.ErrUnsupported }

func sendNow(uintptr, []byte) (int, error) { return 0, nil }
