package sample

import (
	"bytes"
	"encoding/base64"
	"strings"

	"luaproxy/netio/h1"
)

// HTTP fetches on the request and response (manual 7.3.6). Header names
// compare case-insensitively; HAProxy compat: header names come out in
// lower case (HTX stores them so).

// msgFetch wraps fn so that it runs only when the message exists; before
// that the sample is absent and may appear later.
func msgFetch(get func(*Ctx) *h1.Message, fn func(ctx *Ctx, m *h1.Message, a []Arg) (Sample, bool)) FetchFunc {
	return func(ctx *Ctx, a []Arg) (Sample, bool) {
		m := get(ctx)
		if m == nil {
			return mayChange(ctx)
		}
		return fn(ctx, m, a)
	}
}

func msgEach(get func(*Ctx) *h1.Message, fn func(ctx *Ctx, m *h1.Message, a []Arg, yield func(Sample) bool)) EachFunc {
	return func(ctx *Ctx, a []Arg, yield func(Sample) bool) {
		if m := get(ctx); m != nil {
			fn(ctx, m, a, yield)
		}
	}
}

// getReq returns the HTTP request; in TCP mode, the request head at the
// start of the tcp-request content buffer, if there is a whole one
// (HAProxy compat: smp_prefetch_htx parses the buffered bytes there, so
// that path, hdr() and the like work in "tcp-request content" rules).
func getReq(c *Ctx) *h1.Message {
	if c.Req != nil || len(c.ReqPayload) == 0 {
		return c.Req
	}
	r := h1.NewReader(bytes.NewReader(c.ReqPayload), max(len(c.ReqPayload), h1.DefaultBufSize))
	m := new(h1.Message)
	if err := r.ReadRequest(m, h1.Limits{}); err != nil {
		return nil
	}
	return m
}
func getRes(c *Ctx) *h1.Message { return c.Res }

// getHTTPReq returns the HTTP request only (nil in TCP mode).
func getHTTPReq(c *Ctx) *h1.Message { return c.Req }
func getCur(c *Ctx) *h1.Message     { return c.msg() }

// eachHdrValue calls fn with each value of the headers named name (every
// header when name is ""), split on commas outside quotes unless full,
// trimmed of blanks. It stops when fn returns false.
func eachHdrValue(m *h1.Message, name string, full bool, fn func(v string) bool) {
	for i := range m.Headers {
		h := &m.Headers[i]
		if name != "" && !h1.EqualFold(h.Name, name) {
			continue
		}
		if full {
			if !fn(trimLWS(h.Value)) {
				return
			}
			continue
		}
		v := h.Value
		for {
			end := commaEnd(v)
			if !fn(trimLWS(v[:end])) {
				return
			}
			if end >= len(v) {
				break
			}
			v = v[end+1:]
		}
	}
}

// commaEnd returns the index of the first comma of v outside a quoted
// string, or len(v).
func commaEnd(v string) int {
	q := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			q = !q
		case '\\':
			if q {
				i++
			}
		case ',':
			if !q {
				return i
			}
		}
	}
	return len(v)
}

func trimLWS(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// hdrOcc returns the occ-th value (1-based; negative from the end; 0 the
// last one) of a header.
func hdrOcc(m *h1.Message, name string, full bool, occ int64) (string, bool) {
	if occ == 0 {
		occ = -1
	}
	var out string
	found := false
	if occ > 0 {
		n := int64(0)
		eachHdrValue(m, name, full, func(v string) bool {
			n++
			if n == occ {
				out, found = v, true
				return false
			}
			return true
		})
		return out, found
	}
	if occ == -1 {
		eachHdrValue(m, name, full, func(v string) bool {
			out, found = v, true
			return true
		})
		return out, found
	}
	total := int64(0)
	eachHdrValue(m, name, full, func(string) bool { total++; return true })
	return hdrOcc(m, name, full, total+occ+1)
}

func hdrArgs(a []Arg) (string, int64) {
	var name string
	var occ int64
	if len(a) > 0 {
		name = a[0].Str
	}
	if len(a) > 1 {
		occ = a[1].Int
	}
	return name, occ
}

// hdrFetches returns the hdr family for one message: value, count, ip,
// val, in split (hdr) or full (fhdr) form.
func hdrFetch(name string, get func(*Ctx) *h1.Message, use Use, full bool, out Type, conv func(string) (Sample, bool)) *Fetch {
	return &Fetch{Name: name, Args: Args(0, ArgStr, ArgSInt), Out: out, Use: use,
		Fn: msgFetch(get, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
			hn, occ := hdrArgs(a)
			v, ok := hdrOcc(m, hn, full, occ)
			if !ok {
				return Sample{}, false
			}
			return conv(v)
		}),
		Each: msgEach(get, func(_ *Ctx, m *h1.Message, a []Arg, yield func(Sample) bool) {
			hn, occ := hdrArgs(a)
			if occ != 0 {
				if v, ok := hdrOcc(m, hn, full, occ); ok {
					if s, ok := conv(v); ok {
						yield(s)
					}
				}
				return
			}
			eachHdrValue(m, hn, full, func(v string) bool {
				if s, ok := conv(v); ok {
					return yield(s)
				}
				return true
			})
		}),
	}
}

func hdrCntFetch(name string, get func(*Ctx) *h1.Message, use Use, full bool) *Fetch {
	return &Fetch{Name: name, Args: Args(0, ArgStr), Out: TypeSInt, Use: use,
		Fn: msgFetch(get, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
			hn, _ := hdrArgs(a)
			n := int64(0)
			eachHdrValue(m, hn, full, func(string) bool { n++; return true })
			return Int(n), true
		})}
}

func asStr(v string) (Sample, bool) { return Str(v), true }

func asInt(v string) (Sample, bool) { return Int(leadingInt(v)), true }

// leadingInt parses an optional sign and the digits that follow, as
// HAProxy's strl2ic (0 when there are none).
func leadingInt(v string) int64 { return readInt64(v) }

func asIP(v string) (Sample, bool) {
	if a, ok := parseIPv4(v); ok {
		return Addr(a), true
	}
	if host, _, ok := strings.Cut(v, ":"); ok {
		if a, ok := parseIPv4(host); ok {
			return Addr(a), true
		}
	}
	if len(v) < 128 {
		if a, ok := parseIPv6(v); ok {
			return Sample{Type: TypeIPv6, Addr: a}, true
		}
	}
	return Sample{}, false
}

func init() {
	const (
		rqh = UseHRQHV
		rsh = UseHRSHV
	)
	var fs []*Fetch
	for _, d := range []struct {
		prefix string
		get    func(*Ctx) *h1.Message
		use    Use
	}{{"req.", getReq, rqh}, {"res.", getRes, rsh}} {
		p, g, u := d.prefix, d.get, d.use
		fs = append(fs,
			hdrFetch(p+"hdr", g, u, false, TypeStr, asStr),
			hdrFetch(p+"fhdr", g, u, true, TypeStr, asStr),
			hdrFetch(p+"hdr_ip", g, u, false, TypeIPv4, asIP),
			hdrFetch(p+"hdr_val", g, u, false, TypeSInt, asInt),
			hdrCntFetch(p+"hdr_cnt", g, u, false),
			hdrCntFetch(p+"fhdr_cnt", g, u, true),
			&Fetch{Name: p + "hdrs", Out: TypeStr, Use: u, Fn: msgFetch(g, fetchHdrs)},
			&Fetch{Name: p + "hdrs_bin", Out: TypeBin, Use: u, Fn: msgFetch(g, fetchHdrsBin)},
			&Fetch{Name: p + "hdr_names", Args: Args(0, ArgStr), Out: TypeStr, Use: u, Fn: msgFetch(g, fetchHdrNames)},
			&Fetch{Name: p + "ver", Out: TypeStr, Use: u, Fn: msgFetch(g, fetchVer)},
		)
	}
	fs = append(fs,
		// direction-dependent and legacy names
		hdrFetch("hdr", getCur, rqh, false, TypeStr, asStr),
		hdrFetch("hdr_ip", getCur, rqh, false, TypeIPv4, asIP),
		hdrFetch("hdr_val", getCur, rqh, false, TypeSInt, asInt),
		hdrCntFetch("hdr_cnt", getCur, rqh, false),
		hdrFetch("shdr", getRes, rsh, false, TypeStr, asStr),
		hdrFetch("shdr_ip", getRes, rsh, false, TypeIPv4, asIP),
		hdrFetch("shdr_val", getRes, rsh, false, TypeSInt, asInt),
		hdrCntFetch("shdr_cnt", getRes, rsh, false),
		&Fetch{Name: "req_ver", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, fetchVer)},
		&Fetch{Name: "resp_ver", Out: TypeStr, Use: rsh, Fn: msgFetch(getRes, fetchVer)},
		&Fetch{Name: "status", Out: TypeSInt, Use: UseHRSHP, Fn: msgFetch(getRes, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Int(int64(m.Status)), true
		})},
		// HAProxy compat: method reads the HTTP transaction, which TCP
		// mode has not (no parse of the buffer, unlike path or hdr)
		&Fetch{Name: "method", Out: TypeMeth, Use: UseHRQHP, Fn: msgFetch(getHTTPReq, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			// HAProxy compat: once the request is forwarded only the
			// method's number is kept, so while the response is
			// processed a method HAProxy does not know reads as nothing.
			// HAProxy 2.6 compat: a method it knows was parsed once; one
			// set-method (or a script) gave later is not seen here
			if r := m.RecvMethod; r != "" && FindMethod(r) != MethOther {
				return Meth(r), true
			}
			if ctx.Response && FindMethod(m.Method) == MethOther {
				return Sample{}, false
			}
			return Meth(m.Method), true
		})},
		&Fetch{Name: "path", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			p := m.Path()
			return Str(p), p != ""
		})},
		&Fetch{Name: "pathq", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			p := pathQuery(m.URI)
			return Str(p), p != ""
		})},
		&Fetch{Name: "query", Args: Args(0, ArgStr), Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			q, ok := m.Query()
			return Str(q), ok
		})},
		&Fetch{Name: "url", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Str(m.URI), true
		})},
		&Fetch{Name: "url_ip", Out: TypeIPv4, Use: rqh, Fn: msgFetch(getReq, fetchURLIP)},
		&Fetch{Name: "url_port", Out: TypeSInt, Use: rqh, Fn: msgFetch(getReq, fetchURLPort)},
		&Fetch{Name: "base", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return baseOf(m, false)
		})},
		&Fetch{Name: "baseq", Out: TypeStr, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return baseOf(m, true)
		})},
		&Fetch{Name: "base32", Out: TypeSInt, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return hash32Of(m, false)
		})},
		&Fetch{Name: "url32", Out: TypeSInt, Use: rqh, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return hash32Of(m, true)
		})},
		&Fetch{Name: "base32+src", Out: TypeBin, Use: rqh | UseL4Cli, Fn: msgFetch(getReq, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return hash32Src(ctx, m, false)
		})},
		&Fetch{Name: "url32+src", Out: TypeBin, Use: rqh | UseL4Cli, Fn: msgFetch(getReq, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return hash32Src(ctx, m, true)
		})},
		&Fetch{Name: "capture.req.method", Out: TypeStr, Use: UseHRQHP, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Str(m.Method), true
		})},
		&Fetch{Name: "capture.req.uri", Out: TypeStr, Use: UseHRQHP, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			p := pathQuery(m.URI)
			return Str(p), p != ""
		})},
		&Fetch{Name: "capture.req.ver", Out: TypeStr, Use: UseHRQHP, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Str(m.Version), m.Version != ""
		})},
		&Fetch{Name: "capture.res.ver", Out: TypeStr, Use: UseHRSHP, Fn: msgFetch(getRes, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Str(m.Version), m.Version != ""
		})},
	)
	fs = append(fs, cookieFetches()...)
	fs = append(fs, paramFetches()...)
	fs = append(fs, bodyFetches()...)
	fs = append(fs, authFetches()...)
	registerFetches(fs...)
}

func fetchVer(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
	v, ok := strings.CutPrefix(m.Version, "HTTP/")
	return Str(v), ok && v != ""
}

func fetchHdrs(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
	var b strings.Builder
	for _, h := range m.Headers {
		b.WriteString(strings.ToLower(h.Name))
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return Str(b.String()), true
}

func fetchHdrNames(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
	sep := ","
	if len(a) > 0 && a[0].Str != "" {
		sep = a[0].Str
	}
	var b strings.Builder
	for i, h := range m.Headers {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strings.ToLower(h.Name))
	}
	return Str(b.String()), true
}

// appendVarint encodes v as the SPOE variable-length integer.
func appendVarint(b []byte, v uint64) []byte {
	if v < 240 {
		return append(b, byte(v))
	}
	b = append(b, byte(v)|240)
	v = (v - 240) >> 4
	for v >= 128 {
		b = append(b, byte(v)|128)
		v = (v - 128) >> 7
	}
	return append(b, byte(v))
}

func fetchHdrsBin(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
	var b []byte
	for _, h := range m.Headers {
		b = appendVarint(b, uint64(len(h.Name)))
		b = append(b, strings.ToLower(h.Name)...)
		b = appendVarint(b, uint64(len(h.Value)))
		b = append(b, h.Value...)
	}
	b = append(b, 0, 0)
	return Bin(string(b)), true
}

// pathQuery returns the URI without scheme and authority.
func pathQuery(uri string) string {
	if i := strings.Index(uri, "://"); i >= 0 {
		rest := uri[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 {
			return ""
		}
		return rest[j:]
	}
	return uri
}

// uriAuthority returns the authority of an absolute URI.
func uriAuthority(uri string) (string, bool) {
	i := strings.Index(uri, "://")
	if i < 0 {
		return "", false
	}
	rest := uri[i+3:]
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

func fetchURLIP(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
	auth, ok := uriAuthority(m.URI)
	if !ok {
		return Sample{}, false
	}
	host, _, _ := splitHostPort(auth)
	if a, ok := parseIPv4(host); ok {
		return Addr(a), true
	}
	if a, ok := parseIPv6(strings.Trim(host, "[]")); ok {
		return Sample{Type: TypeIPv6, Addr: a}, true
	}
	return Sample{}, false
}

func fetchURLPort(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
	auth, ok := uriAuthority(m.URI)
	if !ok {
		return Sample{}, false
	}
	_, port, ok := splitHostPort(auth)
	if !ok {
		return Sample{}, false
	}
	if port == 0 {
		port = 80
	}
	return Int(port), true
}

// baseOf returns the first Host value followed by the path (and query).
func baseOf(m *h1.Message, withQuery bool) (Sample, bool) {
	host, _ := hdrOcc(m, "host", false, 1)
	p := pathQuery(m.URI)
	if !withQuery {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
	}
	if host == "" && p == "" {
		return Sample{}, false
	}
	return Str(host + p), true
}

func hash32Of(m *h1.Message, whole bool) (Sample, bool) {
	host, _ := hdrOcc(m, "host", false, 1)
	p := pathQuery(m.URI)
	if !whole {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
	}
	h := SDBM(host + p)
	return Int(int64(fullHash(h))), true
}

func hash32Src(ctx *Ctx, m *h1.Message, whole bool) (Sample, bool) {
	h, _ := hash32Of(m, whole)
	if !ctx.Src.IsValid() {
		return Sample{}, false
	}
	b := []byte{byte(h.Int >> 24), byte(h.Int >> 16), byte(h.Int >> 8), byte(h.Int)}
	b = append(b, ctx.Src.Addr().Unmap().AsSlice()...)
	return Bin(string(b)), true
}

// eachCookie calls fn with each cookie (name, value) of the Cookie
// headers (set false) or Set-Cookie headers (set true) of m.
func eachCookie(m *h1.Message, set bool, fn func(name, value string) bool) {
	hdr := "cookie"
	if set {
		hdr = "set-cookie"
	}
	for i := range m.Headers {
		h := &m.Headers[i]
		if !h1.EqualFold(h.Name, hdr) {
			continue
		}
		v := h.Value
		for v != "" {
			var item string
			if set {
				item, _, _ = strings.Cut(v, ";")
				v = ""
			} else {
				end := strings.IndexAny(v, ";,")
				if end < 0 {
					item, v = v, ""
				} else {
					item, v = v[:end], v[end+1:]
				}
			}
			item = trimLWS(item)
			if item == "" {
				continue
			}
			n, val, _ := strings.Cut(item, "=")
			if !fn(trimLWS(n), trimLWS(val)) {
				return
			}
		}
	}
}

// cookieValue returns the value of the last cookie named name, or of the
// first cookie when name is empty.
func cookieValue(m *h1.Message, set bool, name string) (string, bool) {
	var out string
	found := false
	eachCookie(m, set, func(n, v string) bool {
		if name == "" {
			out, found = v, true
			return false
		}
		if n == name {
			out, found = v, true
		}
		return true
	})
	return out, found
}

func cookieFetches() []*Fetch {
	mk := func(name string, get func(*Ctx) *h1.Message, use Use, set func(*Ctx) bool, out Type, conv func(string) (Sample, bool)) *Fetch {
		return &Fetch{Name: name, Args: Args(0, ArgStr), Out: out, Use: use,
			Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				v, ok := cookieValue(m, set(ctx), a[0].Str)
				if !ok {
					return Sample{}, false
				}
				return conv(v)
			}),
			Each: msgEach(get, func(ctx *Ctx, m *h1.Message, a []Arg, yield func(Sample) bool) {
				eachCookie(m, set(ctx), func(n, v string) bool {
					if a[0].Str != "" && n != a[0].Str {
						return true
					}
					if s, ok := conv(v); ok {
						return yield(s)
					}
					return true
				})
			})}
	}
	cnt := func(name string, get func(*Ctx) *h1.Message, use Use, set func(*Ctx) bool) *Fetch {
		return &Fetch{Name: name, Args: Args(0, ArgStr), Out: TypeSInt, Use: use,
			Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				n := int64(0)
				eachCookie(m, set(ctx), func(cn, _ string) bool {
					if a[0].Str == "" || cn == a[0].Str {
						n++
					}
					return true
				})
				return Int(n), true
			})}
	}
	names := func(name string, get func(*Ctx) *h1.Message, use Use, set bool) *Fetch {
		return &Fetch{Name: name, Args: Args(0, ArgStr), Out: TypeStr, Use: use,
			Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				sep := ","
				if a[0].Str != "" {
					sep = a[0].Str
				}
				var b strings.Builder
				eachCookie(m, set, func(n, _ string) bool {
					if b.Len() > 0 {
						b.WriteString(sep)
					}
					b.WriteString(n)
					return true
				})
				return Str(b.String()), true
			})}
	}
	no := func(*Ctx) bool { return false }
	yes := func(*Ctx) bool { return true }
	dir := func(c *Ctx) bool { return c.Response }
	return []*Fetch{
		mk("req.cook", getReq, UseHRQHV, no, TypeStr, asStr),
		mk("cook", getReq, UseHRQHV, no, TypeStr, asStr),
		mk("req.cook_val", getReq, UseHRQHV, no, TypeSInt, asInt),
		mk("cook_val", getReq, UseHRQHV, no, TypeSInt, asInt),
		cnt("req.cook_cnt", getReq, UseHRQHV, no),
		cnt("cook_cnt", getReq, UseHRQHV, no),
		names("req.cook_names", getReq, UseHRQHV, false),
		mk("res.cook", getRes, UseHRSHV, yes, TypeStr, asStr),
		mk("scook", getRes, UseHRSHV, yes, TypeStr, asStr),
		mk("res.cook_val", getRes, UseHRSHV, yes, TypeSInt, asInt),
		mk("scook_val", getRes, UseHRSHV, yes, TypeSInt, asInt),
		cnt("res.cook_cnt", getRes, UseHRSHV, yes),
		cnt("scook_cnt", getRes, UseHRSHV, yes),
		names("res.cook_names", getRes, UseHRSHV, true),
		mk("cookie", getCur, UseHRQHV|UseHRSHV, dir, TypeStr, asStr),
		mk("set-cookie", getRes, UseHRSHV, yes, TypeStr, asStr),
	}
}

// eachParam calls fn with each name=value parameter of s, delimited by
// any byte of delims.
func eachParam(s, delims string, fn func(name, value string, hasEq bool) bool) {
	for s != "" {
		var seg string
		if i := strings.IndexAny(s, delims); i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			seg, s = s, ""
		}
		n, v, eq := strings.Cut(seg, "=")
		if !fn(n, v, eq) {
			return
		}
	}
}

// urlParams returns the query part for url_param: after the first '?' or
// delim, and the separators.
func urlParams(uri string, a []Arg) (string, string, bool) {
	delim := ""
	if len(a) > 1 {
		delim = a[1].Str
	}
	i := strings.IndexAny(uri, "?"+delim)
	if i < 0 {
		return "", "", false
	}
	return uri[i+1:], "&;" + delim, true
}

func paramMatch(a []Arg, i int, name string) bool {
	want := ""
	if len(a) > 0 {
		want = a[0].Str
	}
	if want == "" {
		return true
	}
	if len(a) > i && a[i].Str == "i" {
		return h1.EqualFold(name, want)
	}
	return name == want
}

func paramFetches() []*Fetch {
	urlp := func(name string, out Type, conv func(string) (Sample, bool)) *Fetch {
		return &Fetch{Name: name, Args: Args(0, ArgStr, ArgStr, ArgStr), Out: out, Use: UseHRQHV,
			Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				q, seps, ok := urlParams(m.URI, a)
				if !ok {
					return Sample{}, false
				}
				var res Sample
				found := false
				eachParam(q, seps, func(n, v string, eq bool) bool {
					if eq && paramMatch(a, 2, n) {
						res, found = conv(v)
						return false
					}
					return true
				})
				return res, found
			}),
			Each: msgEach(getReq, func(_ *Ctx, m *h1.Message, a []Arg, yield func(Sample) bool) {
				q, seps, ok := urlParams(m.URI, a)
				if !ok {
					return
				}
				eachParam(q, seps, func(n, v string, eq bool) bool {
					if eq && paramMatch(a, 2, n) {
						if s, ok := conv(v); ok {
							return yield(s)
						}
					}
					return true
				})
			})}
	}
	return []*Fetch{
		urlp("url_param", TypeStr, asStr),
		urlp("urlp", TypeStr, asStr),
		urlp("urlp_val", TypeSInt, asInt),
	}
}

func bodyFetches() []*Fetch {
	body := func(name string, get func(*Ctx) *h1.Message, use Use) *Fetch {
		return &Fetch{Name: name, Out: TypeBin, Use: use, Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			s := Bin(string(m.Body))
			if !m.BodyComplete && !ctx.Final {
				s.Flags |= MayChange
			}
			return s, true
		})}
	}
	blen := func(name string, get func(*Ctx) *h1.Message, use Use) *Fetch {
		return &Fetch{Name: name, Out: TypeSInt, Use: use, Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			return Int(int64(len(m.Body))), true
		})}
	}
	bsize := func(name string, get func(*Ctx) *h1.Message, use Use) *Fetch {
		return &Fetch{Name: name, Out: TypeSInt, Use: use, Fn: msgFetch(get, func(ctx *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			if m.ContentLength >= 0 {
				return Int(m.ContentLength), true
			}
			return Int(int64(len(m.Body))), true
		})}
	}
	return []*Fetch{
		// HAProxy compat: 2.6 declares the body fetches as reading the
		// headers, so they are usable (and refused) where headers are.
		body("req.body", getReq, UseHRQHV), blen("req.body_len", getReq, UseHRQHV), bsize("req.body_size", getReq, UseHRQHV),
		body("res.body", getRes, UseHRSHV), blen("res.body_len", getRes, UseHRSHV), bsize("res.body_size", getRes, UseHRSHV),
		{Name: "req.body_param", Args: Args(0, ArgStr, ArgStr), Out: TypeStr, Use: UseHRQHV,
			Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				var res string
				found := false
				eachParam(string(m.Body), "&", func(n, v string, _ bool) bool {
					if paramMatch(a, 1, n) {
						res, found = v, true
						return false
					}
					return true
				})
				return Str(res), found
			}),
			Each: msgEach(getReq, func(_ *Ctx, m *h1.Message, a []Arg, yield func(Sample) bool) {
				eachParam(string(m.Body), "&", func(n, v string, _ bool) bool {
					if paramMatch(a, 1, n) {
						return yield(Str(v))
					}
					return true
				})
			})},
	}
}

// Userlist is what the engine resolves a userlist argument to
// (http_auth, http_auth_group).
type Userlist interface {
	// Check tells whether user exists with password pass.
	Check(user, pass string) bool
	// InGroup tells whether user belongs to group.
	InGroup(user, group string) bool
}

// basicAuth returns the credentials of an "Authorization: Basic" header.
func basicAuth(m *h1.Message) (user, pass string, ok bool) {
	v, found := m.Get("Authorization")
	if !found {
		return "", "", false
	}
	scheme, cred, _ := strings.Cut(trimLWS(v), " ")
	if !h1.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(trimLWS(cred))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(dec), ":")
	return user, pass, ok
}

func authFetches() []*Fetch {
	return []*Fetch{
		{Name: "http_auth", Args: Args(1, ArgUserlist), Out: TypeBool, Use: UseHRQHV,
			Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				ul, _ := a[0].Ref.(Userlist)
				u, p, ok := basicAuth(m)
				return Bool(ok && ul != nil && ul.Check(u, p)), true
			})},
		{Name: "http_auth_group", Args: Args(1, ArgUserlist), Out: TypeStr, Use: UseHRQHV,
			Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
				ul, _ := a[0].Ref.(Userlist)
				u, p, ok := basicAuth(m)
				if !ok || ul == nil || !ul.Check(u, p) {
					return Sample{}, false
				}
				s := Str(u)
				return s, true
			})},
		{Name: "http_auth_type", Out: TypeStr, Use: UseHRQHV, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			v, ok := m.Get("Authorization")
			if !ok {
				return Sample{}, false
			}
			// HAProxy 2.6 compat: get_http_auth knows Basic and Bearer only
			scheme, _, _ := strings.Cut(trimLWS(v), " ")
			switch strings.ToLower(scheme) {
			case "basic":
				return Str("Basic"), true
			case "bearer":
				return Str("Bearer"), true
			}
			return Sample{}, false
		})},
		{Name: "http_auth_user", Out: TypeStr, Use: UseHRQHV, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			u, _, ok := basicAuth(m)
			return Str(u), ok
		})},
		{Name: "http_auth_pass", Out: TypeStr, Use: UseHRQHV, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, _ []Arg) (Sample, bool) {
			_, p, ok := basicAuth(m)
			return Str(p), ok
		})},
		{Name: "http_auth_bearer", Args: Args(0, ArgStr), Out: TypeStr, Use: UseHRQHV, Fn: msgFetch(getReq, func(_ *Ctx, m *h1.Message, a []Arg) (Sample, bool) {
			h := "Authorization"
			if len(a) > 0 && a[0].Str != "" {
				h = a[0].Str
			}
			v, ok := m.Get(h)
			if !ok {
				return Sample{}, false
			}
			scheme, tok, _ := strings.Cut(trimLWS(v), " ")
			if !h1.EqualFold(scheme, "Bearer") {
				return Sample{}, false
			}
			return Str(trimLWS(tok)), true
		})},
	}
}
