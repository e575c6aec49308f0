package sample

import (
	"bytes"
	"fmt"
	"strings"
)

// Buffer content fetches (manual 7.3.5): the tcp content of the request
// and response, TLS hello inspection, RDP cookies.

func init() {
	reqBuf := func(c *Ctx) []byte { return c.ReqPayload }
	resBuf := func(c *Ctx) []byte { return c.ResPayload }
	length := func(name string, use Use, buf func(*Ctx) []byte) *Fetch {
		return &Fetch{Name: name, Out: TypeSInt, Use: use, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			s := Int(int64(len(buf(ctx))))
			if !ctx.Final {
				s.Flags |= MayChange
			}
			return s, true
		}}
	}
	payload := func(name string, use Use, buf func(*Ctx) []byte) *Fetch {
		return &Fetch{Name: name, Args: Args(2, ArgSInt, ArgSInt), Out: TypeBin, Use: use, Fn: func(ctx *Ctx, a []Arg) (Sample, bool) {
			return fetchPayload(ctx, buf(ctx), a[0].Int, a[1].Int)
		}}
	}
	payloadLV := func(name string, use Use, buf func(*Ctx) []byte) *Fetch {
		return &Fetch{Name: name, Args: Args(2, ArgSInt, ArgSInt, ArgStr), Check: checkPayloadLV, Out: TypeBin, Use: use,
			Fn: func(ctx *Ctx, a []Arg) (Sample, bool) { return fetchPayloadLV(ctx, buf(ctx), a) }}
	}
	hello := func(name string, use Use, buf func(*Ctx) []byte) *Fetch {
		return &Fetch{Name: name, Out: TypeSInt, Use: use, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			b := buf(ctx)
			if len(b) < 6 {
				return mayChange(ctx)
			}
			if b[0] != 0x16 {
				return Sample{}, false
			}
			return Int(int64(b[5])), true
		}}
	}
	tls := func(name string, out Type, get func(h *clientHello) (Sample, bool)) *Fetch {
		return &Fetch{Name: name, Out: out, Use: UseL6Req, Fn: func(ctx *Ctx, _ []Arg) (Sample, bool) {
			h, complete := parseClientHello(ctx.ReqPayload)
			if h == nil {
				if !complete {
					return mayChange(ctx)
				}
				return Sample{}, false
			}
			return get(h)
		}}
	}
	sni := func(h *clientHello) (Sample, bool) { return Str(h.sni), h.sni != "" }
	ver := func(ctx *Ctx, _ []Arg) (Sample, bool) {
		b := ctx.ReqPayload
		if len(b) < 5 {
			return mayChange(ctx)
		}
		if b[0] != 0x16 || b[1] != 3 {
			return Sample{}, false
		}
		// HAProxy compat: major<<16 | minor of the record layer version
		return Int(int64(b[1])<<16 | int64(b[2])), true
	}
	protoHTTP := func(ctx *Ctx, _ []Arg) (Sample, bool) {
		ok, complete := looksLikeHTTPRequest(ctx.ReqPayload)
		if !complete {
			return mayChange(ctx)
		}
		return Bool(ok), true
	}
	registerFetches(
		length("req.len", UseL6Req, reqBuf), length("req_len", UseL6Req, reqBuf), length("res.len", UseL6Res, resBuf),
		payload("req.payload", UseL6Req, reqBuf), payload("payload", UseL6Req|UseL6Res, func(c *Ctx) []byte {
			if c.Response {
				return c.ResPayload
			}
			return c.ReqPayload
		}),
		payload("res.payload", UseL6Res, resBuf),
		payloadLV("req.payload_lv", UseL6Req, reqBuf), payloadLV("payload_lv", UseL6Req|UseL6Res, func(c *Ctx) []byte {
			if c.Response {
				return c.ResPayload
			}
			return c.ReqPayload
		}),
		payloadLV("res.payload_lv", UseL6Res, resBuf),
		&Fetch{Name: "req.proto_http", Out: TypeBool, Use: UseL6Req, Fn: protoHTTP},
		&Fetch{Name: "req_proto_http", Out: TypeBool, Use: UseL6Req, Fn: protoHTTP},
		hello("req.ssl_hello_type", UseL6Req, reqBuf), hello("req_ssl_hello_type", UseL6Req, reqBuf),
		hello("res.ssl_hello_type", UseL6Res, resBuf), hello("rep_ssl_hello_type", UseL6Res, resBuf),
		&Fetch{Name: "req.ssl_ver", Out: TypeSInt, Use: UseL6Req, Fn: ver},
		&Fetch{Name: "req_ssl_ver", Out: TypeSInt, Use: UseL6Req, Fn: ver},
		tls("req.ssl_sni", TypeStr, sni), tls("req_ssl_sni", TypeStr, sni),
		tls("req.ssl_alpn", TypeStr, func(h *clientHello) (Sample, bool) { return Str(h.alpn), h.alpn != "" }),
		tls("req.ssl_ec_ext", TypeBool, func(h *clientHello) (Sample, bool) { return Bool(h.ecExt), true }),
		tls("req.ssl_st_ext", TypeSInt, func(h *clientHello) (Sample, bool) { return Int(int64(h.stExt)), true }),
		tls("req.ssl_cipherlist", TypeBin, func(h *clientHello) (Sample, bool) { return Bin(h.ciphers), true }),
		tls("req.ssl_sigalgs", TypeBin, func(h *clientHello) (Sample, bool) { return Bin(h.sigalgs), h.sigalgs != "" }),
		tls("req.ssl_supported_groups", TypeBin, func(h *clientHello) (Sample, bool) { return Bin(h.groups), h.groups != "" }),
		tls("req.ssl_keyshare_groups", TypeBin, func(h *clientHello) (Sample, bool) { return Bin(h.keyshare), h.keyshare != "" }),
		&Fetch{Name: "req.rdp_cookie", Args: Args(0, ArgStr), Out: TypeStr, Use: UseL6Req, Fn: fetchRDPCookie},
		&Fetch{Name: "rdp_cookie", Args: Args(0, ArgStr), Out: TypeStr, Use: UseL6Req, Fn: fetchRDPCookie},
		&Fetch{Name: "req.rdp_cookie_cnt", Args: Args(0, ArgStr), Out: TypeSInt, Use: UseL6Req, Fn: fetchRDPCookieCnt},
		&Fetch{Name: "rdp_cookie_cnt", Args: Args(0, ArgStr), Out: TypeSInt, Use: UseL6Req, Fn: fetchRDPCookieCnt},
	)
}

// mayChange reports an absent sample that may appear with more data.
func mayChange(ctx *Ctx) (Sample, bool) {
	if ctx.Final {
		return Sample{}, false
	}
	return Sample{Flags: MayChange}, false
}

func fetchPayload(ctx *Ctx, b []byte, off, n int64) (Sample, bool) {
	if off < 0 || n < 0 {
		return Sample{}, false
	}
	if n == 0 {
		if off > int64(len(b)) {
			return mayChange(ctx)
		}
		s := Bin(string(b[off:]))
		if !ctx.Final {
			s.Flags |= MayChange
		}
		return s, true
	}
	if off+n > int64(len(b)) {
		return mayChange(ctx)
	}
	return Bin(string(b[off : off+n])), true
}

func checkPayloadLV(args []Arg, sc *Scope) error {
	if len(args) > 2 && args[2].Str != "" {
		v, ok := strictInt(args[2].Str)
		if !ok {
			return fmt.Errorf("payload offset2 is not a number")
		}
		args[2].Int, args[2].Type = v, ArgSInt
		args[2].Ref = true // offset2 given
	}
	return nil
}

// fetchPayloadLV reads a length of n bytes (big endian) at off1, then
// that many bytes at off2 (relative to the end of the length field when
// absent or, if it starts with a sign, relative to it).
func fetchPayloadLV(ctx *Ctx, b []byte, a []Arg) (Sample, bool) {
	off1, n := a[0].Int, a[1].Int
	if off1 < 0 || n <= 0 || n > 4 {
		return Sample{}, false
	}
	if off1+n > int64(len(b)) {
		return mayChange(ctx)
	}
	var l int64
	for i := off1; i < off1+n; i++ {
		l = l<<8 | int64(b[i])
	}
	off2 := off1 + n
	if len(a) > 2 && a[2].Ref != nil {
		if s := a[2].Str; strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
			off2 += a[2].Int
		} else {
			off2 = a[2].Int
		}
	}
	if off2 < 0 {
		return Sample{}, false
	}
	if off2+l > int64(len(b)) {
		return mayChange(ctx)
	}
	return Bin(string(b[off2 : off2+l])), true
}

// looksLikeHTTPRequest checks for an HTTP/1 request line; complete is
// false while the line is not whole.
func looksLikeHTTPRequest(b []byte) (ok, complete bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		for _, c := range b {
			if c != ' ' && c != '/' && c != '.' && c != ':' && !isTokenChar(c) && c < 0x21 {
				return false, true
			}
		}
		return false, false
	}
	line := strings.TrimSuffix(string(b[:i]), "\r")
	parts := strings.Split(line, " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return false, true
	}
	for j := 0; j < len(parts[0]); j++ {
		if !isTokenChar(parts[0][j]) {
			return false, true
		}
	}
	v := parts[2]
	return len(v) == 8 && strings.HasPrefix(v, "HTTP/") && v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' && v[7] <= '9', true
}

// clientHello is what the fetches read from a TLS ClientHello.
type clientHello struct {
	sni, alpn                          string
	ciphers, sigalgs, groups, keyshare string
	ecExt                              bool
	stExt                              int // 0 none, 1 empty ticket ext, 2 ticket
}

// parseClientHello parses a TLS ClientHello at the start of b (first
// record only). complete is false when more bytes are needed.
func parseClientHello(b []byte) (*clientHello, bool) {
	if len(b) < 5 {
		return nil, false
	}
	if b[0] != 0x16 || b[1] != 3 {
		return nil, true
	}
	rlen := int(b[3])<<8 | int(b[4])
	if len(b) < 5+rlen {
		return nil, false
	}
	p := b[5 : 5+rlen]
	if len(p) < 4 || p[0] != 1 {
		return nil, true
	}
	hlen := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	if len(p) < 4+hlen {
		return nil, true // hello split over records: not supported
	}
	p = p[4 : 4+hlen]
	r := tlsReader{p: p}
	r.skip(2 + 32)
	r.skip(int(r.u8()))
	h := &clientHello{}
	h.ciphers = string(r.bytes(int(r.u16())))
	r.skip(int(r.u8()))
	if r.bad {
		return nil, true
	}
	if len(r.p) == 0 {
		return h, true
	}
	exts := tlsReader{p: r.bytes(int(r.u16()))}
	for len(exts.p) > 0 && !exts.bad {
		typ := exts.u16()
		data := exts.bytes(int(exts.u16()))
		e := tlsReader{p: data}
		switch typ {
		case 0: // server_name
			list := tlsReader{p: e.bytes(int(e.u16()))}
			for len(list.p) > 0 && !list.bad {
				kind := list.u8()
				name := list.bytes(int(list.u16()))
				if kind == 0 && h.sni == "" {
					h.sni = string(name)
				}
			}
		case 10: // supported_groups
			h.ecExt = true
			h.groups = string(e.bytes(int(e.u16())))
		case 11: // ec_point_formats
			h.ecExt = true
		case 13: // signature_algorithms
			h.sigalgs = string(e.bytes(int(e.u16())))
		case 16: // ALPN
			list := tlsReader{p: e.bytes(int(e.u16()))}
			if len(list.p) > 0 {
				h.alpn = string(list.bytes(int(list.u8())))
			}
		case 35: // session_ticket
			h.stExt = 1
			if len(data) > 0 {
				h.stExt = 2
			}
		case 51: // key_share
			list := tlsReader{p: e.bytes(int(e.u16()))}
			var g []byte
			for len(list.p) > 0 && !list.bad {
				grp := list.bytes(2)
				list.skip(int(list.u16()))
				g = append(g, grp...)
			}
			h.keyshare = string(g)
		}
	}
	return h, true
}

type tlsReader struct {
	p   []byte
	bad bool
}

func (r *tlsReader) bytes(n int) []byte {
	if r.bad || n > len(r.p) {
		r.bad = true
		return nil
	}
	b := r.p[:n]
	r.p = r.p[n:]
	return b
}

func (r *tlsReader) skip(n int) { r.bytes(n) }

func (r *tlsReader) u8() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *tlsReader) u16() uint16 {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

// RDPCookie returns the value of the RDP cookie name (any name when
// name is "") of an RDP X.224 connection request: "Cookie: name=value\r\n"
// after the 11 bytes of the TPKT and X.224 headers, as HAProxy's
// fetch_rdp_cookie_name reads it (the name without case, after
// "Cookie:" and its spaces). ok false with complete false means more data
// may still bring the cookie; complete true, that the buffer has none.
func RDPCookie(buf []byte, name string) (value string, ok, complete bool) {
	if len(buf) <= 11 {
		return "", false, false
	}
	d := buf[11:]
	const pfx = "Cookie:"
	if len(d) <= len(pfx) {
		return "", false, false
	}
	if !strings.EqualFold(string(d[:len(pfx)]), pfx) {
		return "", false, true
	}
	d = bytes.TrimLeft(d[len(pfx):], " ")
	if name != "" {
		if len(d) <= len(name) {
			return "", false, false
		}
		if d[len(name)] != '=' || !strings.EqualFold(string(d[:len(name)]), name) {
			return "", false, true
		}
		d = d[len(name)+1:]
	} else {
		i := bytes.IndexAny(d, "=\r\n")
		if i < 0 {
			return "", false, false
		}
		if d[i] != '=' {
			return "", false, true
		}
		d = d[i+1:]
	}
	end := bytes.IndexByte(d, '\r')
	if end < 0 || end+1 >= len(d) {
		return "", false, false
	}
	if d[end+1] != '\n' {
		return "", false, true
	}
	return string(d[:end]), true, true
}

func rdpArg(a []Arg) string {
	if len(a) > 0 {
		return a[0].Str
	}
	return ""
}

func fetchRDPCookie(ctx *Ctx, a []Arg) (Sample, bool) {
	v, ok, complete := RDPCookie(ctx.ReqPayload, rdpArg(a))
	if !complete {
		return mayChange(ctx)
	}
	if !ok {
		return Sample{}, false
	}
	return Str(v), true
}

func fetchRDPCookieCnt(ctx *Ctx, a []Arg) (Sample, bool) {
	_, ok, complete := RDPCookie(ctx.ReqPayload, rdpArg(a))
	if !complete {
		return mayChange(ctx)
	}
	if !ok {
		return Int(0), true
	}
	return Int(1), true
}
