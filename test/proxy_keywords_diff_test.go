//go:build lua53

package test

import (
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestProxyKeywordsDiff covers proxy keywords that were "unknown" to
// luaproxy and are common in existing configurations: the legacy
// "redirect" rules (after the http-request ones), "errorloc302" and
// "errorloc303", "http-send-name-header", "server-template", "id",
// "description" and "fullconn". Compared with HAProxy 2.6.
func TestProxyKeywordsDiff(t *testing.T) {
	origin := newNameOrigin(t)
	cfg := `
defaults
   mode http
   timeout client 5s
   timeout server 5s
   timeout connect 5s
   errorloc302 503 http://errors.example.com/503
frontend f
   bind "127.0.0.1:${FE_PORT}"
   id 42
   description the main frontend
   redirect scheme https code 301 if { hdr(host) -i secure.example.com }
   redirect prefix http://www.example.com if { path_beg /old }
   http-request return status 200 content-type text/plain lf-string "fe_id=%[fe_id]" if { path /id }
   errorloc303 403 /forbidden.html
   http-request deny if { path /deny }
   http-request return status 200 content-type text/plain string "before redirects" if { path /old/first }
   use_backend down if { path /down }
   use_backend be2 if { path /be2 }
   default_backend be
backend be
   fullconn 100
   http-send-name-header X-Server-Name
   balance roundrobin
   server-template srv 1-2 "${ORIGIN}"
backend be2
   http-send-name-header X-Backend-Server
   server s1 "${ORIGIN}"
backend down
   server s1 127.0.0.1:1 disabled
`
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"ORIGIN": origin} })
	location := regexp.MustCompile(`(?i)\r\nlocation: ([^\r]*)`)
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			req := func(path, host string) (status, loc, body string) {
				got := exchange(t, im.addr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n", false, 5*time.Second)
				status, _, _ = strings.Cut(got, "\r\n")
				if m := location.FindStringSubmatch(got); m != nil {
					loc = m[1]
				}
				return status, loc, strings.TrimSpace(bodyOf(got))
			}
			cases := []struct{ path, host, status, loc, body string }{
				{"/id", "h", "HTTP/1.1 200 OK", "", "fe_id=42"},
				{"/old/x", "h", "HTTP/1.1 302 Found", "http://www.example.com/old/x", ""},
				{"/old/first", "h", "HTTP/1.1 200 OK", "", "before redirects"},
				{"/p", "secure.example.com", "HTTP/1.1 301 Moved Permanently", "https://secure.example.com/p", ""},
				{"/deny", "h", "HTTP/1.1 303 See Other", "/forbidden.html", ""},
				{"/down", "h", "HTTP/1.1 302 Found", "http://errors.example.com/503", ""},
				{"/be2", "h", "HTTP/1.1 200 OK", "", "X-Server-Name= X-Backend-Server=s1"},
			}
			for _, c := range cases {
				status, loc, body := req(c.path, c.host)
				if status != c.status || loc != c.loc || body != c.body {
					t.Errorf("%s: got %q %q %q, want %q %q %q", c.path, status, loc, body, c.status, c.loc, c.body)
				}
			}
			// server-template: srv1 and srv2 take turns
			var seen []string
			for i := 0; i < 2; i++ {
				_, _, body := req("/a", "h")
				seen = append(seen, body)
			}
			sort.Strings(seen)
			if want := []string{"X-Server-Name=srv1 X-Backend-Server=", "X-Server-Name=srv2 X-Backend-Server="}; strings.Join(seen, ",") != strings.Join(want, ",") {
				t.Errorf("server-template: got %q, want %q", seen, want)
			}
		})
	}
}

// newNameOrigin starts an origin answering with the server-name headers
// it got.
func newNameOrigin(t *testing.T) string {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("X-Server-Name=" + r.Header.Get("X-Server-Name") + " X-Backend-Server=" + r.Header.Get("X-Backend-Server")))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
