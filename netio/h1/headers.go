package h1

import "math"

// Checks on header lines as they complete, and on the whole head once it
// is complete. HAProxy compat: everything here reproduces what HAProxy
// 2.6.12 does to a head before its rules see it (see the differential
// facts in facts_test.go): duplicate Content-Length and Host lines are
// dropped, "close" and "keep-alive" leave the Connection header, a
// Content-Length next to a Transfer-Encoding is removed.

// header records the header line sol..eol, checking the headers that
// frame the message.
func (p *parser) header(b []byte) *Error {
	sov, eol := p.sov, p.eol
	for sov < eol && isLWS(b[sov]) {
		sov++
	}
	for eol-1 > sov && isLWS(b[eol-1]) {
		eol--
	}
	h := rawHeader{name: span{p.sol, p.col}, value: span{sov, eol}}
	if len(p.hdrs) >= p.lim.MaxHeaders {
		return p.fail(ErrTooManyHeaders, "too many headers", p.sol)
	}
	name := h.name.of(b)
	switch len(name) {
	case len("transfer-encoding"):
		if equalFold(name, "transfer-encoding") {
			if err := p.transferEncoding(h.value.of(b), sov); err != nil {
				return err
			}
		}
	case len("content-length"):
		if equalFold(name, "content-length") {
			first, err := p.contentLength(b, &h.value)
			if err != nil || !first {
				return err
			}
		}
	case len("connection"):
		if equalFold(name, "connection") {
			p.connection(b, &h.value)
			if h.value.len() == 0 {
				return nil
			}
		}
	case len("upgrade"):
		if equalFold(name, "upgrade") {
			p.flags &^= fUpgWebSocket
			forEachElem(h.value.of(b), func(e []byte, _, _ int) bool {
				if equalFold(e, "websocket") {
					p.flags |= fUpgWebSocket
				}
				return true
			})
		}
	case len("host"):
		if p.mode != modeResponse && equalFold(name, "host") {
			if p.hostIdx >= 0 {
				if !equalFoldBytes(h.value.of(b), p.hdrs[p.hostIdx].value.of(b)) {
					return p.fail(ErrHost, "several different Host headers", sov)
				}
				return nil
			}
			p.hostIdx = len(p.hdrs)
		}
	}
	p.hdrs = append(p.hdrs, h)
	return nil
}

// contentLength checks a Content-Length value: a comma-separated list of
// equal decimal numbers, equal to any earlier Content-Length. The value is
// narrowed to its last number; it reports whether this is the first
// Content-Length (later ones are dropped).
func (p *parser) contentLength(b []byte, v *span) (bool, *Error) {
	first := p.flags&fCL == 0
	base, s := v.off, v.of(b)
	bad := func(i int) (bool, *Error) {
		return false, p.fail(ErrContentLength, "invalid Content-Length", base+i)
	}
	for i := 0; ; {
		for i < len(s) && isLWS(s[i]) {
			i++
		}
		if i == len(s) {
			return bad(i)
		}
		start := i
		var n int64
		for ; i < len(s) && isDigit(s[i]); i++ {
			// Deviation: HAProxy takes up to 2^64-1, we refuse what does
			// not fit an int64 (nobody sends 8 EiB).
			d := int64(s[i] - '0')
			if n > (math.MaxInt64-d)/10 {
				return bad(i)
			}
			n = n*10 + d
		}
		if i == start {
			return bad(i)
		}
		end := i
		for i < len(s) && isLWS(s[i]) {
			i++
		}
		if i < len(s) && s[i] != ',' {
			return bad(i)
		}
		if p.flags&fCL != 0 && n != p.cl {
			return bad(start)
		}
		p.flags |= fCL
		p.cl = n
		*v = span{base + start, base + end}
		if i == len(s) {
			return first, nil
		}
		i++
	}
}

// transferEncoding checks a Transfer-Encoding value: "chunked" at most
// once and, in a request, last.
func (p *parser) transferEncoding(s []byte, base int) *Error {
	p.flags |= fTE
	var err *Error
	forEachElem(s, func(e []byte, start, _ int) bool {
		p.flags &^= fChunkedLast
		switch {
		case equalFold(e, "chunked"):
			if p.flags&fTEChunked != 0 {
				err = p.fail(ErrTransferEncoding, "chunked applied twice", base+start)
				return false
			}
			p.flags |= fTEChunked | fChunkedLast
		case p.flags&fTEChunked != 0 && p.mode != modeResponse:
			err = p.fail(ErrTransferEncoding, "coding after chunked in a request", base+start)
			return false
		default:
			p.flags |= fTEOther
		}
		return true
	})
	return err
}

// connection notes the close, keep-alive and upgrade options of a
// Connection value and, in a head, removes close and keep-alive from it
// in place: elements are kept as written until one is removed, then
// joined by bare commas ("a, close, b" becomes "a,b").
func (p *parser) connection(b []byte, v *span) {
	clean := p.mode != modeTrailers
	s := v.of(b)
	out, last := 0, 0 // bytes kept at s[:out]; end of the previous element
	forEachElem(s, func(e []byte, _, end int) bool {
		switch {
		case equalFold(e, "keep-alive"):
			p.flags |= fConnKeepAlive
			if clean {
				last = end
				return true
			}
		case equalFold(e, "close"):
			p.flags |= fConnClose
			if clean {
				last = end
				return true
			}
		case equalFold(e, "upgrade"):
			p.flags |= fConnUpgrade
		}
		if out == last {
			out = end // nothing removed yet: keep the text as it is
		} else {
			if out > 0 {
				s[out] = ','
				out++
			}
			out += copy(s[out:], e)
		}
		last = end
		return true
	})
	if clean {
		v.end = v.off + out
	}
}

// finish runs the checks that need the whole head.
func (p *parser) finish(b []byte) *Error {
	if len(p.hdrs) >= p.lim.MaxHeaders { // the end of headers takes a slot too
		return p.fail(ErrTooManyHeaders, "too many headers", p.sol)
	}
	if p.mode == modeRequest {
		if err := p.checkTarget(b); err != nil {
			return err
		}
	}
	if p.flags&fTE != 0 {
		if p.flags&fCL != 0 {
			// Request smuggling guard: Transfer-Encoding wins, the
			// Content-Length lines go, the connection closes after.
			p.flags = p.flags&^fCL | fForceClose
			p.cl = 0
			for i := range p.hdrs {
				if equalFold(p.hdrs[i].name.of(b), "content-length") {
					p.hdrs[i].drop = true
				}
			}
		} else if p.flags&fVer11 == 0 {
			p.flags |= fForceClose
		}
		if p.flags&fChunkedLast == 0 && p.mode != modeResponse {
			return p.fail(ErrTransferEncoding, "Transfer-Encoding without chunked last", p.pos)
		}
	}
	if p.mode == modeTrailers {
		return nil
	}
	if p.mode == modeResponse && (p.status == 204 || p.status < 200) && p.flags&(fCL|fTE) != 0 {
		// HAProxy compat: a response that has no body loses its
		// Content-Length and Transfer-Encoding lines (checked for 204)
		p.flags &^= fCL | fTE | fChunkedLast
		p.cl = 0
		for i := range p.hdrs {
			if n := p.hdrs[i].name.of(b); equalFold(n, "content-length") || equalFold(n, "transfer-encoding") {
				p.hdrs[i].drop = true
			}
		}
	}
	if !p.validVersion(b) {
		return p.fail(ErrVersion, "invalid HTTP version", p.versionSpan().off)
	}
	if p.htxSize(b) > p.lim.MaxHead {
		return p.fail(ErrHeadTooLarge, "head too large", p.pos)
	}
	if p.mode == modeRequest && p.flags&fVer11 == 0 &&
		(p.flags&fCL != 0 && p.cl > 0 || p.flags&fChunkedLast != 0) {
		switch string(p.line[0].of(b)) {
		case "GET", "HEAD", "DELETE":
			e := p.fail(ErrBodyNotAllowed, "HTTP/1.0 GET, HEAD or DELETE with a body", p.pos)
			e.Status = 413
			return e
		}
	}
	if p.flags&fTEOther != 0 {
		e := p.fail(ErrUnknownCoding, "transfer coding other than chunked", p.pos)
		if p.mode == modeRequest {
			e.Status = 422
		}
		return e
	}
	if err := p.checkWebSocket(b); err != nil {
		return err
	}
	if p.mode == modeRequest {
		p.normalizeTarget(b)
	}
	return nil
}

// validVersion: "HTTP/" digit "." digit for requests; for responses any
// 4 version bytes, "/", digit, ".", digit (HAProxy compat).
func (p *parser) validVersion(b []byte) bool {
	v := p.versionSpan().of(b)
	if len(v) != 8 || v[4] != '/' || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return false
	}
	return p.mode == modeResponse || string(v[:4]) == "HTTP"
}

func (p *parser) htxSize(b []byte) int {
	n := htxFixed + htxEOH + p.line[0].len() + p.line[1].len() + p.line[2].len()
	for _, h := range p.hdrs {
		if !h.drop {
			n += htxBlock + h.name.len() + h.value.len()
		}
	}
	return n
}

// checkWebSocket: a WebSocket upgrade request needs a 24-byte
// Sec-WebSocket-Key, a 101 answer to it a Sec-WebSocket-Accept.
func (p *parser) checkWebSocket(b []byte) *Error {
	if p.flags&(fConnUpgrade|fUpgWebSocket) != fConnUpgrade|fUpgWebSocket ||
		p.mode == modeResponse && p.status != 101 {
		return nil
	}
	for _, h := range p.hdrs {
		name := h.name.of(b)
		if p.mode == modeRequest && h.value.len() == 24 && equalFold(name, "sec-websocket-key") ||
			p.mode == modeResponse && equalFold(name, "sec-websocket-accept") {
			return nil
		}
	}
	return p.fail(ErrWebSocket, "WebSocket handshake without a valid key", p.pos)
}

// build fills m from the complete head b, the bytes the parser ran on:
// one string holds the whole head, the fields are slices of it. m's
// slices are reused: the header entries are overwritten rather than
// cleared first.
func (p *parser) build(m *Message, b []byte) {
	hs, old, trailers, body := m.Headers[:0], len(m.Headers), m.Trailers, m.Body
	clear(trailers)
	*m = Message{Trailers: trailers[:0], Body: body[:0], ContentLength: -1}
	s := string(b[p.skip:p.pos])
	at := func(sp span) string { return s[sp.off-p.skip : sp.end-p.skip] }
	if p.mode == modeResponse {
		m.IsResponse = true
		m.Version, m.Status, m.Reason = at(p.line[0]), p.status, at(p.line[2])
	} else {
		m.Method, m.URI, m.Version = at(p.line[0]), at(p.line[1]), at(p.line[2])
	}
	m.Headers = p.appendHeaders(hs, s, p.skip)
	if n := len(m.Headers); n < old {
		clear(m.Headers[n:old]) // drop references to an older head
	}
	if p.flags&fCL != 0 {
		m.ContentLength = p.cl
	}
	m.Chunked = p.flags&fChunkedLast != 0
	if p.flags&fConnClose != 0 {
		m.Conn |= ConnClose
	}
	if p.flags&fConnKeepAlive != 0 {
		m.Conn |= ConnKeepAlive
	}
	if p.flags&fConnUpgrade != 0 {
		m.Conn |= ConnUpgrade
	}
	if p.flags&fForceClose != 0 {
		m.Conn |= ConnForceClose
	}
}

// buildTrailers fills m.Trailers from the complete trailer block b.
func (p *parser) buildTrailers(m *Message, b []byte) {
	m.Trailers = m.Trailers[:0]
	if len(p.hdrs) > 0 {
		m.Trailers = p.appendHeaders(m.Trailers, string(b[:p.pos]), 0)
	}
}

// appendHeaders appends the kept header lines, s holding the message
// bytes from offset base.
func (p *parser) appendHeaders(dst []Header, s string, base int) []Header {
	for i := range p.hdrs {
		h := &p.hdrs[i]
		if !h.drop {
			dst = append(dst, Header{s[h.name.off-base : h.name.end-base], s[h.value.off-base : h.value.end-base]})
		}
	}
	return dst
}
