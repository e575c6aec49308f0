package core

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

// Error messages (manual 3.8 and 4.2): "http-errors <name>" sections of
// "errorfile <code> <file>" lines, the proxy keywords "errorfile",
// "errorfiles <name> [<code> ...]" and "http-error status <code> ...",
// and the "errorfiles <name>" argument of replies. A proxy's messages are
// kept by status in Proxy.ErrorFiles; a later keyword replaces what an
// earlier one set for the same status, and a proxy starts with the
// messages of its defaults section.

// httpErrorsSection is one "http-errors" section.
type httpErrorsSection struct {
	name  string
	line  config.Line
	files map[int]*Reply // raw messages, by status
}

// parseHTTPErrors parses an "http-errors" section.
func (e *Engine) parseHTTPErrors(sec *config.Section) {
	if sec.Name == "" {
		e.addErr(sec.Head.Errorf("missing name for http-errors section."))
		return
	}
	if prev := e.httpErrors[sec.Name]; prev != nil {
		e.addErr(sec.Head.TightErrorf("http-errors section '%s' already exists (declared at %s).", sec.Name, prev.line))
		return
	}
	hs := &httpErrorsSection{name: sec.Name, line: sec.Head, files: map[int]*Reply{}}
	e.httpErrors[sec.Name] = hs
	for _, l := range sec.Lines {
		args := l.EffectiveArgs()
		if args[0] != "errorfile" {
			e.addErr(l.Errorf("unknown keyword '%s' in 'http-errors' section", args[0]))
			continue
		}
		if len(args) < 3 {
			e.addErr(l.Errorf("errorfile: expects <status_code> and <file> as arguments."))
			continue
		}
		code, raw, err := readErrorFile(args[1], args[2], l, "errorfile : ")
		if err != nil {
			e.addErr(err)
			continue
		}
		hs.files[code] = &Reply{Status: code, Raw: raw}
	}
}

// readErrorFile reads the errorfile of status code: HAProxy's messages
// start with prefix.
func readErrorFile(code, file string, l config.Line, prefix string) (int, []byte, error) {
	n, err := strconv.Atoi(code)
	if _, known := errorTexts[n]; err != nil || !known || n < 200 {
		return 0, nil, l.Errorf("%sstatus code '%s' not handled.", prefix, code)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, nil, l.Errorf("%serror opening file '%s'.", prefix, file)
	}
	return n, lowerHeaderNames(b), nil
}

// setErrorMessage makes r px's message for status code.
func (px *Proxy) setErrorMessage(code int, r *Reply) {
	m := make(map[int]*Reply, len(px.ErrorFiles)+1)
	for k, v := range px.ErrorFiles {
		m[k] = v
	}
	m[code] = r
	px.ErrorFiles = m
}

// parseErrorFile parses "errorfile <code> <file>": the file is a whole
// HTTP response, sent as it is.
func parseErrorFile(px *Proxy, l config.Line) error {
	if len(l.Args) != 3 {
		return l.Errorf("'errorfile' expects <code> and <file> as arguments.")
	}
	code, raw, err := readErrorFile(l.Args[1], l.Args[2], l, "'errorfile' : ")
	if err != nil {
		return err
	}
	px.setErrorMessage(code, &Reply{Status: code, Raw: raw})
	return nil
}

// parseErrorFiles parses "errorfiles <name> [<code> ...]": the messages of
// an http-errors section, all of them or those of the codes listed.
func (e *Engine) parseErrorFiles(px *Proxy, l config.Line) error {
	args := l.EffectiveArgs()
	if len(args) < 2 {
		return l.Errorf("errorfiles : expects <name> as argument.")
	}
	hs := e.httpErrors[args[1]]
	if hs == nil {
		return fmt.Errorf("proxy '%s': unknown http-errors section '%s' (at %s).", px.Name, args[1], l)
	}
	if len(args) == 2 {
		for code, r := range hs.files {
			px.setErrorMessage(code, r)
		}
		return nil
	}
	for _, c := range args[2:] {
		code, err := strconv.Atoi(c)
		r := hs.files[code]
		if err != nil || r == nil {
			e.warn(&config.Error{Msg: fmt.Sprintf("config: proxy '%s' : status '%s' not declared in http-errors section '%s' (at %s).",
				px.Name, c, hs.name, l), Warning: true})
			continue
		}
		px.setErrorMessage(code, r)
	}
	return nil
}

// parseHTTPError parses "http-error status <code> [content-type <type>]
// [string <str> | lf-string <fmt> | file <file> | lf-file <file> |
// errorfile <file> | errorfiles <name>] [hdr <name> <fmt>]...": the
// proxy's message for the status, rendered for each stream.
func (e *Engine) parseHTTPError(px *Proxy, l config.Line) error {
	args := l.EffectiveArgs()
	if len(args) < 2 || args[1] != "status" {
		return l.Errorf("http-error : expects at least a <status> as arguments.\n")
	}
	fail := func(format string, a ...any) error { return l.Errorf("http-error : "+format, a...) }
	fmtOf := func(v string) (Format, error) {
		return e.parseRuleFormat(px, HTTPRequest, "http-error", v, l)
	}
	warn := func(format string, a ...any) { e.warn(l.Warnf(format, a...)) }
	r, i, err := e.parseReplyArgs(args, 0, false, fail, fmtOf, warn)
	if err != nil {
		return err
	}
	if i < len(args) {
		return fail("unknown keyword '%s'.", args[i])
	}
	if _, known := errorTexts[r.status]; !known {
		return l.Errorf("http-error: status code '%d' not handled.", r.status)
	}
	var rep *Reply
	if r.errorfiles != "" {
		if rep, err = e.errorfilesReply(px, r.errorfiles, r.status); err != nil {
			return err
		}
	} else {
		rep = &Reply{Status: r.status, spec: r}
	}
	px.setErrorMessage(r.status, rep)
	return nil
}

// errorfilesReply returns the message of the http-errors section name for
// status, as a reply's "errorfiles <name>" argument answers it: an empty
// reply, with a warning, when the section has none.
func (e *Engine) errorfilesReply(px *Proxy, name string, status int) (*Reply, error) {
	hs := e.httpErrors[name]
	if hs == nil {
		return nil, fmt.Errorf("Proxy '%s': unknown http-errors section '%s' referenced by an http reply .", px.Name, name)
	}
	if r := hs.files[status]; r != nil {
		return r, nil
	}
	e.warn(&config.Error{Msg: fmt.Sprintf("Proxy '%s': status '%d' referenced by an http reply not declared in http-errors section '%s'.",
		px.Name, status, name), Warning: true})
	return &Reply{Status: status}, nil
}

// clone returns a copy of r whose header list the caller may change.
func (r *Reply) clone() *Reply {
	c := *r
	c.Headers = append([]h1.Header(nil), r.Headers...)
	return &c
}

// lowerHeaderNames returns the raw HTTP message raw with its header names
// in lower case. HAProxy compat: errorfiles are kept as parsed messages,
// which spell header names so when sent.
func lowerHeaderNames(raw []byte) []byte {
	out := append([]byte(nil), raw...)
	i := bytes.IndexByte(out, '\n') + 1 // after the status line
	for i > 0 && i < len(out) {
		end := bytes.IndexByte(out[i:], '\n')
		if end < 0 {
			end = len(out) - i
		}
		line := out[i : i+end]
		if len(bytes.TrimRight(line, "\r")) == 0 {
			break // end of the head
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			copy(line[:c], bytes.ToLower(line[:c]))
		}
		i += end + 1
	}
	return out
}

// ErrorReply returns the error message for code of the stream's backend,
// else of its frontend, else HAProxy's built-in page (HAProxy's
// http_error_message; the backend is the frontend until one is chosen).
func (s *Stream) ErrorReply(code int) *Reply {
	if be := s.Backend; be != nil && be != s.Frontend {
		if _, ok := be.ErrorFiles[code]; ok {
			return be.errorReply(s, code)
		}
	}
	return s.Frontend.errorReply(s, code)
}

// parseErrorLoc parses "errorloc|errorloc302|errorloc303 <code> <url>":
// the message for code is a redirect (302, 303 for errorloc303) to url,
// spelled as HAProxy writes it.
func parseErrorLoc(px *Proxy, l config.Line) error {
	args := l.EffectiveArgs()
	kw := args[0]
	if len(args) < 3 {
		return l.Errorf("%s : expects <status_code> and <url> as arguments.", kw)
	}
	code, err := strconv.Atoi(args[1])
	if _, known := errorTexts[code]; err != nil || !known {
		return l.Errorf("%s : status code '%s' not handled.", kw, args[1])
	}
	status := 302
	if kw == "errorloc303" {
		status = 303
	}
	raw := "HTTP/1.1 " + strconv.Itoa(status) + " " + Reason(status) + "\r\ncache-control: no-cache\r\ncontent-length: 0\r\nlocation: " + args[2] + "\r\n\r\n"
	px.setErrorMessage(code, &Reply{Status: status, Raw: []byte(raw)})
	return nil
}
