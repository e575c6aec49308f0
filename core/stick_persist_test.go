package core

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nameOrigin is a loopback HTTP server answering its name, with an
// "x-sid: u<last char of name>" header.
func nameOrigin(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-sid", "u"+name[len(name)-1:])
		_, _ = io.WriteString(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// getWith sends one request with extra header lines and returns the body.
func getWith(t *testing.T, addr string, hdrs ...string) string {
	t.Helper()
	res := get(t, addr, "/", hdrs...)
	_, body, _ := strings.Cut(res, "\r\n\r\n")
	return body
}

// TestStickPersistenceLikeHAProxy follows what HAProxy 2.6.12 does with
// the same configuration: "stick on" sends a known key to its server and
// stores new ones with the server balancing chose, "stick store-response"
// stores a response header's value (in another table), "stick match"
// reads it; a disabled server is not stuck to (the key moves to the
// server chosen instead), and show table lists server_id and server_key.
func TestStickPersistenceLikeHAProxy(t *testing.T) {
	s1, s2 := nameOrigin(t, "s1"), nameOrigin(t, "s2")
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:0
    default_backend b
backend b
    balance roundrobin
    stick-table type string len 16 size 10 expire 60s store gpc0
    stick on req.hdr(x-user)
    stick store-response res.hdr(x-sid) table t2
    stick match req.hdr(x-sid) table t2
    server s1 `+s1+`
    server s2 `+s2+` id 7
backend t2
    stick-table type string size 10
`)
	sock := filepath.Join(dir, "admin.sock")
	addr := e.Addrs()[0].String()
	var got []string
	for _, u := range []string{"a", "b", "a", "c", "a"} {
		got = append(got, getWith(t, addr, "x-user: "+u+"\r\n"))
	}
	if w := "s1 s2 s1 s1 s1"; strings.Join(got, " ") != w {
		t.Errorf("stick on: got %q, want %q", strings.Join(got, " "), w)
	}
	addrRE := regexp.MustCompile(`0x[0-9a-f]+:`)
	expRE := regexp.MustCompile(`exp=[1-9][0-9]*`)
	norm := func(s string) string { return expRE.ReplaceAllString(addrRE.ReplaceAllString(s, "0x:"), "exp=X") }
	cli := func(cmd, want string) {
		t.Helper()
		if got := norm(cliExchange(t, sock, cmd+"\n")); got != want {
			t.Errorf("%s:\ngot  %q\nwant %q", cmd, got, want)
		}
	}
	cli("show table b", "# table: b, type: string, size:10, used:3\n"+
		"0x: key=a use=0 exp=X server_id=1 gpc0=0 server_key=s1\n"+
		"0x: key=b use=0 exp=X server_id=7 gpc0=0 server_key=s2\n"+
		"0x: key=c use=0 exp=X server_id=1 gpc0=0 server_key=s1\n\n")
	cli("show table t2", "# table: t2, type: string, size:10, used:2\n"+
		"0x: key=u1 use=0 exp=0 server_id=1 server_key=s1\n"+
		"0x: key=u2 use=0 exp=0 server_id=7 server_key=s2\n\n")
	for i := 0; i < 2; i++ { // round robin would alternate
		if got := getWith(t, addr, "x-sid: u1\r\n"); got != "s1" {
			t.Errorf("stick match: got %q, want s1", got)
		}
	}
	cli("disable server b/s1", "\n")
	if got := getWith(t, addr, "x-user: a\r\n"); got != "s2" {
		t.Errorf("stuck to a disabled server: got %q", got)
	}
	cli("show table b key a", "# table: b, type: string, size:10, used:3\n0x: key=a use=0 exp=X server_id=7 gpc0=0 server_key=s2\n\n")
}

// TestStickPersistOptions checks "option persist" (a disabled server is
// still stuck to), "non-stick" servers (never stored), stick store-request
// alone, integer and ip tables, and TCP mode.
func TestStickPersistOptions(t *testing.T) {
	s1, s2 := nameOrigin(t, "s1"), nameOrigin(t, "s2")
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:0
    use_backend p if { req.hdr(x-be) p }
    use_backend ns if { req.hdr(x-be) ns }
    default_backend i
backend p
    option persist
    stick-table type integer size 10
    stick on req.hdr(x-id),ltrim(x)
    server s1 `+s1+`
    server s2 `+s2+`
backend ns
    stick-table type ip size 10
    stick store-request src
    server s1 `+s1+` non-stick
backend i
    stick-table type ip size 10
    stick on src if { req.hdr(x-on) 1 }
    server s1 `+s1+`
    server s2 `+s2+`
listen tcp
    mode tcp
    bind 127.0.0.1:0
    stick-table type ip size 10
    stick on src
    server s1 `+s1+`
    server s2 `+s2+`
`)
	sock := filepath.Join(dir, "admin.sock")
	addr := e.Addrs()[0].String()
	first := getWith(t, addr, "x-be: p\r\n", "x-id: x42\r\n")
	cliExchange(t, sock, "disable server p/"+first+"\n")
	if got := getWith(t, addr, "x-be: p\r\n", "x-id: x42\r\n"); got != first {
		t.Errorf("option persist: got %q, want %q", got, first)
	}
	if !strings.Contains(cliExchange(t, sock, "show table p\n"), "key=42 ") {
		t.Errorf("integer key not stored: %s", cliExchange(t, sock, "show table p\n"))
	}
	getWith(t, addr, "x-be: ns\r\n")
	if got := cliExchange(t, sock, "show table ns\n"); strings.Contains(got, "key=") {
		t.Errorf("non-stick server stored: %s", got)
	}
	// the condition: without x-on, nothing is stored nor matched
	getWith(t, addr)
	if got := cliExchange(t, sock, "show table i\n"); strings.Contains(got, "key=") {
		t.Errorf("stored despite the condition: %s", got)
	}
	first = getWith(t, addr, "x-on: 1\r\n")
	for i := 0; i < 3; i++ {
		if got := getWith(t, addr, "x-on: 1\r\n"); got != first {
			t.Errorf("stick on src: got %q, want %q", got, first)
		}
	}
	// TCP: the bytes go to the stored server each time.
	tcpAddr := e.Addrs()[1].String()
	var firstTCP string
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", tcpAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		c.Close()
		_, body, _ := strings.Cut(string(b), "\r\n\r\n")
		if i == 0 {
			firstTCP = body
		} else if body != firstTCP {
			t.Errorf("tcp: got %q, want %q", body, firstTCP)
		}
	}
	if !strings.Contains(cliExchange(t, sock, "show table tcp\n"), "key=127.0.0.1 use=0 exp=0 server_id=") {
		t.Errorf("tcp table: %s", cliExchange(t, sock, "show table tcp\n"))
	}
}

func TestStickConfigErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"defaults\n stick on src\n", "'stick' not allowed in 'defaults' section."},
		{"backend b\n stick on src table nope\n", "'stick' : unable to find table 'nope'."},
		{"backend b\n stick-table type ip size 1\n stick onto src\n", "'stick' expects 'on', 'match', 'store-request' or 'store-response'."},
	} {
		cfg, err := configParse(c.cfg)
		e := New(NewLogger(&syncBuf{}))
		if err == nil {
			err = e.Load(cfg)
		}
		if err == nil { // table names are checked once all are known
			if err = e.Start(); err == nil {
				e.Stop()
				e.Wait()
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.cfg, err, c.want)
		}
	}
	_, log := loadEngine(t, "frontend f\n bind 127.0.0.1:0\n stick on src\n")
	if !strings.Contains(log.String(), "'stick' ignored because frontend 'f' has no backend capability.") {
		t.Errorf("frontend: log %q", log.String())
	}
}

// TestHTTPFailAndErrCounters checks http_fail_cnt/rate (2.5+) and
// http_err_cnt on entries tracked by the request: counted when the
// server's response head arrives, so that http-response rules see them;
// 501 and 505 are the client's fault. HAProxy 2.6.12 gave the same.
func TestHTTPFailAndErrCounters(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(r.URL.Path, "/%d", &code)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "x")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	e, _, dir := startCLIEngine(t, `
global
    stats socket @SOCK@ level admin
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind 127.0.0.1:0
    stick-table type ip size 10 store http_fail_cnt,http_fail_rate(10s),http_err_cnt,http_req_cnt
    http-request track-sc0 src
    http-response set-header x-f "%[sc0_http_fail_cnt] %[sc0_http_err_cnt] %[sc_http_fail_rate(0)] %[src_http_fail_cnt] %[src,table_http_fail_cnt]"
    default_backend b
backend b
    server s `+ln.Addr().String()+`
`)
	addr := e.Addrs()[0].String()
	for _, c := range []struct{ code, want string }{
		{"200", "0 0 0 0 0"}, {"503", "1 0 1 1 1"}, {"501", "1 0 1 1 1"}, {"505", "1 0 1 1 1"},
		{"500", "2 0 2 2 2"}, {"404", "2 1 2 2 2"}, {"403", "2 2 2 2 2"},
	} {
		res := get(t, addr, "/"+c.code)
		if !strings.Contains(strings.ToLower(res), "x-f: "+c.want+"\r\n") {
			t.Errorf("%s: want x-f: %s in\n%s", c.code, c.want, res)
		}
	}
	expRE := regexp.MustCompile(`0x[0-9a-f]+:`)
	got := expRE.ReplaceAllString(cliExchange(t, filepath.Join(dir, "admin.sock"), "show table f\n"), "0x:")
	if want := "0x: key=127.0.0.1 use=0 exp=0 http_req_cnt=7 http_err_cnt=2 http_fail_cnt=2 http_fail_rate(10000)=2\n"; !strings.Contains(got, want) {
		t.Errorf("show table:\ngot  %q\nwant %q", got, want)
	}
}
