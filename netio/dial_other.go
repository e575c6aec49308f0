//go:build !linux

package netio

import (
	"net"
	"net/netip"
	"time"
)

func dialTCP(ap netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	return dialStd(ap, timeout)
}
