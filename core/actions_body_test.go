package core

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"luaproxy/netio/h1"
)

// bodyConn returns an HTTP connection of fe whose client writes req, then
// the chunks of body with a pause between them.
func bodyConn(t *testing.T, e *Engine, req string, body ...string) *HTTPConn {
	t.Helper()
	srv, cli := net.Pipe()
	t.Cleanup(func() { srv.Close(); cli.Close() })
	go func() {
		_, _ = io.WriteString(cli, req)
		for _, b := range body {
			time.Sleep(20 * time.Millisecond)
			if _, err := io.WriteString(cli, b); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, cli)
	}()
	s := e.newStream(e.Frontend("fe"), srv)
	hc := e.newHTTPConn(s)
	s.HTTP = &HTTPTxn{txnState: txnState{start: time.Now()}}
	if err := hc.br.ReadRequest(&s.HTTP.Req, h1.LimitsFor(e.BufSize, e.MaxRewrite, e.MaxHdr)); err != nil {
		t.Fatal(err)
	}
	hc.bindStream()
	return hc
}

func TestWaitForBody(t *testing.T) {
	e, _ := loadEngine(t, "defaults\n mode http\nfrontend fe\n bind 127.0.0.1:0\n"+
		" http-request wait-for-body time 200ms at-least 4\n")
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"

	hc := bodyConn(t, e, head, "hello", "world")
	if v := hc.waitForBody(time.Second, 0); v != Continue || string(hc.s.HTTP.Req.Body) != "helloworld" || !hc.s.HTTP.Req.BodyComplete {
		t.Errorf("whole body: %v %q", v, hc.s.HTTP.Req.Body)
	}

	hc = bodyConn(t, e, head, "hello")
	if v := hc.waitForBody(time.Second, 4); v != Continue || !strings.HasPrefix(string(hc.s.HTTP.Req.Body), "hell") {
		t.Errorf("at-least: %v %q", v, hc.s.HTTP.Req.Body)
	}

	hc = bodyConn(t, e, head, "hel")
	if v := hc.waitForBody(100*time.Millisecond, 0); v != Done || hc.s.HTTP.Reply == nil || hc.s.HTTP.Reply.Status != 408 {
		t.Errorf("timeout: %v %+v", v, hc.s.HTTP.Reply)
	}

	// the rule runs the action on the bound connection
	hc = bodyConn(t, e, head, "0123456789")
	if r, ok := hc.s.runHTTPRules(hc.s.Frontend, HTTPRequest); !ok || r != nil || string(hc.s.HTTP.Req.Body) != "0123" {
		t.Errorf("rule: %v %v %q", ok, r, hc.s.HTTP.Req.Body)
	}
}
