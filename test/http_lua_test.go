package test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// scripts/http_hello runs as shipped: an HTTP Lua action that edits the
// request through txn.http, an AppletHTTP service, and a return rule
// reading what the action set.
func TestHTTPHelloScript(t *testing.T) {
	cfg := string(must(os.ReadFile(repoPath("scripts", "http_hello.conf"))))
	lua := string(must(os.ReadFile(repoPath("scripts", "http_hello.lua"))))
	cfg = strings.Replace(cfg, "lua-load http_hello.lua", "lua-load {dir}/http_hello.lua", 1)
	cfg = strings.Replace(cfg, "127.0.0.1:10005", "127.0.0.1:0", 1)
	p := startProxy(t, cfg, map[string]string{"http_hello.lua": lua})
	cl := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := cl.Get("http://" + p.addr(0) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/hello/there")
	if res.StatusCode != 200 || body != "hello world from /hello/there\n" || res.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("service: %v %q %v", res.Status, body, res.Header)
	}
	for i := 0; i < 3; i++ { // keep-alive: the same client connection goes on
		if res, body = get("/other"); res.StatusCode != 200 || !strings.HasPrefix(body, "tag=seen-127.0.0.1:") {
			t.Fatalf("action: %v %q", res.Status, body)
		}
	}
}

// An AppletHTTP without content-length answers chunked, reads the request
// body, and a Lua error in a service gives HAProxy's 500.
func TestAppletHTTPChunkedAndErrors(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/svc.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request use-service lua.echo if { path /echo }
    http-request use-service lua.boom if { path /boom }
`, map[string]string{"svc.lua": `
core.register_service("echo", "http", function(applet)
    local body = applet:receive()
    applet:set_status(201, "Made")
    applet:add_header("x-len", tostring(applet.length))
    applet:start_response()
    applet:send("got:")
    applet:send(body)
end)
core.register_service("boom", "http", function(applet)
    error("kaboom")
end)
`})
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Post("http://"+p.addr(0)+"/echo", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || string(b) != "got:payload" || res.Header.Get("X-Len") != "7" || len(res.TransferEncoding) == 0 {
		t.Fatalf("echo: %v %q %v %v", res.Status, b, res.Header, res.TransferEncoding)
	}
	res, err = c.Get("http://" + p.addr(0) + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || !strings.Contains(string(b), "An internal server error occurred.") {
		t.Fatalf("boom: %v %q", res.Status, b)
	}
	p.waitLog(t, "Lua applet http '<lua.boom>': [state-id 0] runtime error: ", 10*time.Second)
}

// Applets reach fetches, converters, variables and private data as TXN
// does (applet.sf, applet.c, applet:set_var, applet:get_priv ...).
func TestAppletsShareTXNFunctions(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/svc.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request set-var(txn.who) str(rule)
    http-request use-service lua.info
`, map[string]string{"svc.lua": `
core.register_service("info", "http", function(applet)
    applet:set_priv({n = 41})
    applet:set_var("txn.extra", "lua")
    local body = table.concat({
        applet.sf:path(), applet.sc:upper("x"), tostring(applet.f:req_ver()),
        applet:get_var("txn.who"), applet:get_var("txn.extra"), tostring(applet:get_priv().n + 1),
    }, " ")
    applet:set_status(200)
    applet:add_header("content-length", tostring(#body))
    applet:start_response()
    applet:send(body)
end)
`})
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + p.addr(0) + "/some/path")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "/some/path X 1.1 rule lua 42" {
		t.Fatalf("got %q", b)
	}
}

// An action returning act.YIELD runs again after act:wake_time(), until
// it returns something else.
func TestActionYieldWakeTime(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/y.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request lua.poll
    http-request return status 200 content-type text/plain lf-string "runs=%[var(txn.runs)]"
`, map[string]string{"y.lua": `
local runs = 0
core.register_action("poll", { "http-req" }, function(txn)
    runs = runs + 1
    txn:set_var("txn.runs", runs)
    if runs < 3 then
        act:wake_time(20)
        return act.YIELD
    end
    return act.CONTINUE
end)
`})
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + p.addr(0) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "runs=3" {
		t.Fatalf("got %q", b)
	}
}

// txn.http's header writes, which C queues instead of calling Go when it
// can: each shows in what runs next (a fetch in the same action, the
// rules after it), in order, after an error that follows them, and the
// calls C cannot vouch for (a number, a request write in a response
// rule) behave as before.
func TestHTTPHeaderWritesInOrder(t *testing.T) {
	p := startProxy(t, `
global
    lua-load {dir}/w.lua
defaults
    mode http
    timeout client 10s
frontend fe
    bind 127.0.0.1:0
    http-request lua.w
    http-request lua.e
    http-request return status 200 hdr x-a %[var(txn.a)] hdr x-b %[req.fhdr_cnt(x-b)] hdr x-last %[req.fhdr(x-b,-1)] hdr x-n %[req.hdr(x-n)] hdr x-e %[req.hdr(x-before-error)] hdr x-g %[req.hdr(x-gone)]
    http-after-response lua.r
`, map[string]string{"w.lua": `
core.register_action("w", {"http-req"}, function(txn)
  txn.http:req_set_header("x-a", "1")
  txn.http:req_set_header("x-gone", "soon")
  txn:set_var("txn.a", txn.f:req_fhdr("x-a") .. "," .. tostring(txn.f:req_fhdr("x-gone")))
  txn.http:req_add_header("x-b", "2")
  txn.http:req_add_header("x-b", "3")
  txn.http:req_del_header("x-gone")
  txn.http:req_set_header("x-n", 42)
end)
core.register_action("e", {"http-req"}, function(txn)
  txn.http:req_set_header("x-before-error", "yes")
  error("boom")
end)
core.register_action("r", {"http-after-res"}, function(txn)
  txn.http:res_set_header("x-r", "ok")
  local ok, e = pcall(function() txn.http:req_set_header("x-bad", "v") end)
  txn.http:res_add_header("x-req-in-res", tostring(ok) .. ":" .. tostring(e))
end)
`})
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + p.addr(0) + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for name, want := range map[string]string{
		"x-a": "1,soon", "x-b": "2", "x-last": "3", "x-n": "42", "x-e": "yes", "x-g": "", "x-r": "ok",
		"x-req-in-res": "false:v",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}
