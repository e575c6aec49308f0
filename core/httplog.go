package core

import (
	"fmt"
	"net/netip"
	"time"
)

// logHTTP sends the frontend's log line for a finished HTTP transaction,
// in the format of its log-format or options (see logformat.go).
func (s *Stream) logHTTP(tx *HTTPTxn) {
	fe := s.Frontend
	if len(fe.Logs) == 0 || tx.monitor || tx.logged {
		return
	}
	lf := s.Engine.logFormatOf(fe)
	if lf == nil {
		src, dst := s.SampleCtx().Src, s.SampleCtx().Dst
		s.sendLogLine(LogInfo, fmt.Sprintf("Connect from %s:%d to %s (%s/HTTP)", src.Addr().Unmap(), src.Port(),
			netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port()), fe.Name))
		return
	}
	s.sendFormatted(lf, nil)
}

// logASAP sends the line of an HTTP transaction whose response headers
// came from the server and were processed, for "option logasap", as
// HAProxy's http_process_res_common does: the total time is that of the
// response headers, the bytes sent are what the response holds so far
// (its head and the body bytes received with it), the request's are not
// counted yet. sc is the server connection, whose buffer has those body
// bytes. The line is not sent again when the transaction ends.
func (s *Stream) logASAP(tx *HTTPTxn, sc *srvConn) {
	fe := s.Frontend
	if !fe.Options.LogASAP || len(fe.Logs) == 0 || tx.monitor {
		return
	}
	lf := s.Engine.logFormatOf(fe)
	if lf == nil {
		return // the legacy "Connect from" line has no byte count
	}
	out := headBytes(&tx.Res) - connTokenBytes(&tx.Res) + bufferedBody(&tx.Res, sc.br)
	ls := &logState{now: tx.start.Add(tx.srvTime), asap: true, bytesOut: out}
	tx.logged = s.sendFormatted(lf, ls)
}

// logTCPASAP sends the line of a TCP stream whose server connection was
// just established, for "option logasap", as HAProxy's sess_establish
// does: the total time is the connect's, nothing was counted yet (%B and
// %U 0), the stream counts on its backend and server. The line is not
// sent again when the stream ends.
func (s *Stream) logTCPASAP() {
	fe := s.Frontend
	if !fe.Options.LogASAP || len(fe.Logs) == 0 || fe.Mode == "http" {
		return
	}
	lf := s.Engine.logFormatOf(fe)
	if lf == nil {
		return
	}
	x := extOf(s)
	x.loggedASAP = s.sendFormatted(lf, &logState{now: x.connAt, asap: true})
}

// logTCP sends the frontend's log line for a finished TCP stream (option
// tcplog or a log-format); "option dontlognull" drops streams that got
// no data from the client.
func (s *Stream) logTCP() {
	fe := s.Frontend
	if len(fe.Logs) == 0 || fe.Mode == "http" {
		return
	}
	x := extOf(s)
	if x.noLog || x.loggedASAP || fe.Options.DontLogNull && x.fwd.ToServer == 0 && x.term[0] == 0 {
		return
	}
	lf := s.Engine.logFormatOf(fe)
	if lf == nil {
		return // the legacy "Connect from" line is not sent in TCP mode yet
	}
	s.sendFormatted(lf, nil)
}

// sendFormatted renders lf for the stream and sends it at the stream's
// log level; ls is the state of an early line (nil: the stream's end). It
// reports whether a line was sent.
func (s *Stream) sendFormatted(lf *logFormat, ls *logState) bool {
	x := extOf(s)
	if x.logLevel == logSilent {
		return false
	}
	o := &s.Frontend.Options
	failed := s.logError()
	if !failed && o.DontLogNormal {
		return false
	}
	px := pxExtOf(s.Frontend)
	if ls == nil {
		ls = &logState{now: time.Now()}
	}
	ls.count = px.logCount.Add(1)
	x.log = ls
	line := lf.render(s.SampleCtx(), nil)
	x.log = nil
	level := LogInfo
	switch {
	case x.logLevel >= 0:
		level = x.logLevel
	case failed && o.LogSeparateErrors:
		level = LogErr
	}
	s.sendLogLine(level, string(line))
	return true
}

// logError reports whether the stream counts as an error for "option
// dontlog-normal" and "option log-separate-errors", as HAProxy's
// strm_log decides: it ended on anything but a local answer or a normal
// close (its termination cause), its connection was retried or
// redispatched, or an HTTP response has a 5xx status.
func (s *Stream) logError() bool {
	if c := termState(s)[0]; c != '-' && c != 'L' {
		return true
	}
	if s.fx.connRetries > 0 || s.fx.redispatched {
		return true
	}
	return s.HTTP != nil && s.HTTP.Status >= 500
}

func (s *Stream) sendLogLine(level int, msg string) {
	if x := extOf(s); x.logLevel == logSilent {
		return
	} else if x.logLevel >= 0 {
		level = x.logLevel
	}
	s.Frontend.SendLog(s.Engine, level, msg)
}
