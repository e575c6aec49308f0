package h1

import "strings"

// Header is one header line as received: name case and order are kept.
type Header struct {
	Name, Value string
}

// Message is the head of an HTTP/1.x request or response, plus the body
// bytes buffered so far when someone asked to see the body (wait-for-body,
// Lua).
type Message struct {
	// Request line (IsResponse false).
	Method, URI string
	// RecvMethod is the method as received once a rule changed Method
	// (core.SetMethod), empty before: HAProxy keeps the method it parsed
	// for its "method" fetch.
	RecvMethod string
	// Status line (IsResponse true).
	Status int
	Reason string
	// Version as received: "HTTP/1.1", "HTTP/1.0", or any "HTTP/d.d"
	// HAProxy accepts (see IsHTTP11).
	Version    string
	IsResponse bool

	// Headers in wire order, names as written.
	Headers []Header

	// Framing, derived from the headers when parsed (and kept in sync by
	// the codec when a message is written).
	ContentLength int64 // -1 when absent
	Chunked       bool

	// Body holds the decoded body bytes received so far, when buffered;
	// BodyComplete says the whole body is in Body.
	Body         []byte
	BodyComplete bool

	// Trailers are the trailer fields after a chunked body, in wire order,
	// once the body has been read to its end.
	Trailers []Header

	// Framing says how the body after this head is delimited, set by
	// Reader.ReadRequest and Reader.ReadResponse (see Framing). Unlike
	// ContentLength and Chunked, which report the headers, it accounts
	// for the method and the status (a response to HEAD has no body
	// whatever its Content-Length).
	Framing Framing

	// Conn holds the connection options found when the message was parsed.
	// HAProxy compat: the parser removes "close" and "keep-alive" from the
	// Connection header, as HAProxy 2.6 does, so they are only here.
	Conn ConnFlags
}

// ConnFlags are connection options of a parsed message.
type ConnFlags uint8

const (
	ConnClose     ConnFlags = 1 << iota // "Connection: close"
	ConnKeepAlive                       // "Connection: keep-alive"
	ConnUpgrade                         // "Connection: upgrade"
	// ConnForceClose: the framing makes the connection unsafe to reuse
	// (Transfer-Encoding with Content-Length, or with HTTP/1.0).
	ConnForceClose
)

// Reset empties m for reuse, keeping the capacity of its slices.
func (m *Message) Reset() {
	clear(m.Headers)
	clear(m.Trailers)
	*m = Message{
		Headers:       m.Headers[:0],
		Trailers:      m.Trailers[:0],
		Body:          m.Body[:0],
		ContentLength: -1,
	}
}

// Get returns the value of the first header named name (case-insensitive).
func (m *Message) Get(name string) (string, bool) {
	for i := range m.Headers {
		if EqualFold(m.Headers[i].Name, name) {
			return m.Headers[i].Value, true
		}
	}
	return "", false
}

// Values returns the values of every header named name, in order
// (full header lines: no splitting on commas).
func (m *Message) Values(name string) []string {
	var out []string
	for i := range m.Headers {
		if EqualFold(m.Headers[i].Name, name) {
			out = append(out, m.Headers[i].Value)
		}
	}
	return out
}

// Add appends a header line.
func (m *Message) Add(name, value string) {
	m.Headers = append(m.Headers, Header{name, value})
}

// Del removes every header named name and reports how many it removed.
func (m *Message) Del(name string) int {
	n := 0
	kept := m.Headers[:0]
	for _, h := range m.Headers {
		if EqualFold(h.Name, name) {
			n++
			continue
		}
		kept = append(kept, h)
	}
	clear(m.Headers[len(kept):])
	m.Headers = kept
	return n
}

// Set replaces every header named name by one line name: value, at the
// position of the first one (or at the end).
func (m *Message) Set(name, value string) {
	for i := range m.Headers {
		if EqualFold(m.Headers[i].Name, name) {
			m.Headers[i] = Header{name, value}
			rest := m.Headers[i+1:]
			kept := rest[:0]
			for _, h := range rest {
				if !EqualFold(h.Name, name) {
					kept = append(kept, h)
				}
			}
			clear(rest[len(kept):])
			m.Headers = m.Headers[:i+1+len(kept)]
			return
		}
	}
	m.Add(name, value)
}

// Path returns the path part of a request URI: for an absolute URI
// ("http://host/p?q") the part from the first slash after the authority,
// without the query string; "*" for "OPTIONS *".
func (m *Message) Path() string {
	u := m.URI
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		j := strings.IndexByte(u, '/')
		if j < 0 {
			return ""
		}
		u = u[j:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

// Query returns the query string of a request URI, without the '?', and
// whether there was one.
func (m *Message) Query() (string, bool) {
	i := strings.IndexByte(m.URI, '?')
	if i < 0 {
		return "", false
	}
	return m.URI[i+1:], true
}
