package h1_test

import (
	"slices"
	"strings"
	"testing"

	"luaproxy/netio/h1"
)

func TestKeepAlive(t *testing.T) {
	tests := []struct {
		in   string
		resp bool
		want bool
	}{
		{"GET / HTTP/1.1\r\n\r\n", false, true},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n", false, false},
		{"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", false, false},
		{"GET / HTTP/1.0\r\n\r\n", false, false},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false, true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, false},
		{"GET / HTTP/2.0\r\n\r\n", false, true},
		{"GET / HTTP/0.9\r\n\r\n", false, false},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false, false},
		{"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, true},
		{"HTTP/1.1 200 OK\r\n\r\n", true, false}, // close-delimited
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", true, false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", true, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true, false},
	}
	for _, tt := range tests {
		r := h1.NewReader(strings.NewReader(tt.in), 0)
		var m h1.Message
		var err error
		if tt.resp {
			err = r.ReadResponse(&m, h1.Limits{}, "GET")
		} else {
			err = r.ReadRequest(&m, h1.Limits{})
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := m.KeepAlive(); got != tt.want {
			t.Errorf("%q: KeepAlive %v, want %v", tt.in, got, tt.want)
		}
	}
	// Headers set by code count too.
	m := h1.Message{Version: "HTTP/1.1"}
	m.Add("Connection", "close")
	if m.KeepAlive() {
		t.Error("built message with Connection: close keeps alive")
	}
}

func TestTokens(t *testing.T) {
	m := h1.Message{Headers: hdrs("Connection", ` a , "b,c" ,,d`, "x", "y", "connection", "E")}
	if got := slices.Collect(m.Tokens("CONNECTION")); !slices.Equal(got, []string{"a", `"b,c"`, "d", "E"}) {
		t.Errorf("Tokens: %q", got)
	}
	if !m.HasToken("connection", "e") || m.HasToken("connection", "b") {
		t.Error("HasToken")
	}
}

func TestSemantics(t *testing.T) {
	expect := readRequest(t, "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
	expect10 := readRequest(t, "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
	if !expect.ExpectContinue() || expect10.ExpectContinue() {
		t.Error("ExpectContinue")
	}
	ws := readRequest(t, "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	noConn := readRequest(t, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
	if !ws.IsUpgrade() || noConn.IsUpgrade() || ws.IsConnect() {
		t.Error("IsUpgrade")
	}
	connect := readRequest(t, "CONNECT h:8443 HTTP/1.1\r\n\r\n")
	if !connect.IsConnect() || connect.Host() != "h:8443" {
		t.Errorf("CONNECT: %v %q", connect.IsConnect(), connect.Host())
	}
	for in, want := range map[string]string{
		"GET / HTTP/1.1\r\nHost: a:81\r\n\r\n":             "a:81",
		"GET http://u@b/x HTTP/1.1\r\n\r\n":                "b",
		"GET http://b:80/x HTTP/1.1\r\nHost: b:80\r\n\r\n": "b",
		"GET /x HTTP/1.1\r\n\r\n":                          "",
	} {
		if got := readRequest(t, in).Host(); got != want {
			t.Errorf("%q: Host %q, want %q", in, got, want)
		}
	}
}

func TestSetFraming(t *testing.T) {
	m := readRequest(t, "POST / HTTP/1.1\r\nA: 1\r\nContent-Length: 3\r\nB: 2\r\n\r\n")
	m.SetChunked()
	if want := "POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nTransfer-Encoding: chunked\r\n\r\n"; string(h1.AppendHead(nil, m)) != want || !m.Chunked || m.ContentLength != -1 {
		t.Errorf("SetChunked: %q", h1.AppendHead(nil, m))
	}
	m.SetContentLength(12)
	if want := "POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nContent-Length: 12\r\n\r\n"; string(h1.AppendHead(nil, m)) != want || m.Chunked || m.ContentLength != 12 {
		t.Errorf("SetContentLength: %q", h1.AppendHead(nil, m))
	}
}

func TestReset(t *testing.T) {
	m := readRequest(t, "GET / HTTP/1.1\r\nA: 1\r\n\r\n")
	m.Body = append(m.Body, "x"...)
	m.BodyComplete = true
	hs := m.Headers
	m.Reset()
	if m.Method != "" || len(m.Headers) != 0 || cap(m.Headers) != cap(hs) || len(m.Body) != 0 ||
		m.BodyComplete || m.ContentLength != -1 || hs[:1][0] != (h1.Header{}) {
		t.Errorf("Reset left %+v", m)
	}
}
