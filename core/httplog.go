package core

import (
	"fmt"
	"strings"
	"time"
)

// logHTTP sends the frontend's log line for a finished HTTP transaction
// (option httplog's format, HAProxy's fields).
func (s *Stream) logHTTP(tx *HTTPTxn) {
	fe := s.Frontend
	if len(fe.Logs) == 0 {
		return
	}
	now := time.Now()
	src := addrPortOf(s.Client.RemoteAddr())
	be, srv := "<NOSRV>", "<NOSRV>"
	if s.Backend != nil {
		be = s.Backend.Name
	}
	if s.Server != nil {
		srv = s.Server.Name
	} else if s.Backend == nil {
		be = fe.Name
	}
	ta := now.Sub(tx.start).Milliseconds()
	tr := int64(-1)
	if tx.srvTime > 0 {
		tr = tx.srvTime.Milliseconds()
	}
	var msg string
	if fe.Options.HTTPLog {
		// %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
		// %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
		msg = fmt.Sprintf("%s:%d [%s] %s %s/%s 0/0/0/%d/%d %d %d - - ---- %d/%d/%d/%d/0 0/0 \"%s %s %s\"",
			src.Addr().Unmap(), src.Port(), tx.start.Format("02/Jan/2006:15:04:05.000"), fe.Name, be, srv,
			tr, ta, tx.Status, 0, fe.Conns.Load(), fe.Conns.Load(), beConns(s.Backend), srvConns(s.Server),
			tx.Req.Method, tx.Req.URI, tx.Req.Version)
	} else {
		msg = fmt.Sprintf("Connect from %s:%d to %s (%s/HTTP)", src.Addr().Unmap(), src.Port(),
			strings.TrimPrefix(s.Client.LocalAddr().String(), "tcp:"), fe.Name)
	}
	fe.SendLog(s.Engine, LogInfo, msg)
}

func beConns(px *Proxy) int64 {
	if px == nil {
		return 0
	}
	return px.BeConns.Load()
}

func srvConns(s *Server) int64 {
	if s == nil {
		return 0
	}
	return s.Conns.Load()
}
