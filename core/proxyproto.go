package core

import (
	"errors"
	"io"
	"net"
	"strconv"
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
		if !s.Frontend.Options.DontLogNull {
			s.logEmbryonic(proxyHeaderError(err))
		}
		return false
	}
	if h.Src.IsValid() {
		smp := s.SampleCtx()
		smp.Src, smp.Dst = h.Src, h.Dst
	}
	return true
}

// proxyHeaderError says why a PROXY header could not be read, in
// HAProxy's words (conn_err_code_str).
func proxyHeaderError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, netio.ErrNotProxyHeader):
		return "Received something which does not look like a PROXY protocol header"
	case errors.Is(err, netio.ErrBadProxyHeader):
		return "Received an invalid PROXY protocol header"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "Truncated PROXY protocol header received"
	case errors.Is(err, io.EOF):
		return "Connection closed while waiting for PROXY protocol header"
	case errors.As(err, &ne) && ne.Timeout():
		return "Timeout while waiting for PROXY protocol header"
	}
	return "Connection error while waiting for PROXY protocol header"
}

// logEmbryonic logs a connection that failed before it became a stream,
// as HAProxy's sess_log_embryonic does: "<src>:<port> [<date>]
// <frontend>/<bind>: <why>".
func (s *Stream) logEmbryonic(why string) {
	src := s.SampleCtx().Src
	bind := bindOption(s.fx.bind, "name")
	if bind == "" {
		bind = s.fx.bind.Line.Args[1]
	}
	s.sendLogLine(LogInfo, src.Addr().Unmap().String()+":"+strconv.Itoa(int(src.Port()))+" ["+
		time.Now().Format("02/Jan/2006:15:04:05.000")+"] "+s.Frontend.Name+"/"+bind+": "+why)
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
