package h1

import (
	"iter"
	"strconv"
	"strings"
)

// requestFraming: a request has a body only when it says so; CONNECT never
// has one (HAProxy compat: its Content-Length and chunked are ignored).
func (m *Message) requestFraming() Framing {
	switch {
	case m.Method == "CONNECT":
		return FramingNone
	case m.Chunked:
		return FramingChunked
	case m.ContentLength >= 0:
		return FramingLength
	}
	return FramingNone
}

// responseFraming applies RFC 7230 §3.3.3 as HAProxy 2.6 does.
func (m *Message) responseFraming(reqMethod string) Framing {
	switch {
	case reqMethod == "CONNECT" && 200 <= m.Status && m.Status < 300, m.Status == 101:
		return FramingTunnel
	case reqMethod == "HEAD", 100 <= m.Status && m.Status < 200, m.Status == 204, m.Status == 304:
		return FramingNone
	case m.Chunked:
		return FramingChunked
	case m.ContentLength >= 0:
		return FramingLength
	}
	return FramingClose
}

// IsHTTP11 reports whether the version is 1.1 or above ("HTTP/1.1",
// "HTTP/2.0"), HAProxy's test for keep-alive by default.
func (m *Message) IsHTTP11() bool {
	v := m.Version
	return len(v) == 8 && (v[5] > '1' || v[5] == '1' && v[7] >= '1')
}

// KeepAlive reports whether the connection may carry another message
// after this one: not after "Connection: close" or a framing that forces
// a close, nor after a response delimited by the close; for HTTP/1.1
// otherwise; for HTTP/1.0 only with "Connection: keep-alive". Connection
// headers added or edited since parsing count too.
func (m *Message) KeepAlive() bool {
	c := m.Conn
	for i := range m.Headers {
		// most messages have no Connection header: no iterator then
		if EqualFold(m.Headers[i].Name, "Connection") {
			c |= connTokens(m)
			break
		}
	}
	switch {
	case c&(ConnClose|ConnForceClose) != 0, m.IsResponse && m.Framing == FramingClose:
		return false
	case m.IsHTTP11():
		return true
	}
	return c&ConnKeepAlive != 0
}

// connTokens returns the connection options of m's Connection headers.
func connTokens(m *Message) ConnFlags {
	var c ConnFlags
	for tok := range m.Tokens("Connection") {
		switch {
		case EqualFold(tok, "close"):
			c |= ConnClose
		case EqualFold(tok, "keep-alive"):
			c |= ConnKeepAlive
		}
	}
	return c
}

// Tokens yields the elements of every header named name (case-insensitive)
// as comma-separated lists: blanks around elements are removed, commas in
// quoted strings do not separate, empty elements are skipped.
func (m *Message) Tokens(name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, h := range m.Headers {
			if !EqualFold(h.Name, name) {
				continue
			}
			for v := h.Value; v != ""; {
				n := listElemEnd(v)
				tok := strings.Trim(v[:n], " \t")
				if tok != "" && !yield(tok) {
					return
				}
				if n == len(v) {
					break
				}
				v = v[n+1:]
			}
		}
	}
}

// HasToken reports whether a header named name lists token, both compared
// case-insensitively ("Connection", "upgrade").
func (m *Message) HasToken(name, token string) bool {
	for tok := range m.Tokens(name) {
		if EqualFold(tok, token) {
			return true
		}
	}
	return false
}

// ExpectContinue reports whether an HTTP/1.1 request asks for a 100
// Continue before sending its body.
func (m *Message) ExpectContinue() bool {
	return !m.IsResponse && m.IsHTTP11() && m.HasToken("Expect", "100-continue")
}

// IsConnect reports whether m is a CONNECT request.
func (m *Message) IsConnect() bool { return !m.IsResponse && m.Method == "CONNECT" }

// IsUpgrade reports whether a request asks for a protocol upgrade
// ("Connection: upgrade" and an Upgrade header), or a response is the 101
// accepting one.
func (m *Message) IsUpgrade() bool {
	if m.IsResponse {
		return m.Status == 101
	}
	_, ok := m.Get("Upgrade")
	return ok && (m.Conn&ConnUpgrade != 0 || m.HasToken("Connection", "upgrade"))
}

// Host returns the request's host: the Host header, or else the authority
// of an absolute-form or CONNECT target (user info removed); "" if none.
func (m *Message) Host() string {
	if h, ok := m.Get("Host"); ok {
		return h
	}
	_, auth, _, ok := splitTarget([]byte(m.URI))
	if !ok {
		return ""
	}
	return string(auth)
}

// SetContentLength makes the body n bytes long: a Content-Length header
// replaces any Transfer-Encoding, and the framing fields follow.
func (m *Message) SetContentLength(n int64) {
	m.Del("Transfer-Encoding")
	m.Set("Content-Length", strconv.FormatInt(n, 10))
	m.ContentLength, m.Chunked = n, false
}

// SetChunked makes the body chunked: "Transfer-Encoding: chunked" replaces
// any Content-Length and Transfer-Encoding, and the framing fields follow.
func (m *Message) SetChunked() {
	m.Del("Content-Length")
	m.Set("Transfer-Encoding", "chunked")
	m.ContentLength, m.Chunked = -1, true
}
