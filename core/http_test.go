package core

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// origin is a loopback HTTP server echoing what it received in headers.
func origin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-URI", r.RequestURI)
		w.Header().Set("X-XFF", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Test", r.Header.Get("X-Test"))
		w.Header().Set("X-Body", string(body))
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush()
			io.WriteString(w, "part1-")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			return
		case "/204":
			w.WriteHeader(204)
			return
		}
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, &conns
}

// client is a raw HTTP/1.1 client on one connection.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response with net/http's parser.
func (c *client) read(method string) (*http.Response, string) {
	c.t.Helper()
	res, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("reading body: %v", err)
	}
	return res, string(b)
}

func (c *client) get(path string, hdrs ...string) (*http.Response, string) {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n" + strings.Join(hdrs, "") + "\r\n")
	return c.read("GET")
}

func httpProxy(t *testing.T, extra string, backendAddr string) *Engine {
	t.Helper()
	e, _ := startEngine(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:0
%s
    default_backend be
backend be
    server s1 %s
`, extra, backendAddr))
	return e
}

func TestHTTPKeepAliveAndReuse(t *testing.T) {
	ts, conns := origin(t)
	e := httpProxy(t, "", ts.Listener.Addr().String())
	c := dialClient(t, e.Addrs()[0].String())
	for i := 0; i < 5; i++ {
		res, body := c.get(fmt.Sprintf("/p%d?q=1", i))
		if res.StatusCode != 200 || body != fmt.Sprintf("hello /p%d", i) || res.Header.Get("X-URI") != fmt.Sprintf("/p%d?q=1", i) {
			t.Fatalf("response %d: %v %q", i, res.Status, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("server connections: %d, want 1 (reused)", n)
	}
	// Pipelining: three requests in one write.
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, p := range []string{"/a", "/b", "/c"} {
		if _, body := c.read("GET"); body != "hello "+p {
			t.Fatalf("pipelined %s: %q", p, body)
		}
	}
}

func TestHTTPBodiesBothWays(t *testing.T) {
	ts, _ := origin(t)
	e := httpProxy(t, "", ts.Listener.Addr().String())
	c := dialClient(t, e.Addrs()[0].String())
	c.send("POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
	res, _ := c.read("POST")
	if res.Header.Get("X-Body") != "abcde" {
		t.Fatalf("CL body: %q", res.Header.Get("X-Body"))
	}
	c.send("POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if res, _ = c.read("POST"); res.Header.Get("X-Body") != "abcde" {
		t.Fatalf("chunked body: %q", res.Header.Get("X-Body"))
	}
	res, body := c.get("/chunked")
	if body != "part1-part2" || len(res.TransferEncoding) == 0 {
		t.Fatalf("chunked response: %q %v", body, res.TransferEncoding)
	}
	c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
	if res, body = c.read("HEAD"); res.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: %v %q", res.Status, body)
	}
	if res, body = c.get("/204"); res.StatusCode != 204 || body != "" {
		t.Fatalf("204: %v %q", res.Status, body)
	}
	// Expect: 100-continue is answered, and the body flows.
	c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	line, _ := c.br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("interim: %q", line)
	}
	c.br.ReadString('\n')
	c.send("xyz")
	if res, _ = c.read("POST"); res.Header.Get("X-Body") != "xyz" {
		t.Fatalf("expect body: %q", res.Header.Get("X-Body"))
	}
	if res, _ = c.get("/still-alive"); res.StatusCode != 200 {
		t.Fatal("connection not kept alive")
	}
}

func TestHTTPErrorsLikeHAProxy(t *testing.T) {
	e, _ := startEngine(t, `
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 500ms
    timeout http-request 300ms
frontend fe
    bind 127.0.0.1:0
    default_backend dead
backend dead
    retries 0
    server s1 127.0.0.1:1
`)
	addr := e.Addrs()[0].String()
	c := dialClient(t, addr)
	res, body := c.get("/")
	if res.StatusCode != 503 || !strings.Contains(body, "No server is available to handle this request.") ||
		res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("503: %v %q", res.Status, body)
	}
	c = dialClient(t, addr)
	c.send("GET / HTTP/1.1\r\nHost x\r\n\r\n")
	all, _ := io.ReadAll(c.br)
	want := "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
	if string(all) != want {
		t.Fatalf("400:\n%q\nwant\n%q", all, want)
	}
	c = dialClient(t, addr)
	c.send("GET / HTTP/1.1\r\n")
	all, _ = io.ReadAll(c.br)
	if !strings.HasPrefix(string(all), "HTTP/1.1 408 Request Time-out\r\n") {
		t.Fatalf("408: %q", all)
	}
}

func TestHTTPRulesLiteral(t *testing.T) {
	ts, _ := origin(t)
	e := httpProxy(t, `
    option forwardfor
    http-request set-header X-Test hello
    http-response set-header X-Resp yes
    http-response del-header X-Method
    http-after-response add-header X-After 1`, ts.Listener.Addr().String())
	c := dialClient(t, e.Addrs()[0].String())
	res, _ := c.get("/x")
	if res.Header.Get("X-Test") != "hello" || res.Header.Get("X-XFF") != "127.0.0.1" ||
		res.Header.Get("X-Resp") != "yes" || res.Header.Get("X-Method") != "" || res.Header.Get("X-After") != "1" {
		t.Fatalf("headers: %v", res.Header)
	}
}

func TestHTTPLocalReplies(t *testing.T) {
	e, _ := startEngine(t, `
defaults
    mode http
    timeout client 5s
frontend fe
    bind 127.0.0.1:0
    http-request return status 201 content-type text/plain string "made" hdr X-A b
    http-after-response set-header X-After yes
`)
	c := dialClient(t, e.Addrs()[0].String())
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	head, _ := c.br.Peek(c.br.Buffered())
	_ = head
	res, body := c.read("GET")
	if res.StatusCode != 201 || body != "made" || res.Header.Get("X-A") != "b" || res.Header.Get("X-After") != "yes" ||
		res.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("return: %v %q %v", res.Status, body, res.Header)
	}
	for _, cfg := range []string{
		"    http-request deny deny_status 429\n",
		"    http-request redirect location /new code 301\n",
	} {
		e, _ := startEngine(t, "defaults\n    mode http\n    timeout client 5s\nfrontend fe\n    bind 127.0.0.1:0\n"+cfg)
		c := dialClient(t, e.Addrs()[0].String())
		res, body := c.get("/")
		switch {
		case strings.Contains(cfg, "deny"):
			if res.StatusCode != 429 || !strings.Contains(body, "You have sent too many requests in a given amount of time.") {
				t.Fatalf("deny: %v %q", res.Status, body)
			}
		default:
			if res.StatusCode != 301 || res.Header.Get("Location") != "/new" || body != "" {
				t.Fatalf("redirect: %v %v", res.Status, res.Header)
			}
		}
	}
}

// wait-for-body buffers the request body so that fetches see it, and the
// body still reaches the server, whole, with its length.
func TestHTTPWaitForBody(t *testing.T) {
	ts, _ := origin(t)
	e := httpProxy(t, `
    http-request wait-for-body time 2s
    http-request set-header X-Test len=%[req.body_len],body=%[req.body]`, ts.Listener.Addr().String())
	c := dialClient(t, e.Addrs()[0].String())
	c.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabcdef")
	res, _ := c.read("POST")
	if res.Header.Get("X-Test") != "len=6,body=abcdef" || res.Header.Get("X-Body") != "abcdef" {
		t.Fatalf("CL: %v", res.Header)
	}
	c.send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	res, _ = c.read("POST")
	if res.Header.Get("X-Test") != "len=5,body=abcde" || res.Header.Get("X-Body") != "abcde" {
		t.Fatalf("chunked: %v", res.Header)
	}
	if res, _ = c.get("/after"); res.StatusCode != 200 {
		t.Fatal("keep-alive after buffered bodies")
	}
}
