package h1_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"luaproxy/netio/h1"
)

func TestFraming(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		response bool
		method   string
		framing  h1.Framing
		body     string
		trailers []h1.Header
		rest     string // buffered after the body
	}{
		{name: "length", in: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloNEXT",
			framing: h1.FramingLength, body: "hello", rest: "NEXT"},
		{name: "lengthZero", in: "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nNEXT",
			framing: h1.FramingLength, rest: "NEXT"},
		{name: "noBody", in: "POST / HTTP/1.1\r\n\r\nNEXT", framing: h1.FramingNone, rest: "NEXT"},
		{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
			framing: h1.FramingChunked, body: "hello world", rest: "NEXT"},
		{name: "chunkedExtensions", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val;x\r\nhello\r\n0;last\r\n\r\n",
			framing: h1.FramingChunked, body: "hello"},
		{name: "chunkedTrailers", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\nx-other:  v \r\n\r\nNEXT",
			framing: h1.FramingChunked, body: "hello", trailers: hdrs("X-Sum", "42", "x-other", "v"), rest: "NEXT"},
		{name: "chunkedBareLF", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\nT: 1\n\n",
			framing: h1.FramingChunked, body: "hello", trailers: hdrs("T", "1")},
		{name: "chunkedUpperHex", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
			framing: h1.FramingChunked, body: "0123456789"},
		{name: "closeDelimited", in: "HTTP/1.1 200 OK\r\n\r\nall of it\r\n\r\nHTTP/1.1 200 OK\r\n", response: true, method: "GET",
			framing: h1.FramingClose, body: "all of it\r\n\r\nHTTP/1.1 200 OK\r\n"},
		{name: "responseLength", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT", response: true, method: "GET",
			framing: h1.FramingLength, body: "ok", rest: "NEXT"},
		{name: "head", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nNEXT", response: true, method: "HEAD",
			framing: h1.FramingNone, rest: "NEXT"},
		{name: "headChunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nNEXT", response: true, method: "HEAD",
			framing: h1.FramingNone, rest: "NEXT"},
		{name: "204", in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nNEXT", response: true, method: "GET",
			framing: h1.FramingNone, rest: "NEXT"},
		{name: "304", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nNEXT", response: true, method: "GET",
			framing: h1.FramingNone, rest: "NEXT"},
		{name: "100", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", response: true, method: "POST",
			framing: h1.FramingNone, rest: "HTTP/1.1 200 OK\r\n"},
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw bytes", response: true, method: "GET",
			framing: h1.FramingTunnel, rest: "raw bytes"},
		{name: "connect", in: "CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01", framing: h1.FramingNone, rest: "\x16\x03\x01"},
		{name: "connect200", in: "HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03", response: true, method: "CONNECT",
			framing: h1.FramingTunnel, rest: "\x16\x03\x03"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"whole", "byte"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var rd io.Reader = strings.NewReader(tt.in)
				if mode == "byte" {
					rd = iotest.OneByteReader(rd)
				}
				r := h1.NewReader(rd, 0)
				var m h1.Message
				var err error
				if tt.response {
					err = r.ReadResponse(&m, h1.Limits{}, tt.method)
				} else {
					err = r.ReadRequest(&m, h1.Limits{})
				}
				if err != nil {
					t.Fatal(err)
				}
				if m.Framing != tt.framing {
					t.Errorf("framing %v, want %v", m.Framing, tt.framing)
				}
				body, err := io.ReadAll(bodyReader{r})
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != tt.body || !reflect.DeepEqual(m.Trailers, tt.trailers) && len(m.Trailers)+len(tt.trailers) > 0 {
					t.Errorf("body %q trailers %v, want %q %v", body, m.Trailers, tt.body, tt.trailers)
				}
				if mode == "whole" && string(r.Peek()) != tt.rest {
					t.Errorf("buffered %q, want %q", r.Peek(), tt.rest)
				}
			})
		}
	}
}

func TestBodyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"lengthTruncated", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", io.ErrUnexpectedEOF},
		{"chunkTruncated", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", io.ErrUnexpectedEOF},
		{"noLastChunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", io.ErrUnexpectedEOF},
		{"trailersTruncated", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n", io.ErrUnexpectedEOF},
		{"badSize", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", h1.ErrChunk},
		{"badTrailer", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\r\n\r\n", h1.ErrHeaderLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h1.NewReader(strings.NewReader(tt.in), 0)
			var m h1.Message
			if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(bodyReader{r})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if _, again := r.ReadBody(make([]byte, 10)); again != err {
				t.Errorf("error not sticky: %v then %v", err, again)
			}
		})
	}
	// A bad response body is a 502.
	r := h1.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n: x\r\n\r\n"), 0)
	var m h1.Message
	if err := r.ReadResponse(&m, h1.Limits{}, "GET"); err != nil {
		t.Fatal(err)
	}
	var e *h1.Error
	if _, err := io.ReadAll(bodyReader{r}); !errors.As(err, &e) || e.Status != 502 {
		t.Errorf("bad trailer in a response: %v", err)
	}
}

func TestPipelining(t *testing.T) {
	in := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody" +
		"PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
	want := []struct{ uri, body string }{{"/1", ""}, {"/2", "body"}, {"/3", "hi"}}
	for _, mode := range []string{"oneWrite", "byteAtATime", "skipBodies"} {
		t.Run(mode, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(in)
			if mode == "byteAtATime" {
				rd = iotest.OneByteReader(rd)
			}
			r := h1.NewReader(rd, 0)
			var m h1.Message
			for i, w := range want {
				if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if m.URI != w.uri {
					t.Errorf("request %d: URI %q, want %q", i, m.URI, w.uri)
				}
				if i == 0 && mode == "oneWrite" && r.Buffered() != len(in)-len("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n") {
					t.Errorf("after the first head, %d bytes buffered", r.Buffered())
				}
				if mode == "skipBodies" {
					continue // the next ReadRequest discards the body
				}
				body, err := io.ReadAll(bodyReader{r})
				if err != nil || string(body) != w.body {
					t.Errorf("request %d: body %q, %v", i, body, err)
				}
			}
			if err := r.ReadRequest(&m, h1.Limits{}); err != io.EOF {
				t.Errorf("after the last request: %v, want io.EOF", err)
			}
		})
	}
}

func TestBufferBody(t *testing.T) {
	in := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	for _, tt := range []struct {
		max      int
		complete bool
		body     string
	}{{100, true, "hello world"}, {11, true, "hello world"}, {10, false, "hello worl"}, {0, false, ""}} {
		r := h1.NewReader(iotest.HalfReader(strings.NewReader(in)), 0)
		var m h1.Message
		if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
			t.Fatal(err)
		}
		err := r.BufferBody(&m, tt.max)
		if tt.complete != (err == nil) || !tt.complete && err != h1.ErrBodyTooLarge {
			t.Errorf("max %d: %v", tt.max, err)
		}
		if string(m.Body) != tt.body || m.BodyComplete != tt.complete {
			t.Errorf("max %d: body %q complete %v", tt.max, m.Body, m.BodyComplete)
		}
		// Nothing is lost: the rest reads on.
		rest, err := io.ReadAll(bodyReader{r})
		if err != nil || string(m.Body)+string(rest) != "hello world" {
			t.Errorf("max %d: rest %q, %v", tt.max, rest, err)
		}
	}
}

// TestBufferSome takes what each read delivers, then the end of the body
// on a call of its own when the last chunk comes later.
func TestBufferSome(t *testing.T) {
	pr, pw := io.Pipe()
	r := h1.NewReader(pr, 0)
	go func() {
		for _, p := range []string{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n", "6\r\n world\r\n", "0\r\n\r\n"} {
			_, _ = io.WriteString(pw, p)
		}
	}()
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hello", "hello world", "hello world"} {
		if err := r.BufferSome(&m, 100); err != nil || string(m.Body) != want {
			t.Fatalf("body %q, %v; want %q", m.Body, err, want)
		}
	}
	if !m.BodyComplete {
		t.Errorf("the end of the body was not seen")
	}
	if err := r.BufferSome(&m, 5); err != nil || !m.BodyComplete {
		t.Errorf("after the end: %v", err)
	}
}

// TestTunnel hands the bytes after a CONNECT over to the tunnel.
func TestTunnel(t *testing.T) {
	r := h1.NewReader(strings.NewReader("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01tls"), 0)
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	if !m.IsConnect() || r.Buffered() != 6 || string(r.Peek()) != "\x16\x03\x01tls" {
		t.Fatalf("connect %v, buffered %q", m.IsConnect(), r.Peek())
	}
	if n := r.Discard(100); n != 6 || r.Buffered() != 0 {
		t.Errorf("Discard: %d, %d left", n, r.Buffered())
	}
}

// TestConn reads keep-alive requests from a real loopback connection
// written in small pieces, and answers each.
func TestConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		r := h1.NewReader(c, 0)
		var req h1.Message
		for {
			if err := r.ReadRequest(&req, h1.Limits{}); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
			body, err := io.ReadAll(bodyReader{r})
			if err != nil {
				done <- err
				return
			}
			resp := h1.Message{IsResponse: true, Version: "HTTP/1.1", Status: 200, Reason: "OK"}
			resp.Add("X-URI", req.URI)
			resp.SetChunked()
			out := h1.AppendHead(nil, &resp)
			out = h1.AppendChunk(out, body)
			out = h1.AppendLastChunk(out, []h1.Header{{Name: "X-Len", Value: "n"}})
			if _, err := c.Write(out); err != nil {
				done <- err
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	reqs := "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none" +
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
	for i := 0; i < len(reqs); i += 7 { // small writes: heads arrive in pieces
		if _, err := c.Write([]byte(reqs[i:min(i+7, len(reqs))])); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	r := h1.NewReader(c, 0)
	var resp h1.Message
	for _, want := range []struct{ uri, body string }{{"/a", "one"}, {"/b", "two"}, {"/c", ""}} {
		if err := r.ReadResponse(&resp, h1.Limits{}, "POST"); err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(bodyReader{r})
		if got, _ := resp.Get("X-URI"); err != nil || got != want.uri || string(body) != want.body ||
			len(resp.Trailers) != 1 || !resp.KeepAlive() {
			t.Errorf("response %q %q %v %v", got, body, resp.Trailers, err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPipe uses net.Pipe, where every write is one read.
func TestPipe(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		for _, piece := range []string{"GE", "T / HTTP/1.1\r", "\nHost: a\r\nContent-Le", "ngth: 5\r\n", "\r\nhel", "lo"} {
			client.Write([]byte(piece))
		}
		client.Close()
	}()
	r := h1.NewReader(server, 0)
	var m h1.Message
	if err := r.ReadRequest(&m, h1.Limits{}); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	if _, err := io.Copy(&body, bodyReader{r}); err != nil || body.String() != "hello" {
		t.Fatalf("body %q, %v", body.String(), err)
	}
	if err := r.ReadRequest(&m, h1.Limits{}); err != io.EOF {
		t.Fatalf("after close: %v", err)
	}
}

// TestOneByteFacts: every fact gets the same verdict when its bytes come
// one at a time, except where HAProxy's URI fast path makes it depend on
// the arrival of the bytes.
func TestOneByteFacts(t *testing.T) {
	for _, f := range append(requestFacts, sizeFacts()...) {
		if strings.Contains(f.name, "FastPath") || f.name == "uriDEL" {
			continue
		}
		if got := verdict(iotest.OneByteReader(strings.NewReader(f.in)), false, ""); got != f.want {
			t.Errorf("%s: %d a byte at a time, %d at once", f.name, got, f.want)
		}
	}
}

// timeoutError is what a net.Conn returns past its read deadline.
type timeoutError struct{}

func (timeoutError) Error() string { return "i/o timeout" }
func (timeoutError) Timeout() bool { return true }

// stallingReader hands out one byte per read, with a timeout between
// every two.
type stallingReader struct {
	rd    io.Reader
	stall bool
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.stall = !s.stall; s.stall {
		return 0, timeoutError{}
	}
	return s.rd.Read(p[:1])
}

// TestTimeouts: a read deadline does not break the reader; calling again
// resumes where it stopped, in a head, a chunked body or its trailers.
func TestTimeouts(t *testing.T) {
	in := "POST /1 HTTP/1.1\r\nConnection: close, x\r\nX: a\r\n b\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;e\r\nhello\r\n0\r\nT: 1\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	r := h1.NewReader(&stallingReader{rd: strings.NewReader(in)}, 0)
	var m h1.Message
	retry := func(f func() error) error {
		for {
			err := f()
			if _, ok := err.(timeoutError); !ok {
				return err
			}
		}
	}
	readBody := func() (string, error) {
		var body []byte
		p := make([]byte, 3)
		err := retry(func() error {
			n, err := r.ReadBody(p)
			body = append(body, p[:n]...)
			if err == nil {
				return timeoutError{} // go on
			}
			return err
		})
		if err == io.EOF {
			err = nil
		}
		return string(body), err
	}
	if err := retry(func() error { return r.ReadRequest(&m, h1.Limits{}) }); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get("X"); m.URI != "/1" || v != "a   b" || len(m.Headers) != 3 || m.Headers[0].Value != "x" {
		t.Fatalf("first head %+v", m)
	}
	if body, err := readBody(); body != "hello" || err != nil || len(m.Trailers) != 1 {
		t.Fatalf("first body %q %v %v", body, m.Trailers, err)
	}
	if err := retry(func() error { return r.ReadRequest(&m, h1.Limits{}) }); err != nil || m.URI != "/2" {
		t.Fatal(m.URI, err)
	}
	if body, err := readBody(); body != "abc" || err != nil {
		t.Fatalf("second body %q %v", body, err)
	}
}
