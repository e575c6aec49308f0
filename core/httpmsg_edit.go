package core

// Editing HTTP messages: the header, URI and status helpers of the
// http-request/http-response actions (and of Lua's txn.http).

import (
	"fmt"
	"regexp"
	"strings"

	"luaproxy/netio/h1"
)

// headerNameMatcher parses the "-m <meth>" of del-header: nil for the
// default exact match. Names compare case-insensitively; a regex sees
// them lower-cased, as HAProxy stores them.
func headerNameMatcher(name string, rest []string) (func(string) bool, error) {
	if len(rest) == 0 {
		return nil, nil
	}
	if rest[0] != "-m" || len(rest) < 2 {
		return nil, fmt.Errorf("unexpected argument '%s'", rest[0])
	}
	if len(rest) > 2 {
		return nil, fmt.Errorf("unexpected argument '%s'", rest[2])
	}
	lname := strings.ToLower(name)
	switch rest[1] {
	case "str":
		return nil, nil
	case "beg":
		return func(h string) bool { return strings.HasPrefix(strings.ToLower(h), lname) }, nil
	case "end":
		return func(h string) bool { return strings.HasSuffix(strings.ToLower(h), lname) }, nil
	case "sub":
		return func(h string) bool { return strings.Contains(strings.ToLower(h), lname) }, nil
	case "reg":
		re, err := regexp.Compile(name)
		if err != nil {
			return nil, fmt.Errorf("invalid regex '%s' : %v", name, err)
		}
		return func(h string) bool { return re.MatchString(strings.ToLower(h)) }, nil
	}
	return nil, fmt.Errorf("-m with unsupported matching method '%s'", rest[1])
}

// ReplaceHeader applies a regex replacement to the headers named name:
// to the whole value, or to each comma-separated value (perValue), as
// replace-header / replace-value and Lua's req_rep_header do.
func ReplaceHeader(m *h1.Message, name, re, repl string, perValue bool) error {
	rx, err := regexp.Compile(re)
	if err != nil {
		return err
	}
	replaceHeader(m, name, rx, repl, perValue)
	return nil
}

// replaceHeader replaces, as HAProxy does, each value (or each
// comma-separated element) that re matches somewhere with repl, where \N
// is the Nth group of the match. An element that changes loses the
// blanks before it: "a, b" becomes "a,B".
func replaceHeader(m *h1.Message, name string, re *regexp.Regexp, repl string, perValue bool) {
	for i := range m.Headers {
		h := &m.Headers[i]
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		if !perValue {
			h.Value = replaceRegex(re, h.Value, repl)
			continue
		}
		parts := strings.Split(h.Value, ",")
		for j, p := range parts {
			v := strings.Trim(p, " \t")
			if r := replaceRegex(re, v, repl); r != v || re.MatchString(v) {
				parts[j] = r
			}
		}
		h.Value = strings.Join(parts, ",")
	}
}

// SetURI replaces the URI of a request. HAProxy compat
// (http_replace_req_uri): an absolute URI's authority becomes the value
// of the Host header.
func SetURI(m *h1.Message, uri string) {
	m.URI = uri
	if i := strings.Index(uri, "://"); i > 0 && !strings.ContainsAny(uri[:i], "/?") {
		auth := uri[i+3:]
		if j := strings.IndexAny(auth, "/?"); j >= 0 {
			auth = auth[:j]
		}
		if _, ok := m.Get("host"); ok && auth != "" {
			m.Del("host")
			m.Add("host", auth)
		}
	}
}

// SetMethod replaces the method of a request, keeping the one received
// in m.RecvMethod.
func SetMethod(m *h1.Message, method string) {
	if m.RecvMethod == "" {
		m.RecvMethod = m.Method
	}
	m.Method = method
}

// SetPath replaces the path of a request URI, keeping its query string.
func SetPath(m *h1.Message, path string) {
	q, hasQ := m.Query()
	m.URI = path
	if hasQ {
		m.URI += "?" + q
	}
}

// SetQuery replaces the query string of a request URI ("" empties it).
//
// HAProxy compat (http_replace_req_query): an empty query keeps the '?'
// of a URI that has one, and a leading '?' in q is part of the query.
func SetQuery(m *h1.Message, q string) {
	p := m.URI
	hadQ := false
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p, hadQ = p[:i], true
	}
	if q != "" || hadQ {
		p += "?" + q
	}
	m.URI = p
}

// statusReason is HAProxy's http_get_reason: the standard reason, else
// one per status class.
func statusReason(code int) string {
	if r := Reason(code); r != "" && r != "Unknown" {
		return r
	}
	return ClassReason(code)
}

// ClassReason is the reason HAProxy gives a status without a standard
// phrase: one per class ("Success", "Client Error", ..., "Other").
func ClassReason(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "Informational"
	case code >= 200 && code < 300:
		return "Success"
	case code >= 300 && code < 400:
		return "Redirection"
	case code >= 400 && code < 500:
		return "Client Error"
	case code >= 500 && code < 600:
		return "Server Error"
	}
	return "Other"
}

// replaceRegex replaces the whole value v with repl when re matches
// somewhere in it, expanding \1..\9 from the match.
func replaceRegex(re *regexp.Regexp, v, repl string) string {
	m := re.FindStringSubmatchIndex(v)
	if m == nil {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c == '\\' && i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
			g := int(repl[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(v[m[2*g]:m[2*g+1]])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
