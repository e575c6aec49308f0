//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// impl is one implementation under differential test: luaproxy
// (in-process) or haproxy (a child process).
type impl struct {
	name string
	addr string // the frontend's address
	lp   *proxy // luaproxy's engine; nil for haproxy
	hlog *syncBuffer
}

// startImpls runs cfg under luaproxy and, when it is installed, under
// HAProxy 2.6. env returns the ${VAR} values of an implementation (its
// origins); FE_PORT is set by startImpls. The frontend must bind
// "127.0.0.1:${FE_PORT}" first.
func startImpls(t *testing.T, cfg string, env func(name string) map[string]string) []*impl {
	t.Helper()
	var out []*impl
	for k, v := range env("luaproxy") {
		t.Setenv(k, v)
	}
	t.Setenv("FE_PORT", "0")
	lp := startProxy(t, cfg, nil)
	out = append(out, &impl{name: "luaproxy", addr: lp.addr(0), lp: lp})
	hport := strconv.Itoa(freePort(t))
	var henv []string
	for k, v := range env("haproxy") {
		henv = append(henv, k+"="+v)
	}
	henv = append(henv, "FE_PORT="+hport)
	if addr := startHAProxy(t, cfg, henv, hport); addr != "" {
		out = append(out, &impl{name: "haproxy", addr: addr})
	} else {
		t.Log("haproxy not installed: luaproxy is checked alone")
	}
	return out
}

// countingOrigin is an HTTP/1.1 keep-alive origin that counts the
// connections it accepted and closed. "/ntlm" answers 401 asking for NTLM
// authentication; "/slow" waits for release before answering; anything
// else answers "ok".
type countingOrigin struct {
	addr             string
	accepted, closed atomic.Int64
	release          chan struct{}
}

func newCountingOrigin(t *testing.T) *countingOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &countingOrigin{addr: ln.Addr().String(), release: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/ntlm":
				w.Header().Set("WWW-Authenticate", "NTLM")
				w.WriteHeader(401)
				return
			case "/slow":
				select {
				case <-o.release:
				case <-time.After(60 * time.Second):
				}
			}
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				o.accepted.Add(1)
			case http.StateClosed, http.StateHijacked:
				o.closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return o
}

// kaClient is a keep-alive HTTP/1.1 client connection.
type kaClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialKA(t *testing.T, addr string) *kaClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &kaClient{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends a GET with the extra header lines hdrs and returns the status
// and body ("error: ..." when no response came).
func (k *kaClient) get(path string, hdrs ...string) (int, string) {
	_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: t\r\n"
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(k.c, req+"\r\n"); err != nil {
		return 0, "error: " + err.Error()
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diffTable renders name -> value lines for comparing results.
func diffTable[V any](m map[string]V) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s = %v\n", k, m[k])
	}
	return b.String()
}
