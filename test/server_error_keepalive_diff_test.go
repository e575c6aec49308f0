//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// badOrigin answers by path: "/junk" with bytes that are no HTTP
// response, "/empty" by closing without answering, "/mute" never (until
// the proxy gives up), anything else with a 200.
func badOrigin(t *testing.T) string {
	t.Helper()
	return serveConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/junk":
				io.WriteString(c, "garbage\r\n\r\n")
				return
			case "/empty":
				return
			case "/mute":
				_, _ = io.Copy(io.Discard, br)
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
}

// TestServerErrorKeepAliveDiff: what becomes of the client connection
// after a 502 or a 504, as HAProxy 2.6 does it: an invalid response (502)
// or none within "timeout server" (504) leaves it serving the next
// request; a server that closed without answering (502) ends it, with no
// "connection: close" in the reply.
func TestServerErrorKeepAliveDiff(t *testing.T) {
	origin := badOrigin(t)
	impls := startImpls(t, `
defaults
   mode http
   timeout client 10s
   timeout server 1s
   timeout connect 5s
frontend fe
   bind "127.0.0.1:${FE_PORT}"
   default_backend be
backend be
   server s1 "${ORIGIN}"
`, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	got := map[string]map[string]string{}
	for _, im := range impls {
		got[im.name] = map[string]string{}
		for _, seq := range []string{"/junk /ok", "/empty /ok", "/mute /ok", "/ok /empty /ok", "/ok /junk /ok"} {
			c, err := net.DialTimeout("tcp", im.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			var out []string
			for _, p := range strings.Fields(seq) {
				if _, err := io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
					out = append(out, "write failed")
					break
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					out = append(out, "closed")
					break
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				out = append(out, fmt.Sprintf("%d connection=%q", res.StatusCode, strings.Join(res.Header.Values("Connection"), ",")))
			}
			c.Close()
			got[im.name][seq] = strings.Join(out, " | ")
		}
	}
	want := map[string]string{
		"/junk /ok":      `502 connection="" | 200 connection=""`,
		"/empty /ok":     `502 connection="" | 200 connection=""`,
		"/mute /ok":      `504 connection="" | 200 connection=""`,
		"/ok /empty /ok": `200 connection="" | closed`,
		"/ok /junk /ok":  `200 connection="" | 502 connection="" | 200 connection=""`,
	}
	for name, m := range got {
		for seq, w := range want {
			if m[seq] != w {
				t.Errorf("%s %s: %s, want %s", name, seq, m[seq], w)
			}
		}
	}
}
