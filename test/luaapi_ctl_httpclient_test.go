package test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// core.httpclient(): a Lua action fetches from a loopback origin (the
// state yields meanwhile) and answers with what it got; a refused
// connection gives status 0.
func TestLuaHTTPClient(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Add("X-Seen", r.Header.Get("X-Ask"))
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(201)
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b))
	}))
	defer origin.Close()
	p := startProxy(t, `
global
    lua-load {dir}/hc.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request use-service lua.fetch
`, map[string]string{"hc.lua": `
core.register_service("fetch", "http", function(applet)
    local hc = core.httpclient()
    local r = hc:post{url = "` + origin.URL + `/up", body = "data", headers = { ["x-ask"] = { "q1" } }, timeout = 5000}
    local dead = hc:get{url = "http://127.0.0.1:1/", timeout = 2000}
    local body = string.format("%d %s %s %s,%s %s dead=%d", r.status, r.reason, r.headers["x-seen"][1],
        r.headers["x-multi"][1], r.headers["x-multi"][2], r.body, dead.status)
    applet:set_status(200)
    applet:add_header("content-length", tostring(#body))
    applet:start_response()
    applet:send(body)
end)
`})
	res, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + p.addr(0) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := string(b); got != "201 Created q1 a,b POST /up data dead=0" {
		t.Fatalf("got %q", got)
	}
	if strings.Contains(p.log.String(), "runtime error") {
		t.Fatalf("log:\n%s", p.log)
	}
}
