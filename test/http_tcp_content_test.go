//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// tcp-request content rules that wait for data in an HTTP frontend
// (inspect-delay with a payload condition) do not swallow the request:
// the bytes they read are the HTTP request's, answered at once.
func TestHTTPTCPContentRulesKeepTheRequest(t *testing.T) {
	p := startProxy(t, `
defaults
   mode http
   timeout client 30s
   timeout server 30s
   timeout connect 5s
frontend fe
   bind 127.0.0.1:0
   tcp-request inspect-delay 10s
   tcp-request content accept if { req.len gt 10 }
   http-request return status 200 content-type text/plain lf-string "path=%[path]"
`, nil)
	start := time.Now()
	got := exchange(t, p.addr(0), "GET /kept HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, 20*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "path=/kept") {
		t.Errorf("got %q after %v", got, time.Since(start))
	}
}
