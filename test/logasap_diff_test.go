//go:build lua53

package test

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// heldBodyOrigin is an HTTP/1.1 origin whose answers come in two parts:
// "/slow" sends its head (Content-Length: 1000), then its body once
// release is closed; "/chunk" sends its head and a first chunk in one
// write, the last chunk after a short while; any other path gets head and
// body in one write.
func heldBodyOrigin(t *testing.T, release chan struct{}) string {
	t.Helper()
	return serveConns(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" {
				break
			}
		}
		body := strings.Repeat("x", 1000)
		head := "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Foo: bar\r\nConnection: close\r\n\r\n"
		switch {
		case strings.Contains(line, "/slow"):
			_, _ = io.WriteString(c, head)
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			_, _ = io.WriteString(c, body)
		case strings.Contains(line, "/chunk"):
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Foo: bar\r\n\r\n10\r\n0123456789abcdef\r\n")
			time.Sleep(100 * time.Millisecond)
			_, _ = io.WriteString(c, "0\r\n\r\n")
		default:
			_, _ = io.WriteString(c, head+body)
		}
		// the proxy closes first: the server is still counted
		// when the line is built
		_, _ = io.Copy(io.Discard, br)
	})
}

// TestLogASAPDiff: with "option logasap" an HTTP transaction is logged
// as soon as the response headers came from the server and were
// processed, not when the body was sent: %B is then what the response
// held (its head, with the rules' changes, and the body bytes read with
// it), %Tt the time to the headers, %U 0; %B, %Ta, %Tt and %Tu are
// marked "+" in every line of the frontend, a local answer's too. The
// "/slow" body is held back until its line came, so the line cannot wait
// for the end. In TCP mode the line comes once the server connection is
// established, with nothing counted yet. luaproxy and HAProxy 2.6 must
// send the same lines.
func TestLogASAPDiff(t *testing.T) {
	cfg := `
defaults
   mode http
   timeout client 10s
   timeout server 10s
   timeout connect 3s
   log "${LOGADDR}" local0
   option logasap
frontend fe
   bind "127.0.0.1:${FE_PORT}"
   log-format "LF %HP B=%B U=%U Tt=%Tt Ta=%Ta Tu=%Tu Td=%Td ST=%ST ts=%tsc bc=%bc sc=%sc"
   http-request return status 200 content-type text/plain string hello if { path /local }
   http-response set-header X-Added yes
   default_backend be
frontend fe2
   bind "127.0.0.1:${FE_PORT1}"
   option httplog
   default_backend be
frontend tcp
   mode tcp
   bind "127.0.0.1:${FE_PORT2}"
   log-format "LT %ft %b/%s B=%B U=%U Tt=%Tt Td=%Td ts=%ts bc=%bc sc=%sc"
   default_backend tbe
backend be
   server s1 "${ORIGIN}"
backend tbe
   mode tcp
   server s1 "${TCPORIGIN}"
`
	sinks := map[string]*syslogSink{}
	releases := map[string]chan struct{}{}
	impls := startImplsN(t, cfg, 3, func(impl string) map[string]string {
		sinks[impl] = newSyslogSink(t, "]: ")
		releases[impl] = make(chan struct{})
		tcpOrigin, _ := echoLineOrigin(t)
		return map[string]string{"LOGADDR": sinks[impl].addr, "ORIGIN": heldBodyOrigin(t, releases[impl]), "TCPORIGIN": tcpOrigin}
	})
	lf := regexp.MustCompile(`(T[tau])=(\+?)-?\d+`)
	httplog := regexp.MustCompile(`127\.0\.0\.1:\d+ \[[^\]]*\] (.*?) -?\d+/-?\d+/-?\d+/-?\d+/(\+?)-?\d+ (.*)`)
	normalize := func(l string) string {
		l = strings.TrimPrefix(l, "]: ")
		if strings.HasPrefix(l, "LF ") || strings.HasPrefix(l, "LT ") {
			return lf.ReplaceAllString(l, "$1=${2}N")
		}
		return httplog.ReplaceAllString(l, "[date] $1 TR/Tw/Tc/Tr/${2}Ta $3")
	}
	lines := func(im *impl) []string {
		var out []string
		for _, l := range sinks[im.name].snapshot() {
			if !strings.Contains(l, "<BADREQ>") { // haproxy's readiness probe
				out = append(out, normalize(l))
			}
		}
		return out
	}
	waitLine := func(im *impl, prefix string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, l := range lines(im) {
				if strings.HasPrefix(l, prefix) {
					return
				}
			}
		}
		t.Fatalf("%s: no line %q in:\n%s", im.name, prefix, strings.Join(lines(im), "\n"))
	}
	got := map[string]string{}
	for _, im := range impls {
		// the body of /slow waits for its log line (the line must not
		// wait for the body)
		c, err := net.DialTimeout("tcp", im.addrs[0], 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		waitLine(im, "LF /slow ")
		close(releases[im.name])
		if b, _ := io.ReadAll(c); !strings.HasSuffix(string(b), "\r\n\r\n"+strings.Repeat("x", 1000)) {
			t.Errorf("%s: /slow answered %q", im.name, b)
		}
		c.Close()
		for _, p := range []string{"/one", "/chunk", "/local"} {
			exchange(t, im.addrs[0], "GET "+p+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 10*time.Second)
			waitLine(im, "LF "+p+" ")
		}
		exchange(t, im.addrs[1], "GET /y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 10*time.Second)
		waitLine(im, "[date] fe2 ")
		// in TCP mode the line comes once the server connection is
		// established, while the connection goes on
		tc := dialLine(t, im.addrs[2])
		tc.send("hello")
		if l := tc.line(t); l != "hello" {
			t.Errorf("%s: tcp echo %q", im.name, l)
		}
		waitLine(im, "LT ")
		tc.c.Close()
		time.Sleep(300 * time.Millisecond) // no second line may come
		got[im.name] = strings.Join(lines(im), "\n")
	}
	want := strings.Join([]string{
		"LF /slow B=+70 U=0 Tt=+N Ta=+N Tu=+N Td=0 ST=200 ts=---- bc=1 sc=1",
		"LF /one B=+1070 U=0 Tt=+N Ta=+N Tu=+N Td=0 ST=200 ts=---- bc=1 sc=1",
		"LF /chunk B=+92 U=0 Tt=+N Ta=+N Tu=+N Td=0 ST=200 ts=---- bc=1 sc=1",
		"LF /local B=+76 U=43 Tt=+N Ta=+N Tu=+N Td=-1 ST=200 ts=LR-- bc=0 sc=0",
		`[date] fe2 be/s1 TR/Tw/Tc/Tr/+Ta 200 +1060 - - ---- 1/1/1/1/0 0/0 "GET /y HTTP/1.1"`,
		"LT tcp tbe/s1 B=+0 U=0 Tt=+N Td=0 ts=-- bc=1 sc=1",
	}, "\n")
	for name, g := range got {
		if g != want {
			t.Errorf("%s's lines:\n%s\nwant:\n%s", name, g, want)
		}
	}
	if h, ok := got["haproxy"]; ok && h != got["luaproxy"] {
		t.Errorf("luaproxy and haproxy differ:\n--- luaproxy\n%s\n--- haproxy\n%s", got["luaproxy"], h)
	}
}
