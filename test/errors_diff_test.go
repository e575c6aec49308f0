//go:build lua53

package test

import (
	"strings"
	"testing"
	"time"
)

// TestErrorsDiff sends malformed requests and requests that time out to
// luaproxy and haproxy: the statuses, headers and bodies must agree
// (what the origin received too, for the requests that reach it).
func TestErrorsDiff(t *testing.T) {
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    use_backend be_slow if { path_beg /slow }
    default_backend be
listen fast_timeouts
    bind "127.0.0.1:${FE_PORT1}"
    timeout http-request 200ms
    server s1 "${ORIGIN}"
backend be
    server s1 "${ORIGIN}"
backend be_slow
    timeout server 200ms
    server s1 "${SLOW}"
`
	impls := startImplsN(t, cfg, 2, func(string) map[string]string {
		return map[string]string{"ORIGIN": echoOrigin(t), "SLOW": newCountingOrigin(t).addr}
	})
	const h = "Host: t\r\n"
	cases := []struct {
		name, req string
		fe        int
	}{
		{"no colon", "GET / HTTP/1.1\r\n" + h + "Bad Header\r\n\r\n", 0},
		{"space in name", "GET / HTTP/1.1\r\n" + h + "X Y: z\r\n\r\n", 0},
		{"space before colon", "GET / HTTP/1.1\r\n" + h + "X-A : z\r\n\r\n", 0},
		{"control char in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x01b\r\n\r\n", 0},
		{"two content-lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 0},
		{"same content-lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 0},
		{"bad content-length", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", 0},
		{"te and cl", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 0},
		{"te not chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 0},
		{"bad version", "GET / FOO/1.1\r\n" + h + "\r\n", 0},
		{"http/2.0 version", "GET / HTTP/2.0\r\n" + h + "\r\n", 0},
		{"leading empty lines", "\r\n\r\nGET /lead HTTP/1.1\r\n" + h + "\r\n", 0},
		{"bare lf", "GET /lf HTTP/1.1\nHost: t\nX-A: b\n\n", 0},
		{"lowercase method", "get /m HTTP/1.1\r\n" + h + "\r\n", 0},
		{"header too large", "GET / HTTP/1.1\r\n" + h + "X-Big: " + strings.Repeat("x", 20000) + "\r\n\r\n", 0},
		{"uri with space", "GET /a b HTTP/1.1\r\n" + h + "\r\n", 0},
		{"http/1.0 no host", "GET /ten HTTP/1.0\r\n\r\n", 0},
		{"absolute uri", "GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", 0},
		{"bad chunk size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 0},
		{"server timeout", "GET /slow HTTP/1.1\r\n" + h + "\r\n", 0},
		{"request timeout", "GET / HTTP/1.1\r\n" + h, 1},
		{"empty request timeout", "", 1},
	}
	results := map[string]map[string]string{}
	for _, im := range impls {
		res := map[string]string{}
		for _, c := range cases {
			res[c.name] = rawRequestTimeout(t, im.addrs[c.fe], c.req, 30*time.Second).String()
		}
		results[im.name] = res
	}
	if hp, ok := results["haproxy"]; ok {
		for _, c := range cases {
			if g, w := results["luaproxy"][c.name], hp[c.name]; g != w {
				t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s\n--- haproxy\n%s", c.name, g, w)
			}
		}
	}
}
