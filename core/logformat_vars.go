package core

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"luaproxy/core/sample"
	"luaproxy/netio"
	"luaproxy/netio/h1"
)

// The log-format variables (manual 8.2.4), registered with the sample
// package. Each renders from the stream being logged (sample.Ctx.Stream);
// a missing value is "-" (`""` with +Q), as HAProxy's lf_text writes it.

// logState is what the variables of one log line share: the time the
// line is built and the proxy's log counter.
type logState struct {
	now   time.Time
	count int64
	// asap marks an "option logasap" line, sent when the response
	// headers came: bytesOut is then %B, %U is 0 and the stream is still
	// counted on its backend and server.
	asap     bool
	bytesOut int64
}

func init() {
	reg := func(name string, fn func(s *Stream, ls *logState, dst []byte, o sample.FormatOpts) []byte) {
		sample.RegisterLogVar(name, func(ctx *sample.Ctx, dst []byte, o sample.FormatOpts) ([]byte, bool) {
			s, _ := ctx.Stream.(*Stream)
			if s == nil {
				return lfText(dst, "", false, o), true
			}
			ls := extOf(s).log
			if ls == nil {
				ls = &logState{now: time.Now()}
			}
			return fn(s, ls, dst, o), true
		})
	}
	str := func(name string, fn func(s *Stream) (string, bool)) {
		reg(name, func(s *Stream, _ *logState, dst []byte, o sample.FormatOpts) []byte {
			v, ok := fn(s)
			return lfText(dst, v, ok, o)
		})
	}
	num := func(name string, fn func(s *Stream, ls *logState) int64) {
		reg(name, func(s *Stream, ls *logState, dst []byte, o sample.FormatOpts) []byte {
			return strconv.AppendInt(dst, fn(s, ls), 10)
		})
	}
	// partial is num for the values "option logasap" marks with a '+'
	// (HAProxy: the frontend does not wait for LW_BYTES), in every line
	// of the frontend: they may not be final.
	partial := func(name string, fn func(s *Stream, ls *logState) int64) {
		reg(name, func(s *Stream, ls *logState, dst []byte, o sample.FormatOpts) []byte {
			if s.Frontend.Options.LogASAP {
				dst = append(dst, '+')
			}
			return strconv.AppendInt(dst, fn(s, ls), 10)
		})
	}
	// addresses
	str("ci", func(s *Stream) (string, bool) { return addrText(s.SampleCtx().Src) })
	num("cp", func(s *Stream, _ *logState) int64 { return int64(s.SampleCtx().Src.Port()) })
	str("fi", func(s *Stream) (string, bool) { return addrText(s.SampleCtx().Dst) })
	num("fp", func(s *Stream, _ *logState) int64 { return int64(s.SampleCtx().Dst.Port()) })
	str("bi", func(s *Stream) (string, bool) {
		if s.ServerConn == nil {
			return "", false
		}
		return addrText(addrPortOf(s.ServerConn.LocalAddr()))
	})
	num("bp", func(s *Stream, _ *logState) int64 {
		if s.ServerConn == nil {
			return 0
		}
		return int64(addrPortOf(s.ServerConn.LocalAddr()).Port())
	})
	str("si", func(s *Stream) (string, bool) {
		h, _, ok := serverHostPort(s)
		return h, ok
	})
	num("sp", func(s *Stream, _ *logState) int64 {
		_, p, _ := serverHostPort(s)
		return int64(p)
	})
	// names
	str("f", func(s *Stream) (string, bool) { return s.Frontend.Name, true })
	str("ft", func(s *Stream) (string, bool) {
		if s.clientTLS() != nil {
			return s.Frontend.Name + "~", true // HAProxy compat: '~' marks TLS
		}
		return s.Frontend.Name, true
	})
	str("b", func(s *Stream) (string, bool) {
		if s.Backend != nil {
			return s.Backend.Name, true
		}
		return s.Frontend.Name, true
	})
	str("s", func(s *Stream) (string, bool) {
		if s.Server != nil {
			return s.Server.Name, true
		}
		x := extOf(s)
		if x.applet != "" {
			return x.applet, true
		}
		if x.target != nil {
			return x.target.Name, true
		}
		return "<NOSRV>", true
	})
	str("H", func(*Stream) (string, bool) {
		h, err := os.Hostname()
		return h, err == nil
	})
	num("pid", func(*Stream, *logState) int64 { return int64(os.Getpid()) })
	num("rt", func(s *Stream, _ *logState) int64 { return int64(s.ID) })
	num("lc", func(_ *Stream, ls *logState) int64 { return ls.count })
	str("ID", func(*Stream) (string, bool) { return "", false })
	str("sslc", func(s *Stream) (string, bool) {
		if tc := s.clientTLS(); tc != nil {
			return opensslCipherName(tc.ConnectionState().CipherSuite), true
		}
		return "", false
	})
	str("sslv", func(s *Stream) (string, bool) {
		if tc := s.clientTLS(); tc != nil {
			return tlsVersionName(tc.ConnectionState().Version), true
		}
		return "", false
	})
	// dates
	date := func(name string, at func(s *Stream) time.Time, layout string, utc bool) {
		if alias, ok := logVarAliases[name]; ok {
			name = alias
		}
		reg(name, func(s *Stream, _ *logState, dst []byte, _ sample.FormatOpts) []byte {
			t := at(s)
			if utc {
				t = t.UTC()
			}
			return t.AppendFormat(dst, layout)
		})
	}
	accept := func(s *Stream) time.Time { return s.Start }
	request := func(s *Stream) time.Time {
		if tx := s.HTTP; tx != nil && !tx.start.IsZero() {
			return tx.start
		}
		return s.Start
	}
	date("t", accept, "02/Jan/2006:15:04:05.000", false)
	date("tr", request, "02/Jan/2006:15:04:05.000", false)
	date("trg", request, "02/Jan/2006:15:04:05 -0700", true)
	date("trl", request, "02/Jan/2006:15:04:05 -0700", false)
	date("T", accept, "02/Jan/2006:15:04:05 -0700", true)
	date("Tl", accept, "02/Jan/2006:15:04:05 -0700", false)
	reg("ms", func(s *Stream, _ *logState, dst []byte, _ sample.FormatOpts) []byte {
		ms := s.Start.Nanosecond() / 1e6
		return append(dst, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	})
	num("Ts", func(s *Stream, _ *logState) int64 { return s.Start.Unix() })
	// timers
	for _, t := range []string{"Th", "Ti", "TR", "Tq", "Tw", "Tc", "Tr", "Ta", "Tt", "Td", "Tu"} {
		t := t
		f := num
		if t == "Ta" || t == "Tt" || t == "Tu" {
			f = partial
		}
		f(t, func(s *Stream, ls *logState) int64 { return timer(s, ls, t) })
	}
	// status, sizes, state
	reg("ST", func(s *Stream, _ *logState, dst []byte, o sample.FormatOpts) []byte {
		switch {
		case s.HTTP == nil:
			return lfText(dst, "", false, o)
		case s.HTTP.Status == 0:
			// HAProxy compat: txn->status is -1 until a status is known
			// (a request aborted before any response)
			return append(dst, "-1"...)
		}
		return strconv.AppendInt(dst, int64(s.HTTP.Status), 10)
	})
	partial("B", func(s *Stream, ls *logState) int64 {
		if ls.asap {
			return ls.bytesOut
		}
		return bytesOut(s)
	})
	num("U", func(s *Stream, ls *logState) int64 {
		if ls.asap {
			return 0 // HAProxy compat: bytes_in is only updated at the end
		}
		return bytesIn(s)
	})
	reg("ts", func(s *Stream, _ *logState, dst []byte, _ sample.FormatOpts) []byte {
		t := termState(s)
		return append(dst, t[0], t[1])
	})
	reg("tsc", func(s *Stream, _ *logState, dst []byte, _ sample.FormatOpts) []byte {
		t := termState(s)
		c3, c4 := cookieTermChars(s)
		return append(dst, t[0], t[1], c3, c4)
	})
	num("ac", func(s *Stream, _ *logState) int64 {
		var n int64
		for _, px := range s.Engine.Proxies {
			if px.Cap&CapFE != 0 {
				n += px.Conns.Load()
			}
		}
		return n
	})
	num("fc", func(s *Stream, _ *logState) int64 { return s.Frontend.Conns.Load() })
	num("bc", func(s *Stream, ls *logState) int64 {
		if s.Backend == nil {
			return 0
		}
		n := s.Backend.BeConns.Load()
		if countsOnBackend(s) && !ls.asap {
			n-- // HAProxy logs once the stream left the backend
		}
		return max(n, 0)
	})
	num("sc", func(s *Stream, ls *logState) int64 {
		if s.Server == nil {
			return 0
		}
		if ls.asap {
			return s.Server.Conns.Load()
		}
		return max(s.Server.Conns.Load()-1, 0)
	})
	num("rc", func(s *Stream, _ *logState) int64 {
		if t := termState(s); t[0] == 'S' && t[1] == 'C' && s.Backend != nil {
			return int64(s.Backend.Retries)
		}
		return 0
	})
	num("sq", func(s *Stream, _ *logState) int64 { return s.fx.queue.srv })
	num("bq", func(s *Stream, _ *logState) int64 { return s.fx.queue.be })
	// captures
	str("CC", func(*Stream) (string, bool) { return "", false })
	str("CS", func(*Stream) (string, bool) { return "", false })
	caps := func(name string, res, list bool) {
		reg(name, func(s *Stream, _ *logState, dst []byte, o sample.FormatOpts) []byte {
			decls := pxExtOf(s.Frontend).reqCaps
			vals := extOf(s).reqCaps
			if res {
				decls, vals = pxExtOf(s.Frontend).resCaps, extOf(s).resCaps
			}
			if len(decls) == 0 || s.HTTP != nil && !extOf(s).seen {
				return dst // HAProxy compat: nothing for a <BADREQ>
			}
			if !list {
				dst = append(dst, '{')
			}
			for i := range decls {
				if i > 0 {
					if list {
						dst = append(dst, ' ')
					} else {
						dst = append(dst, '|')
					}
				}
				v := capValue{}
				if i < len(vals) {
					v = vals[i]
				}
				if list {
					dst = lfText(dst, v.v, v.set && v.v != "", o)
				} else {
					dst = appendEscaped(dst, v.v, o)
				}
			}
			if !list {
				dst = append(dst, '}')
			}
			return dst
		})
	}
	caps("hr", false, false)
	caps("hs", true, false)
	caps("hrl", false, true)
	caps("hsl", true, true)
	// the request line, as received
	str("r", func(s *Stream) (string, bool) {
		if l := extOf(s).reqLine; l[0] != "" {
			return l[0] + " " + l[1] + " " + l[2], true
		}
		return "<BADREQ>", true
	})
	part := func(name string, fn func(method, uri, ver string) (string, bool)) {
		str(name, func(s *Stream) (string, bool) {
			l := extOf(s).reqLine
			if l[0] == "" {
				if name != "HQ" {
					return "<BADREQ>", true // HAProxy compat: no valid request
				}
				return "", false
			}
			return fn(l[0], l[1], l[2])
		})
	}
	part("HM", func(m, _, _ string) (string, bool) { return m, true })
	part("HU", func(_, u, _ string) (string, bool) { return u, true })
	part("HV", func(_, _, v string) (string, bool) { return v, true })
	part("HP", func(_, u, _ string) (string, bool) {
		p, _, _ := strings.Cut(u, "?")
		return p, true
	})
	part("HPO", func(_, u, _ string) (string, bool) {
		p, _, _ := strings.Cut(u, "?")
		if i := strings.Index(p, "://"); i >= 0 {
			if j := strings.IndexByte(p[i+3:], '/'); j >= 0 {
				p = p[i+3+j:]
			}
		}
		return p, true
	})
	part("HQ", func(_, u, _ string) (string, bool) {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			return u[i:], true
		}
		return "", true
	})
}

// lfText writes a text value as HAProxy's lf_text: "-" when missing,
// quoted with +Q, escaped with +E.
func lfText(dst []byte, v string, ok bool, o sample.FormatOpts) []byte {
	q := o&sample.OptQuote != 0
	if !ok {
		if q {
			return append(dst, '"', '"')
		}
		return append(dst, '-')
	}
	if q {
		dst = append(dst, '"')
	}
	dst = appendEscaped(dst, v, o)
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func appendEscaped(dst []byte, v string, o sample.FormatOpts) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if o&sample.OptEscape != 0 && (c == '"' || c == '\\' || c == ']') {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

func addrText(a netip.AddrPort) (string, bool) {
	if !a.IsValid() {
		return "unix", true
	}
	return a.Addr().Unmap().String(), true
}

func serverHostPort(s *Stream) (string, uint16, bool) {
	if s.Server == nil {
		return "", 0, false
	}
	a, _ := s.Server.dialAddr()
	h, p, err := net.SplitHostPort(a.Address)
	if err != nil {
		return "", 0, false
	}
	n, _ := strconv.Atoi(p)
	return h, uint16(n), true
}

// countsOnBackend tells whether the stream is still counted in its
// backend's be_conn when the line is built (the HTTP log is sent while
// the request is being forwarded; HAProxy's once it is over).
func countsOnBackend(s *Stream) bool {
	if s.Backend == nil || s.Backend.Cap&CapBE == 0 || s.service != nil {
		return false
	}
	if s.HTTP == nil {
		return false // TCP mode logs after the backend was left
	}
	return extOf(s).term[1] != 'R'
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// timer returns the %T* timer t in milliseconds, -1 for a step never
// reached, computed as HAProxy's sess_build_logline does: each step is
// counted in whole milliseconds from the transaction's start (the accept,
// or the end of the previous response), and a timer is the difference of
// two steps, so that they add up to %Tt.
func timer(s *Stream, ls *logState, t string) int64 {
	x := extOf(s)
	tx := s.HTTP
	if tx == nil {
		return tcpTimer(s, x, ls, t)
	}
	at := func(tm time.Time) int64 {
		if tm.IsZero() {
			return -1
		}
		return ms(tm.Sub(tx.start))
	}
	// %Th is the TLS handshake, before the first request only; %Ti
	// starts after it
	th := int64(0)
	if tx.First {
		th = ms(s.hsTime)
	}
	ti := at(tx.recvAt)
	if ti >= th {
		ti -= th
	}
	treq := at(tx.headAt)
	tqueue, tconn := at(x.queueAt), at(x.connAt)
	tdata := int64(-1)
	if tx.srvTime > 0 {
		tdata = ms(tx.srvTime)
	}
	tclose := ms(ls.now.Sub(tx.start))
	switch t {
	case "Th":
		return th
	case "Ti":
		return ti
	case "TR":
		if treq < 0 || ti < 0 {
			return -1
		}
		return treq - ti - th
	case "Tq":
		return treq
	case "Tw":
		if tqueue < 0 {
			return -1
		}
		return tqueue - treq
	case "Tc":
		if tconn < 0 {
			return -1
		}
		return tconn - tqueue
	case "Tr":
		if tdata < 0 {
			return -1
		}
		return tdata - tconn
	case "Td":
		if tdata < 0 {
			return -1
		}
		return tclose - tdata
	case "Ta":
		return tclose - max(ti+th, 0)
	case "Tu":
		return tclose - max(ti, 0)
	}
	return tclose // Tt
}

// tcpTimer is timer for a TCP stream, counted from the accept.
func tcpTimer(s *Stream, x *streamExt, ls *logState, t string) int64 {
	at := func(tm time.Time) int64 {
		if tm.IsZero() {
			return -1
		}
		return ms(tm.Sub(s.Start))
	}
	tqueue, tconn := at(x.queueAt), at(x.connAt)
	tclose := ms(ls.now.Sub(s.Start))
	switch t {
	case "Tw":
		if tqueue < 0 {
			return -1
		}
		// HAProxy compat: 2.6 subtracts the request time, -1 in TCP, so
		// that a TCP stream's %Tw is one more than its queue time.
		return tqueue + 1
	case "Tc":
		if tconn < 0 {
			return -1
		}
		return tconn - tqueue
	case "Td":
		if tconn < 0 {
			return -1
		}
		return tclose - tconn
	case "Tt", "Ta", "Tu":
		return tclose
	}
	return 0 // Th; Ti, TR, Tq and Tr are HTTP-only
}

// termState returns the termination state (%ts): who ended the stream
// and at which step, "--" for a normal end.
func termState(s *Stream) [2]byte {
	x := extOf(s)
	if x.term[0] != 0 {
		return x.term
	}
	if tx := s.HTTP; tx != nil {
		if tx.srvTime == 0 && s.Backend != nil && s.service == nil {
			switch tx.Status {
			case 503:
				return [2]byte{'S', 'C'}
			case 502:
				return [2]byte{'S', 'H'}
			case 504:
				return [2]byte{'s', 'H'}
			}
		}
		return [2]byte{'-', '-'}
	}
	if s.Backend != nil && x.connAt.IsZero() && s.service == nil {
		return [2]byte{'S', 'C'}
	}
	if x.fwdDone {
		switch x.fwd.Timeout {
		case netio.SideClient:
			return [2]byte{'c', 'D'}
		case netio.SideServer:
			return [2]byte{'s', 'D'}
		}
	}
	return [2]byte{'-', '-'}
}

// bytesOut is %B: the bytes sent to the client.
func bytesOut(s *Stream) int64 {
	if tx := s.HTTP; tx != nil {
		return inBytes(&tx.Res, tx.resHeadIn) + tx.resExtra
	}
	return extOf(s).fwd.ToClient
}

// bytesIn is %U: the bytes received from the client.
func bytesIn(s *Stream) int64 {
	if tx := s.HTTP; tx != nil {
		return inBytes(&tx.Req, tx.reqHeadIn)
	}
	return extOf(s).fwd.ToServer
}

// msgBytes is the size HAProxy counts for a message (bytes_in/out, %B,
// %U): that of its HTX form, not of the HTTP/1 bytes. The start line is
// a 20-byte header and its three strings, a header its name and value,
// the end of headers one byte, then the body (when its length is known).
// A message with a body but no content-length header (a local reply)
// counts the one its serialization adds.
func msgBytes(m *h1.Message) int64 {
	if m.Status == 0 && m.Method == "" {
		return 0
	}
	n := headBytes(m)
	if m.ContentLength > 0 {
		n += m.ContentLength
	}
	return n
}

// inBytes is msgBytes of m as it was received: HAProxy counts a message
// as it enters its channel (req.total, res.total), before the rules
// rewrite its head and before its H1 mux adds a connection header. head
// is the HTX size of the head as received (headBytes then), 0 for a
// message made here (a local reply), counted as it is.
func inBytes(m *h1.Message, head int64) int64 {
	if head == 0 {
		return msgBytes(m)
	}
	if m.ContentLength > 0 {
		head += m.ContentLength
	}
	return head
}

// headBytes is the HTX size of a message's head (msgBytes without the
// body).
func headBytes(m *h1.Message) int64 {
	const slHead, eoh = 20, 1
	n := slHead + eoh + len(m.Version)
	if m.IsResponse {
		reason := m.Reason
		if reason == "" {
			reason = Reason(m.Status) // what a local reply is sent with
		}
		n += decimalLen(int64(m.Status)) + len(reason)
	} else {
		n += len(m.Method) + len(m.URI)
	}
	hasCL := false
	for _, h := range m.Headers {
		n += len(h.Name) + len(h.Value)
		hasCL = hasCL || h1.EqualFold(h.Name, "content-length")
	}
	if m.ContentLength >= 0 && !hasCL && m.IsResponse && m.Framing != h1.FramingChunked {
		n += len("content-length") + decimalLen(m.ContentLength)
	}
	return int64(n)
}

// decimalLen is len(strconv.FormatInt(v, 10)), without making the string.
func decimalLen(v int64) int {
	n, u := 1, uint64(v)
	if v < 0 {
		n, u = 2, -u
	}
	for ; u >= 10; u /= 10 {
		n++
	}
	return n
}

// connTokenBytes is what stripConnTokens takes from m's head: HAProxy's
// H1 parser drops the "close" and "keep-alive" tokens of a Connection
// header, and the header when nothing else is left.
func connTokenBytes(m *h1.Message) int64 {
	var n int
	for _, h := range m.Headers {
		if !h1.EqualFold(h.Name, "connection") {
			continue
		}
		kept := keptConnTokens(h.Value)
		n += len(h.Name) + len(h.Value)
		if len(kept) > 0 {
			n -= len(h.Name) + len(strings.Join(kept, ", "))
		}
	}
	return int64(n)
}

// bufferedBody is the size in HTX of the body bytes of m already read
// into br, after its head: the data of a Content-Length or close-framed
// body, the chunks' data of a chunked one.
func bufferedBody(m *h1.Message, br *h1.Reader) int64 {
	b := br.Peek()
	switch m.Framing {
	case h1.FramingLength:
		return min(int64(len(b)), max(m.ContentLength, 0))
	case h1.FramingClose:
		return int64(len(b))
	case h1.FramingChunked:
		var n int64
		for len(b) > 0 {
			eol := bytes.IndexByte(b, '\n')
			if eol < 0 {
				break
			}
			size, ok := int64(0), false
			for _, c := range b[:eol] {
				v := strings.IndexByte("0123456789abcdef", c|0x20)
				if v < 0 || size > 1<<40 {
					break
				}
				size, ok = size*16+int64(v), true
			}
			if !ok || size == 0 {
				break
			}
			b = b[eol+1:]
			if int64(len(b)) < size {
				return n + int64(len(b))
			}
			n += size
			b = b[size:]
			if len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
				b = b[2:]
			} else if len(b) >= 1 && b[0] == '\n' {
				b = b[1:]
			}
		}
		return n
	}
	return 0
}
