//go:build lua53

package test

import (
	"os"
	"testing"
	"time"
)

// scripts/request_info.lua as shipped; the expected answer is HAProxy
// 2.6.12's for the same script and request.
func TestLuaAPIRequestInfoExample(t *testing.T) {
	lua := string(must(os.ReadFile(repoPath("scripts", "request_info.lua"))))
	p := startProxy(t, `
global
   lua-load {dir}/request_info.lua
defaults
   mode tcp
   timeout client 5s
listen request_info
   bind 127.0.0.1:0
   tcp-request content use-service lua.request_info
`, map[string]string{"request_info.lua": lua})
	req := "GET /a?x=1&&y=2 HTTP/1.0\r\nX-Forwarded-For: 10.1.2.3\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
	want := "method GET\npath /a\nversion 1.0\nparam x = 1\nparam y = 2\nclient 10.1.2.3 internal\nif-modified-since 784111777\n"
	if got := exchange(t, p.addr(0), req, false, 5*time.Second); got != want {
		t.Fatalf("got:\n%s\nwant (HAProxy 2.6):\n%s\nlog:\n%s", got, want, p.log)
	}
	if got, want := exchange(t, p.addr(0), "hello\n", false, 5*time.Second), "not an HTTP request line\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
