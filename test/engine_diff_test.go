//go:build lua53

package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential engine test: one configuration, run by luaproxy
// (in-process) and, when it is installed, by HAProxy 2.6; the same raw
// requests to both, through a Go origin that echoes what it receives;
// status lines, headers and bodies must agree.

const diffConfig = `
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 2s
    errorfile 503 "${ERRDIR}/503.http"

frontend fe
    bind "127.0.0.1:${FE_PORT}"
    option forwardfor
    acl is_api path_beg /api
    acl is_admin path_beg /admin
    acl has_tok req.hdr(x-token) -m found
    http-request deny deny_status 401 if is_admin !has_tok
    http-request deny if { path /forbidden }
    http-request return status 200 content-type text/plain string "pong" if { path /ping }
    http-request redirect location /new code 301 if { path /old }
    http-request redirect prefix https://example.com if { path_beg /pfx }
    http-request redirect scheme https if { path /sch }
    http-request redirect location /x code 307 if { path /r307 }
    http-request redirect location /y code 308 if { path /r308 }
    http-request redirect prefix /p drop-query if { path_beg /dq }
    http-request redirect prefix /q code 303 set-cookie SEEN=1 if { path_beg /ck }
    http-request redirect location /slash append-slash if { path /as }
    errorfile 400 "${ERRDIR}/400.http"
    http-request deny deny_status 400 if { path /d400 }
    http-request deny deny_status 429 if { path /d429 }
    http-request return status 404 content-type text/html string "<p>nf</p>" hdr X-R r1 if { path /r404 }
    http-request set-query x=1&y=2 if { path /sq }
    http-request replace-path /rp/(.*) /rewritten/\1
    http-request replace-uri ^/ru/(.*) /uri-rewritten/\1
    http-request set-method PUT if { path /sm }
    http-request set-uri /set-uri?from=%[path] if { path /su }
    http-request set-header X-Host %[req.hdr(host)]
    http-request set-header X-Src-Match yes if { src 127.0.0.1 }
    http-after-response set-header X-After yes
    http-response set-status 503 reason Nope if { var(txn.p) -m str /ssr }
    http-response set-header X-Status %[status]
    http-response set-header X-Never yes if { path_beg / }
    http-response set-header X-Unless yes unless { path_beg / }
    http-response del-header content-type if { var(txn.p) -m str /nct }
    http-request set-var(txn.p) path
    http-request set-var(txn.ua) req.hdr(user-agent),lower
    http-request set-var-fmt(txn.both) "%[var(txn.p)]|%[var(txn.ua)]"
    http-request set-header X-Path %[var(txn.p)]
    http-request add-header X-Added a1
    http-request add-header X-Added a2
    http-request del-header X-Remove
    http-request del-header x-drop- -m beg
    http-request del-header -tail -m end
    http-request replace-header X-Rep (.*)-old \1-new
    http-request return status 200 content-type text/plain lf-string "ua=%[var(txn.ua)] p=%[var(txn.p)] both=%[var(txn.both)]" if { path /vars }
    http-response set-header X-Resp-Var %[var(txn.p)]
    http-response del-header X-Origin-Secret
    http-response set-status 299 if { var(txn.p) -m str /st }
    http-response replace-value X-List (b) B
    use_backend be_api if is_api
    use_backend be_down if { path_beg /down }
    default_backend be_main

backend be_main
    http-response add-header X-Backend main
    server s1 "${ORIGIN}"

backend be_api
    http-request set-path /v1%[path]
    http-response add-header X-Backend api
    server s1 "${ORIGIN}"

backend be_down
`

const diff400 = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nsorry 400"

const diff503 = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncache-control: no-cache\r\ncontent-length: 9\r\n\r\nsorry 503"

// echoOrigin answers every request with what it received.
func echoOrigin(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var names []string
		for k := range r.Header {
			if k != "Connection" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\nhost: %s\n", r.Method, r.RequestURI, r.Host)
		for _, k := range names {
			fmt.Fprintf(&b, "%s: %s\n", strings.ToLower(k), strings.Join(r.Header[k], ", "))
		}
		fmt.Fprintf(&b, "body=%s\n", body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Origin-Secret", "s")
		w.Header().Set("X-List", "a, b, c")
		_, _ = io.WriteString(w, b.String())
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// diffResponse is what is compared of a response.
type diffResponse struct {
	statusLine string
	headers    []string // "name: value", names lower-cased, in order
	body       string
}

func (r diffResponse) String() string {
	return r.statusLine + "\n" + strings.Join(r.headers, "\n") + "\n\n" + r.body
}

// diffSkip are the headers that may differ between implementations.
var diffSkip = map[string]bool{"date": true, "connection": true}

func rawRequest(t *testing.T, addr, req string) diffResponse {
	t.Helper()
	return rawRequestTimeout(t, addr, req, 5*time.Second)
}

// rawRequestTimeout sends req and reads one response within timeout.
func rawRequestTimeout(t *testing.T, addr, req string, timeout time.Duration) diffResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return diffResponse{statusLine: "error: " + err.Error()}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	out := diffResponse{statusLine: res.Proto + " " + res.Status, body: string(body)}
	var names []string
	for k := range res.Header {
		if !diffSkip[strings.ToLower(k)] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		out.headers = append(out.headers, strings.ToLower(k)+": "+strings.Join(res.Header[k], ", "))
	}
	return out
}

// startHAProxy runs haproxy on the configuration with env, until the test
// ends; it returns "" when haproxy is not installed.
func startHAProxy(t *testing.T, cfg string, env []string, port string) string {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return ""
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "-db", "-f", path)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + port
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not start:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEngineDiff(t *testing.T) {
	origin := echoOrigin(t)
	errdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(errdir, "503.http"), []byte(diff503), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(errdir, "400.http"), []byte(diff400), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORIGIN", origin)
	t.Setenv("ERRDIR", errdir)
	t.Setenv("FE_PORT", "0")
	lp := startProxy(t, diffConfig, nil)
	lpAddr := lp.addr(0)

	hport := strconv.Itoa(freePort(t))
	hpAddr := startHAProxy(t, diffConfig, []string{"ORIGIN=" + origin, "ERRDIR=" + errdir, "FE_PORT=" + hport}, hport)
	if hpAddr == "" {
		t.Log("haproxy not installed: luaproxy's answers are checked alone")
	}

	const host = "Host: test.local\r\n"
	for _, c := range []struct {
		name, req string
		status    int // luaproxy's expected status, checked with or without haproxy
	}{
		{"return", "GET /ping HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"redirect location", "GET /old HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 301},
		{"redirect prefix", "GET /pfx/a?q=1 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 302},
		{"redirect scheme", "GET /sch HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 302},
		{"deny status", "GET /admin HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 401},
		{"deny", "GET /forbidden HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 403},
		{"acl passes", "GET /admin/x HTTP/1.1\r\n" + host + "X-Token: t\r\nConnection: close\r\n\r\n", 200},
		{"use_backend + set-path", "GET /api/users?id=3 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"errorfile 503", "GET /down HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 503},
		{"set-var", "GET /vars HTTP/1.1\r\n" + host + "User-Agent: Mozilla/X\r\nConnection: close\r\n\r\n", 200},
		{"header rules", "GET /hdrs HTTP/1.1\r\n" + host + "X-Remove: 1\r\nX-Drop-A: 1\r\nx-drop-b: 2\r\nA-Tail: 3\r\nX-Rep: foo-old\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n", 200},
		{"set-status", "GET /st HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 299},
		{"post body", "POST /api/post HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello", 200},
		{"http/1.0", "GET /ping HTTP/1.0\r\n\r\n", 200},
		{"redirect 307", "GET /r307 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 307},
		{"redirect 308", "GET /r308 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 308},
		{"redirect drop-query", "GET /dq/a?b=c HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 302},
		{"redirect set-cookie", "GET /ck/a?b=c HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 303},
		{"redirect append-slash", "GET /as HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 302},
		{"errorfile 400", "GET /d400 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 400},
		{"deny 429", "GET /d429 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 429},
		{"return 404", "GET /r404 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 404},
		{"set-query", "GET /sq?old=1 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"replace-path", "GET /rp/a/b?k=v HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"replace-uri", "GET /ru/a?k=v HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"set-method", "GET /sm HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"set-uri", "GET /su HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
		{"set-status reason", "GET /ssr HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 503},
		{"del content-type", "GET /nct HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", 200},
	} {
		got := rawRequest(t, lpAddr, c.req)
		if !strings.Contains(got.statusLine, " "+strconv.Itoa(c.status)+" ") {
			t.Errorf("%s: luaproxy answered %q, want status %d\n%s", c.name, got.statusLine, c.status, got)
		}
		if c.name == "header rules" {
			// A request fetch in an http-response condition finds nothing.
			if h := strings.Join(got.headers, "\n"); !strings.Contains(h, "x-unless: yes") || strings.Contains(h, "x-never") {
				t.Errorf("path in http-response conditions:\n%s", h)
			}
		}
		if hpAddr == "" {
			continue
		}
		want := rawRequest(t, hpAddr, c.req)
		if g, w := got.String(), want.String(); g != w {
			t.Errorf("%s: luaproxy and haproxy differ\n--- luaproxy\n%s\n--- haproxy\n%s", c.name, g, w)
		}
	}
}
