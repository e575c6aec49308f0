package h1

import "encoding/binary"

// The parser is a resumable state machine over the bytes of one head (or
// one trailer block): run is called again with the same bytes plus what
// arrived since, and goes on where it stopped, so a head that comes in
// pieces is scanned once. Errors are reported as soon as the offending
// byte is seen, as HAProxy does. The states and what each accepts follow
// HAProxy 2.6's h1_headers_to_hdr_list (facts, not code).
//
// The parser works on the caller's buffer in place: obs-fold line breaks
// become spaces, a cleaned Connection value or a normalized URI is
// rewritten over the original bytes. Positions are offsets from the first
// byte of the message, so the buffer may be moved between calls.

type mode uint8

const (
	modeRequest mode = iota
	modeResponse
	modeTrailers // a trailer block: header lines only
)

type pstate uint8

const (
	stReqBefore pstate = iota // empty lines before a request
	stReqBeforeCR
	stMethod
	stMethodSP
	stURI
	stURISP
	stReqVersion
	stRespBefore // empty lines before a response
	stRespBeforeCR
	stRespVersion
	stRespVersionSP
	stCode
	stCodeSP
	stReason
	stLineLF // CR seen at the end of the start line
	stHdrFirst
	stHdrName
	stHdrL1SP // blanks after the colon
	stHdrL1LF
	stHdrL1LWS // after an empty value's line end: fold or next line
	stHdrVal
	stHdrL2LF
	stHdrL2LWS // after a value's line end: fold or next line
	stLastLF
	stDone
)

// afterLF is the state after the LF of a CR LF pair; afterFold the state
// after an obs-fold.
var (
	afterLF   = [stDone]pstate{stLineLF: stHdrFirst, stHdrL1LF: stHdrL1LWS, stHdrL2LF: stHdrL2LWS, stLastLF: stDone}
	afterFold = [stDone]pstate{stHdrL1LWS: stHdrL1SP, stHdrL2LWS: stHdrVal}
)

// span is the byte range [off, end) of a message.
type span struct{ off, end int }

func (s span) len() int           { return s.end - s.off }
func (s span) of(b []byte) []byte { return b[s.off:s.end] }

type rawHeader struct {
	name, value span
	drop        bool
}

// Parse flags, after HAProxy's H1_MF_*.
const (
	fCL            uint16 = 1 << iota // Content-Length seen
	fTE                               // Transfer-Encoding seen
	fTEChunked                        // "chunked" seen in Transfer-Encoding
	fChunkedLast                      // "chunked" is the last coding
	fTEOther                          // a coding other than chunked seen
	fConnClose                        // "close" in Connection
	fConnKeepAlive                    // "keep-alive" in Connection
	fConnUpgrade                      // "upgrade" in Connection
	fUpgWebSocket                     // "websocket" in the last Upgrade
	fVer11                            // version 1.1 or above
	fForceClose                       // framing makes the connection unsafe to reuse
)

// HAProxy compat: HAProxy 2.6 sizes a head as its internal (HTX) form: a
// fixed part for the start line and the buffer header, 8 bytes per header
// line plus name and value (trimmed, duplicates dropped), 9 bytes for the
// end of headers. A head fits when that total is at most
// tune.bufsize - tune.maxrewrite (measured: 76 fixed bytes).
const (
	htxFixed = 76
	htxBlock = 8
	htxEOH   = 9
)

type parser struct {
	mode    mode
	st      pstate
	lim     Limits
	pos     int     // next byte to parse
	skip    int     // empty lines before the start line
	line    [3]span // method, URI, version; or version, code, reason
	status  int
	fastURI bool
	sol     int // current header line: start, colon, value start, value end
	col     int
	sov     int
	eol     int
	hdrs    []rawHeader
	hostIdx int // index in hdrs of the first Host, or -1
	flags   uint16
	cl      int64
}

func (p *parser) reset(md mode, lim Limits) {
	hdrs := p.hdrs[:0]
	*p = parser{mode: md, lim: lim, hdrs: hdrs, hostIdx: -1}
	switch md {
	case modeResponse:
		p.st = stRespBefore
	case modeTrailers:
		p.st = stHdrFirst
	}
}

// fail builds the error for kind at pos, with the status HAProxy answers.
func (p *parser) fail(kind error, reason string, pos int) *Error {
	status := 400
	if p.mode == modeResponse {
		status = 502
	}
	return newError(status, kind, reason, pos)
}

// run parses b, the message bytes received so far (the same bytes as the
// previous call, plus more). It reports whether the head is complete; the
// head is then b[:p.pos].
func (p *parser) run(b []byte) (bool, *Error) {
	for p.st != stDone {
		if p.pos >= len(b) {
			return false, nil
		}
		var err *Error
		switch {
		case p.st < stRespBefore:
			err = p.requestLine(b)
		case p.st < stLineLF:
			err = p.statusLine(b)
		default:
			err = p.headerLines(b)
		}
		if err != nil {
			return false, err
		}
	}
	return true, p.finish(b)
}

func (p *parser) requestLine(b []byte) *Error {
	for p.pos < len(b) && p.st < stRespBefore {
		c := b[p.pos]
		switch p.st {
		case stReqBefore:
			switch {
			case isToken(c):
				p.skip = p.pos
				p.line[0].off = p.pos
				p.st = stMethod
			case c == '\n':
				p.pos++
			case c == '\r':
				p.pos++
				p.st = stReqBeforeCR
			default:
				return p.fail(ErrStartLine, "invalid character before the request", p.pos)
			}
		case stReqBeforeCR:
			if c != '\n' {
				return p.fail(ErrStartLine, "CR not followed by LF", p.pos)
			}
			p.pos++
			p.st = stReqBefore
		case stMethod:
			for p.pos < len(b) && isToken(b[p.pos]) {
				p.pos++
			}
			if p.pos == len(b) {
				return nil
			}
			c = b[p.pos]
			if !isSPHT(c) {
				return p.badLineEnd(c, "invalid character in method")
			}
			p.line[0].end = p.pos
			p.pos++
			p.st = stMethodSP
		case stMethodSP:
			if isSPHT(c) {
				p.pos++
				continue
			}
			if isCRLF(c) {
				return p.badLineEnd(c, "")
			}
			p.line[1].off = p.pos
			p.st = stURI
			p.fastURI = true
		case stURI:
			if err := p.uri(b); err != nil {
				return err
			}
		case stURISP:
			if isSPHT(c) {
				p.pos++
				continue
			}
			if isCRLF(c) {
				return p.badLineEnd(c, "")
			}
			p.line[2].off = p.pos
			p.st = stReqVersion
		case stReqVersion:
			for p.pos < len(b) && isVersion(b[p.pos]) {
				p.pos++
			}
			if p.pos == len(b) {
				return nil
			}
			if !isCRLF(b[p.pos]) {
				return p.fail(ErrStartLine, "invalid character in version", p.pos)
			}
			p.line[2].end = p.pos
			p.endStartLine(b)
		}
	}
	return nil
}

// idle reports whether no byte of a message was seen yet, but empty lines.
func (p *parser) idle() bool {
	switch p.st {
	case stReqBefore, stReqBeforeCR, stRespBefore, stRespBeforeCR:
		return true
	}
	return false
}

// badLineEnd rejects a request line that ends before its version: HAProxy
// compat, HTTP/0.9 requests are refused (400), as are stray bytes.
func (p *parser) badLineEnd(c byte, reason string) *Error {
	if isCRLF(c) {
		return p.fail(ErrVersion, "HTTP/0.9 request", p.pos)
	}
	return p.fail(ErrStartLine, reason, p.pos)
}

// uri scans the request target: bytes 33 to 126 except '#'.
func (p *parser) uri(b []byte) *Error {
	if p.fastURI {
		p.pos = skipURIFast(b, p.pos)
		p.fastURI = false
	}
	for p.pos < len(b) {
		c := b[p.pos]
		if c-33 > 93 || c == '#' {
			break
		}
		p.pos++
	}
	if p.pos == len(b) {
		p.fastURI = true // HAProxy resumes in its fast path
		return nil
	}
	c := b[p.pos]
	if !isSPHT(c) {
		return p.badLineEnd(c, "invalid character in URI")
	}
	p.line[1].end = p.pos
	p.pos++
	p.st = stURISP
	return nil
}

// skipURIFast skips URI bytes four at a time from i, as long as four bytes
// are available. HAProxy compat: this is HAProxy 2.6's fast path, whose
// test is looser than the byte-wise one: a DEL or an 8-bit byte among
// ordinary characters may pass ("GET /a\x7fb" and "GET /00\x87" are
// accepted, "GET /0\x87" is not), depending on the bytes around it.
func skipURIFast(b []byte, i int) int {
	for i+4 <= len(b) {
		x := binary.LittleEndian.Uint32(b[i:]) - 0x24242424
		if x&0x80808080 != 0 {
			break
		}
		x -= 0x5b5b5b5b
		if x&0x80808080 == 0 {
			break
		}
		i += 4
	}
	return i
}

func (p *parser) statusLine(b []byte) *Error {
	for p.pos < len(b) && p.st < stLineLF {
		c := b[p.pos]
		switch p.st {
		case stRespBefore:
			switch {
			case isToken(c):
				p.skip = p.pos
				p.line[0].off = p.pos
				p.st = stRespVersion
			case c == '\n':
				p.pos++
			case c == '\r':
				p.pos++
				p.st = stRespBeforeCR
			default:
				return p.fail(ErrStartLine, "invalid character before the response", p.pos)
			}
		case stRespBeforeCR:
			if c != '\n' {
				return p.fail(ErrStartLine, "CR not followed by LF", p.pos)
			}
			p.pos++
			p.st = stRespBefore
		case stRespVersion:
			for p.pos < len(b) && isVersion(b[p.pos]) {
				p.pos++
			}
			if p.pos == len(b) {
				return nil
			}
			if !isSPHT(b[p.pos]) {
				return p.fail(ErrStartLine, "invalid character in version", p.pos)
			}
			p.line[0].end = p.pos
			p.pos++
			p.st = stRespVersionSP
		case stRespVersionSP:
			if isSPHT(c) {
				p.pos++
				continue
			}
			if isCRLF(c) {
				return p.fail(ErrStartLine, "missing status code", p.pos)
			}
			p.line[1].off = p.pos
			p.st = stCode
		case stCode:
			for p.pos < len(b) && isDigit(b[p.pos]) {
				// HAProxy compat: the code is a 16-bit number.
				p.status = (p.status*10 + int(b[p.pos]-'0')) & 0xffff
				p.pos++
			}
			if p.pos == len(b) {
				return nil
			}
			c = b[p.pos]
			p.line[1].end = p.pos
			switch {
			case isSPHT(c):
				p.pos++
				p.st = stCodeSP
			case isCRLF(c):
				p.line[2] = span{p.pos, p.pos}
				p.endStartLine(b)
			default:
				return p.fail(ErrStartLine, "invalid character in status code", p.pos)
			}
		case stCodeSP:
			if isSPHT(c) {
				p.pos++
				continue
			}
			p.line[2].off = p.pos
			p.st = stReason
		case stReason:
			if i := indexCRLF(b[p.pos:]); i >= 0 {
				p.pos += i
				p.line[2].end = p.pos
				p.endStartLine(b)
			} else {
				p.pos = len(b)
			}
		}
	}
	return nil
}

// endStartLine is called on the CR or LF ending the start line.
func (p *parser) endStartLine(b []byte) {
	if v := p.versionSpan().of(b); len(v) == 8 && (v[5] > '1' || v[5] == '1' && v[7] >= '1') {
		p.flags |= fVer11
	}
	if b[p.pos] == '\r' {
		p.st = stLineLF
	} else {
		p.st = stHdrFirst
	}
	p.pos++
}

func (p *parser) versionSpan() span {
	if p.mode == modeResponse {
		return p.line[0]
	}
	return p.line[2]
}

func (p *parser) headerLines(b []byte) *Error {
	// pos and st live in registers here; p has them back on return.
	pos, st := p.pos, p.st
	defer func() { p.pos, p.st = pos, st }()
	for pos < len(b) && st != stDone {
		c := b[pos]
		switch st {
		case stLineLF, stHdrL1LF, stHdrL2LF, stLastLF:
			if c != '\n' {
				return p.fail(ErrHeaderLine, "CR not followed by LF", pos)
			}
			pos++
			st = afterLF[st]
		case stHdrFirst:
			p.sol = pos
			switch c {
			case '\r':
				pos++
				st = stLastLF
			case '\n':
				pos++
				st = stDone
			default:
				st = stHdrName
			}
		case stHdrName:
			for pos < len(b) && isToken(b[pos]) {
				pos++
			}
			if pos == len(b) {
				break
			}
			if c = b[pos]; c != ':' {
				if isCRLF(c) {
					return p.fail(ErrHeaderLine, "header line without colon", pos)
				}
				return p.fail(ErrHeaderName, "invalid character in header name", pos)
			}
			if pos == p.sol {
				return p.fail(ErrHeaderName, "empty header name", pos)
			}
			p.col = pos
			pos++
			st = stHdrL1SP
		case stHdrL1SP:
			if isSPHT(c) {
				pos++
				continue
			}
			p.sov = pos
			st = stHdrVal
			if isCRLF(c) {
				st = stHdrL1LWS
				if c == '\r' {
					st = stHdrL1LF
				}
				pos++
			}
		case stHdrL1LWS, stHdrL2LWS:
			start := p.eol
			if st == stHdrL1LWS {
				start = p.sov
			}
			if isSPHT(c) {
				// obs-fold: the line break becomes spaces, the value goes on.
				for i := start; i < pos; i++ {
					b[i] = ' '
				}
				st = afterFold[st]
				continue
			}
			p.eol = start
			if err := p.header(b); err != nil {
				return err
			}
			st = stHdrFirst
		case stHdrVal:
			i := indexCRLF(b[pos:])
			if i < 0 {
				pos = len(b)
				return nil
			}
			pos += i
			p.eol = pos
			st = stHdrL2LWS
			if b[pos] == '\r' {
				st = stHdrL2LF
			}
			pos++
		}
	}
	return nil
}

// indexCRLF returns the index of the first CR or LF in s, or -1. It
// skips eight bytes at a time while none is below 0x0e (values rarely
// hold control bytes).
func indexCRLF(s []byte) int {
	const low, high = 0x0e0e0e0e0e0e0e0e, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if x := binary.LittleEndian.Uint64(s[i:]); (x-low)&^x&high == 0 {
			continue
		}
		for j, c := range s[i : i+8] {
			if c == '\r' || c == '\n' {
				return i + j
			}
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}
