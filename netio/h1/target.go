package h1

// Request-target checks. HAProxy compat: HAProxy 2.6 compares the
// authority of an absolute-form target with the Host header, validates
// CONNECT targets, and removes a default port from an absolute URI (and
// from Host); a request failing a check gets 400.

// splitTarget finds the scheme (with its "://", nil when absent) and the
// authority (without user info, up to the first '/') of a request target.
// ok is false for origin-form ("/...") and asterisk-form ("*") targets,
// which have no authority. off is the authority's offset in u.
func splitTarget(u []byte) (scheme, authority []byte, off int, ok bool) {
	if len(u) == 0 || u[0] == '/' || u[0] == '*' {
		return nil, nil, 0, false
	}
	i := 0
	if isAlpha(u[0]) {
		j := 1
		for j < len(u) && (isAlpha(u[j]) || isDigit(u[j]) || u[j] == '+' || u[j] == '-' || u[j] == '.') {
			j++
		}
		if j+3 <= len(u) && string(u[j:j+3]) == "://" {
			scheme, i = u[:j+3], j+3
		}
	}
	off = i
	for ; i < len(u) && u[i] != '/'; i++ {
		if u[i] == '@' {
			off = i + 1
		}
	}
	return scheme, u[off:i], off, true
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// hostPort splits "host:port". hasPort is false when there is no colon
// before the trailing digits; port may be empty ("host:").
func hostPort(h []byte) (host, port []byte, hasPort bool) {
	i := len(h)
	for i > 0 && isDigit(h[i-1]) {
		i--
	}
	if i == 0 || h[i-1] != ':' {
		return h, nil, false
	}
	return h[:i-1], h[i:], true
}

// isDefaultPort: an empty port, or 80 for http and 443 for https (either
// one when there is no scheme).
func isDefaultPort(scheme, port []byte) bool {
	switch {
	case len(port) == 0:
		return true
	case scheme == nil:
		return string(port) == "80" || string(port) == "443"
	}
	return string(port) == "80" && equalFold(scheme, "http://") ||
		string(port) == "443" && equalFold(scheme, "https://")
}

// checkTarget validates the request target against the Host header.
func (p *parser) checkTarget(b []byte) *Error {
	scheme, auth, _, hasAuth := splitTarget(p.line[1].of(b))
	var host *span
	if p.hostIdx >= 0 {
		host = &p.hdrs[p.hostIdx].value
	}
	if string(p.line[0].of(b)) == "CONNECT" {
		return p.checkConnect(b, auth, hasAuth, host)
	}
	if host == nil || len(auth) == 0 || equalFoldBytes(auth, host.of(b)) {
		return nil
	}
	if scheme != nil {
		uhost, uport, uhas := hostPort(auth)
		hhost, hport, hhas := hostPort(host.of(b))
		if (uhas || hhas) && (!uhas || isDefaultPort(scheme, uport)) &&
			(!hhas || isDefaultPort(scheme, hport)) && equalFoldBytes(uhost, hhost) {
			return nil // they differ only by a default port
		}
	}
	return p.fail(ErrHost, "Host does not match the request target", host.off)
}

// checkConnect: a CONNECT target is host:port; a Host header must name the
// same host and port, or the host alone when the port is 80 or 443. A
// Host with a default port loses it.
func (p *parser) checkConnect(b []byte, auth []byte, hasAuth bool, host *span) *Error {
	uhost, uport, uhas := hostPort(auth)
	if !hasAuth || !uhas || len(uport) == 0 {
		return p.fail(ErrStartLine, "CONNECT target is not host:port", p.line[1].off)
	}
	if host == nil {
		return nil
	}
	hhost, hport, _ := hostPort(host.of(b))
	if len(hport) > 0 {
		if !equalFoldBytes(hhost, uhost) || string(hport) != string(uport) {
			return p.fail(ErrHost, "Host does not match the CONNECT target", host.off)
		}
		if isDefaultPort(nil, uport) {
			host.end = host.off + len(hhost)
		}
		return nil
	}
	if !isDefaultPort(nil, uport) || !equalFoldBytes(hhost, uhost) {
		return p.fail(ErrHost, "Host does not match the CONNECT target", host.off)
	}
	return nil
}

// normalizeTarget removes a default (or empty) port from an absolute URI,
// in place, and gives the Host header the URI's host.
func (p *parser) normalizeTarget(b []byte) {
	uri := p.line[1].of(b)
	scheme, auth, off, ok := splitTarget(uri)
	if !ok || scheme == nil {
		return
	}
	host, port, has := hostPort(auth)
	if !has || !isDefaultPort(scheme, port) {
		return
	}
	cut := off + len(host) // the colon
	n := copy(uri[cut:], uri[cut+1+len(port):])
	p.line[1].end = p.line[1].off + cut + n
	host = uri[off:cut]
	for i := range p.hdrs {
		h := &p.hdrs[i]
		if !h.drop && equalFold(h.name.of(b), "host") && h.value.len() >= len(host) {
			h.value.end = h.value.off + copy(h.value.of(b), host)
		}
	}
}
