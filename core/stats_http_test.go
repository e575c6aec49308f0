package core

import (
	"strings"
	"testing"

	"luaproxy/core/config"
	"luaproxy/netio/h1"
)

func TestStatsConfig(t *testing.T) {
	e, _ := loadEngine(t, `
defaults
    mode http
    stats refresh 5s
listen st
    bind 127.0.0.1:0
    stats uri /st
    stats realm My\ Realm
    stats auth a:b
    stats scope st
    server s1 127.0.0.1:1
backend plain
    server s1 127.0.0.1:1
`)
	st := e.frontends["st"].stats
	if st == nil || st.uri != "/st" || st.realm != "My Realm" || st.refresh != 5 || len(st.auth) != 1 || len(st.scope) != 1 {
		t.Fatalf("st: %+v", st)
	}
	// a defaults section's stats enable the page everywhere after it
	if p := e.backends["plain"].stats; p == nil || p.uri != statsDefaultURI || len(p.auth) != 0 {
		t.Errorf("plain: %+v", p)
	}
	for _, c := range []struct{ line, want string }{
		{"stats foo", "'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-node' or 'uri'."},
		{"stats admin", "'stats admin' requires either 'if' or 'unless' followed by a condition."},
		{"stats auth nopass", "'auth' needs a user:password account."},
		{"stats realm", "'realm' needs an realm name."},
		{"stats scope nope", "Proxy 'l': unable to find proxy 'nope' for 'stats scope'."},
	} {
		pc, err := config.Parse("t.cfg", []byte("listen l\n    mode http\n    "+c.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := New(NewLogger(&syncBuf{})).Load(pc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.line, err, c.want)
		}
	}
}

func TestStatsMatch(t *testing.T) {
	px := &Proxy{Mode: "http", stats: &statsConfig{uri: "/st"}}
	for _, c := range []struct {
		method, uri string
		want        bool
	}{
		{"GET", "/st", true}, {"GET", "/st;csv", true}, {"GET", "/stx", true}, {"HEAD", "/st", true},
		{"POST", "/st", true}, {"PUT", "/st", false}, {"GET", "/s", false}, {"GET", "http://h/st;csv", true},
		{"GET", "http://h", false},
	} {
		if got := statsMatch(px, &h1.Message{Method: c.method, URI: c.uri}); got != c.want {
			t.Errorf("%s %s: %v", c.method, c.uri, got)
		}
	}
	c := &statsConfig{auth: []string{"u:p"}}
	for v, want := range map[string]bool{"Basic dTpw": true, "basic dTpw": true, "Basic dTpx": false, "Bearer dTpw": false, "Basic !!": false} {
		m := &h1.Message{}
		m.Add("Authorization", v)
		if got := statsAuthorized(c, m); got != want {
			t.Errorf("%q: %v", v, got)
		}
	}
}
