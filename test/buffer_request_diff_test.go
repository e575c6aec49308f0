//go:build lua53

package test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHTTPBufferRequestDiff covers a regression: "option
// http-buffer-request" was parsed and ignored, so rules and fetches
// (req.body, req.body_len, Lua's txn.req) saw no body. As in HAProxy 2.6,
// the frontend's option waits for the body before its http-request
// rules, the backend's before the backend's, and a body that does not
// come within "timeout http-request" gets a 408.
func TestHTTPBufferRequestDiff(t *testing.T) {
	cfg := `
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
frontend fe
   bind "127.0.0.1:${FE_PORT}"
   option http-buffer-request
   timeout http-request 300ms
   http-request return status 200 content-type text/plain lf-string "fe %[req.body_len] %[req.body]" if { path /fe }
   default_backend be
backend be
   option http-buffer-request
   http-request return status 200 content-type text/plain lf-string "be %[req.body_len] %[req.body]"
`
	impls := startImpls(t, cfg, func(string) map[string]string { return nil })
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			post := func(addr, path, body string, sendAll bool) string {
				sent := body
				if !sendAll {
					sent = body[:len(body)/2]
				}
				req := "POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
				return exchange(t, addr, req+sent, false, 5*time.Second)
			}
			cases := []struct {
				addr, path, body string
				all              bool
				status, want     string
			}{
				{im.addr, "/fe", "hello world", true, "200", "fe 11 hello world"},
				{im.addr, "/be", "0123456789", true, "200", "be 10 0123456789"},
				{im.addr, "/fe", "a body that never ends", false, "408", ""},
			}
			for _, c := range cases {
				got := post(c.addr, c.path, c.body, c.all)
				if !strings.HasPrefix(got, "HTTP/1.1 "+c.status) || !strings.HasSuffix(got, c.want) {
					t.Errorf("%s %q: got %q, want %s ... %q", c.path, c.body, got, c.status, c.want)
				}
			}
		})
	}
}
