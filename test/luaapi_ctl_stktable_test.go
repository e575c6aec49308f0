package test

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// StickTable from Lua: info() describes the table, lookup() and dump()
// (with a filter) read what track-sc0 counted.
func TestLuaStickTable(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/st.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 100 expire 30s store http_req_cnt,gpc0,conn_rate(10s)
    http-request track-sc0 src
    http-request use-service lua.show
`, map[string]string{"st.lua": `
core.register_service("show", "http", function(applet)
    local st = core.frontends["fe"].stktable
    local i = st:info()
    local e = st:lookup("127.0.0.1")
    local none = st:lookup("10.9.9.9")
    local all = st:dump()
    local big = st:dump({ { "http_req_cnt", "gt", 100 } })
    local n = 0
    for _ in pairs(big) do n = n + 1 end
    local body = string.format("%s %d %d %d %s %d %d %s %d %d", i.type, i.size, i.used, i.expire,
        tostring(i.nopurge), i.data.conn_rate, i.data.gpc0, tostring(none), e.http_req_cnt, all["127.0.0.1"].http_req_cnt + n)
    applet:set_status(200)
    applet:add_header("content-length", tostring(#body))
    applet:start_response()
    applet:send(body)
end)
`})
	cl := &http.Client{Timeout: 10 * time.Second}
	var body string
	for i := 0; i < 3; i++ {
		res, err := cl.Get("http://" + p.addr(0) + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(b)
	}
	if body != "ip 100 1 30000 false 10000 -1 nil 3 3" {
		t.Fatalf("got %q\nlog:\n%s", body, p.log)
	}
}
