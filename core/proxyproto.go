package core

import (
	"errors"
	"io"
	"net"
	"time"

	"luaproxy/netio"
)

// The PROXY protocol (netio/proxyproto.go) on both sides: "bind ...
// accept-proxy" reads the header a load balancer in front sends, and the
// stream then stands for the connection it describes (src, dst: logs,
// fetches, X-Forwarded-For, balance source); "server ... send-proxy" and
// "send-proxy-v2" send one to the server.

// acceptProxy reads the PROXY header of a connection accepted on an
// accept-proxy bind, within the frontend's "timeout client", and applies
// its addresses. false ends the connection: HAProxy closes it, and logs
// the failed handshake unless "option dontlognull".
func (s *Stream) acceptProxy() bool {
	c := s.Client
	d := s.Frontend.Timeouts.Client
	if d <= 0 {
		d = time.Minute
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	h, err := netio.ReadProxyHeader(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		extOf(s).noLog = true
		s.Engine.logEmbryonic(s.Frontend, s.fx.bind, s.SampleCtx().Src, s.Start, proxyHeaderError(err))
		return false
	}
	if h.Src.IsValid() {
		smp := s.SampleCtx()
		smp.Src, smp.Dst = h.Src, h.Dst
	}
	return true
}

// proxyHeaderError classifies a PROXY header that could not be read as
// HAProxy's connection error codes do (CO_ER_PRX_*, see connErrors).
func proxyHeaderError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, netio.ErrNotProxyHeader):
		return "PRX_NOT_HDR"
	case errors.Is(err, netio.ErrBadProxyHeader):
		return "PRX_BAD_HDR"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "PRX_TRUNCATED"
	case errors.Is(err, io.EOF):
		return "PRX_EMPTY"
	case errors.As(err, &ne) && ne.Timeout():
		return "PRX_TIMEOUT"
	}
	return "PRX_ABORT"
}

// sendProxyHeader starts a new server connection with the PROXY header
// its server asks for (send-proxy, send-proxy-v2).
func (s *Stream) sendProxyHeader(srv *Server, c interface{ Write([]byte) (int, error) }) error {
	smp := s.SampleCtx()
	var b []byte
	if srv.SendProxy == 2 {
		b = netio.AppendProxyV2(nil, smp.Src, smp.Dst)
	} else {
		b = netio.AppendProxyV1(nil, smp.Src, smp.Dst)
	}
	_, err := c.Write(b)
	return err
}
