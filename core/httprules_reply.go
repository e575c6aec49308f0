package core

// The replies of the return, deny, tarpit and redirect actions: their
// arguments and how they are rendered.

import (
	"net/http"
	"os"
	"strings"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

// replyHdr is a "hdr <name> <fmt>" argument of an HTTP reply.
type replyHdr struct {
	name string
	val  Format
}

// replySpec is a parsed HTTP reply (HAProxy's http_reply): the arguments
// of return, deny and tarpit rules and of "http-error".
type replySpec struct {
	status int
	// statusKw: the status was set by "status" (deny_status is the
	// legacy spelling, which keeps the error message).
	statusKw bool
	ctype    string
	body     Format
	hasBody  bool
	hdrs     []replyHdr
	// raw is the file of "errorfile", sent as it is; errorfiles the
	// http-errors section named by "errorfiles".
	raw        []byte
	errorfiles string
	payload    string // the payload keyword, "" for none
}

// parseReplyArgs parses the words of an HTTP reply from w[1:]: "[status
// N] [content-type T] [string S | lf-string F | file F | lf-file F |
// errorfile F | errorfiles N] [hdr N V]...". It stops at the first word
// it does not know and returns its index. Messages go through fail; fmtOf
// parses a log-format argument.
func (e *Engine) parseReplyArgs(w []string, status int, deny bool, fail func(format string, a ...any) error,
	fmtOf func(string) (Format, error), warn func(format string, a ...any)) (*replySpec, int, error) {
	r := &replySpec{status: status, body: literal("")}
	i := 1
loop:
	for ; i < len(w); i++ {
		// HAProxy compat: an empty word ends the arguments (a C string)
		arg := func() (string, bool) {
			if i+1 >= len(w) || w[i+1] == "" {
				return "", false
			}
			i++
			return w[i], true
		}
		arg0 := w[i]
		legacy := deny && arg0 == "deny_status"
		if legacy {
			arg0 = "status"
		}
		switch kw := arg0; kw {
		case "status":
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'status' expects <status_code> as argument")
			}
			n := cAtoi(v)
			if n < 200 || n > 599 {
				return nil, 0, fail("Unexpected status code '%d'", n)
			}
			r.status, r.statusKw = n, !legacy
		case "content-type":
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'content-type' expects <ctype> as argument")
			}
			r.ctype = v
		case "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles":
			what := map[string]string{"string": "<str>", "lf-string": "<fmt>", "file": "<file>", "lf-file": "<file>",
				"errorfile": "<fmt>", "errorfiles": "<name>"}[kw]
			if r.payload != "" {
				return nil, 0, fail("unexpected '%s' argument, '%s' already defined", kw, r.payload)
			}
			r.payload = kw
			v, ok := arg()
			if !ok {
				return nil, 0, fail("'%s' expects %s as argument", kw, what)
			}
			var err error
			switch kw {
			case "string":
				r.body = literal(v)
				r.hasBody = true
			case "lf-string":
				if r.body, err = fmtOf(v); err != nil {
					return nil, 0, err
				}
				r.hasBody = true
			case "errorfiles":
				r.errorfiles = v
			case "file", "lf-file", "errorfile":
				b, err := os.ReadFile(v)
				if err != nil {
					if kw == "errorfile" {
						return nil, 0, fail("error opening file '%s'.", v)
					}
					return nil, 0, fail("error opening file '%s'", v)
				}
				switch kw {
				case "lf-file":
					if r.body, err = fmtOf(string(b)); err != nil {
						return nil, 0, err
					}
					r.hasBody = true
				case "errorfile":
					r.raw = lowerHeaderNames(b)
				default:
					r.body = literal(b)
					r.hasBody = true
				}
			}
		case "hdr":
			if i+2 >= len(w) || w[i+1] == "" || w[i+2] == "" {
				return nil, 0, fail("'hdr' expects <name> and <value> as arguments")
			}
			f, err := fmtOf(w[i+2])
			if err != nil {
				return nil, 0, err
			}
			r.hdrs = append(r.hdrs, replyHdr{w[i+1], f})
			i += 2
		default:
			break loop // the rule's condition, or a word it reports
		}
	}
	if r.raw != nil || r.errorfiles != "" {
		// HAProxy compat: the message is the file's, as it is
		if r.ctype != "" {
			warn("content-type '%s' ignored by the http reply when used with an erorrfile.", r.ctype)
			r.ctype = ""
		}
		if len(r.hdrs) > 0 {
			warn("hdr parameters ignored by the http reply when used with an erorrfile.")
			r.hdrs = nil
		}
		return r, i, nil
	}
	if r.hasBody && r.ctype == "" {
		return nil, 0, fail("a content type must be defined when non-empty payload is configured")
	}
	return r, i, nil
}

// errorMessage tells whether the reply is the proxy's error message for
// its status: a deny or tarpit rule without any argument but deny_status.
// HAProxy 2.6 compat: "status N" alone answers an empty message.
func (r *replySpec) errorMessage(deny bool) bool {
	return deny && !r.statusKw && r.payload == "" && r.ctype == "" && len(r.hdrs) == 0
}

// render builds the reply for stream s (nil for a reply whose formats
// are all literal).
func (r *replySpec) render(s *Stream) *Reply {
	if r.raw != nil {
		return &Reply{Status: r.status, Raw: r.raw}
	}
	// HAProxy compat: the standard reason, not its error pages' spelling
	reason := http.StatusText(r.status)
	if reason == "" {
		reason = ClassReason(r.status)
	}
	rep := &Reply{Status: r.status, Reason: reason, Body: []byte(r.body.Render(s))}
	for _, h := range r.hdrs {
		rep.Headers = append(rep.Headers, h1.Header{Name: h.name, Value: h.val.Render(s)})
	}
	if r.ctype != "" { // after the "hdr" ones, as HAProxy writes them
		rep.Headers = append(rep.Headers, h1.Header{Name: "content-type", Value: r.ctype})
	}
	return rep
}

// parseReturn parses the reply of "return", "deny" and "tarpit" rules
// (parseReplyArgs). deny and tarpit also spell status deny_status;
// without any argument they answer the proxy's error message for the
// status, which must then be one HAProxy has.
func (e *Engine) parseReturn(px *Proxy, rs RuleSet, kw string, w []string, l config.Line, status int) (httpAction, int, error) {
	deny := kw != "return"
	fail := func(format string, a ...any) error { return ruleErrorf(px, rs, kw, l, format, a...) }
	fmtOf := func(v string) (Format, error) { return e.parseRuleFormat(px, rs, kw, v, l) }
	warn := func(format string, a ...any) { e.warn(l.Warnf(format, a...)) }
	r, i, err := e.parseReplyArgs(w, status, deny, fail, fmtOf, warn)
	if err != nil {
		return nil, 0, err
	}
	if r.errorMessage(deny) {
		if !defaultErrorStatus(r.status) {
			return nil, 0, fail("status code '%d' not handled by default with 'default-errorfiles' argument.", r.status)
		}
		return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
			return Done, s.ErrorReply(r.status)
		}, i, nil
	}
	if r.errorfiles != "" {
		rep, err := e.errorfilesReply(px, r.errorfiles, r.status)
		if err != nil {
			return nil, 0, err
		}
		return func(*Stream, *HTTPTxn, bool) (Verdict, *Reply) { return Done, rep.clone() }, i, nil
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		return Done, r.render(s)
	}, i, nil
}

// parseRedirect parses "redirect location|prefix|scheme <fmt> [code N]
// [drop-query] [append-slash] [ignore-empty] [set-cookie X] [clear-cookie X]".
func (e *Engine) parseRedirect(px *Proxy, rs RuleSet, w []string, l config.Line) (httpAction, int, error) {
	rerr := func(format string, a ...any) (httpAction, int, error) {
		return nil, 0, ruleErrorf(px, rs, "redirect", l, format, a...)
	}
	var kind, tgt string
	code := 302
	dropQuery, appendSlash, ignoreEmpty := false, false, false
	var cookie string
	i := 1
	for ; i < len(w) && w[i] != ""; i++ {
		// HAProxy compat: an empty word ends the arguments (a C string)
		arg := func() (string, bool) {
			if i+1 >= len(w) || w[i+1] == "" {
				return "", false
			}
			i++
			return w[i], true
		}
		switch kw := w[i]; kw {
		case "location", "prefix", "scheme":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			kind, tgt = kw, v
		case "code":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			n := cAtoi(v)
			if n < 301 || n > 308 || n == 304 || n == 305 || n == 306 {
				return rerr("'%s': unsupported HTTP code '%s' (must be one of 301, 302, 303, 307 or 308)", kw, v)
			}
			code = n
		case "drop-query":
			dropQuery = true
		case "append-slash":
			appendSlash = true
		case "ignore-empty":
			ignoreEmpty = true
		case "set-cookie", "clear-cookie":
			v, ok := arg()
			if !ok {
				return rerr("missing argument for '%s'", kw)
			}
			if kw == "set-cookie" {
				cookie = v + "; path=/;"
			} else {
				cookie = v + "; path=/; Max-Age=0;"
			}
		case "if", "unless":
			goto done
		default:
			return rerr("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was '%s')", kw)
		}
	}
done:
	if kind == "" {
		return rerr("redirection type expected ('prefix', 'location', or 'scheme')")
	}
	target, err := e.parseRuleFormat(px, rs, "redirect", tgt, l)
	if err != nil {
		return nil, 0, err
	}
	return func(s *Stream, tx *HTTPTxn, res bool) (Verdict, *Reply) {
		t := target.Render(s)
		if t == "" && ignoreEmpty {
			return Continue, nil
		}
		req := &tx.Req
		var loc string
		switch kind {
		case "location":
			loc = t
		case "prefix":
			uri := req.URI
			if dropQuery {
				if i := strings.IndexByte(uri, '?'); i >= 0 {
					uri = uri[:i]
				}
			}
			if appendSlash && !strings.HasSuffix(uri, "/") && !strings.Contains(uri, "?") {
				uri += "/"
			}
			if t == "/" {
				t = ""
			}
			loc = t + uri
		case "scheme":
			host, _ := req.Get("host")
			uri := req.URI
			if dropQuery {
				if i := strings.IndexByte(uri, '?'); i >= 0 {
					uri = uri[:i]
				}
			}
			loc = t + "://" + host + uri
		}
		r := &Reply{Status: code, Headers: []h1.Header{{Name: "location", Value: loc}}}
		if code == 302 || code == 303 || code == 307 {
			// HAProxy compat: temporary redirects must not be cached
			r.Headers = append(r.Headers, h1.Header{Name: "cache-control", Value: "no-cache"})
		}
		if cookie != "" {
			r.Headers = append(r.Headers, h1.Header{Name: "set-cookie", Value: cookie})
		}
		return Done, r
	}, i, nil
}
