//go:build lua53

package luabind

import (
	"testing"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"luaproxy/netio/h1"
)

// runMsg runs script with an HTTPMessage of s's request as "...".
func runMsg(t *testing.T, ts *testState, s *core.Stream, res bool, script string) string {
	t.Helper()
	ls := ts.ls
	ls.Lock()
	defer ls.Unlock()
	co, err := ls.NewCo(vm.CoOptions{YieldAllowed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if err := co.Load([]byte(script), "=test"); err != nil {
		t.Fatal(err)
	}
	co.Data = &invocation{ctx: ctxAction, name: "test", ls: ls, s: s}
	httpMessageClass.Push(&co.Pusher, &HTTPMessage{s: s, res: res})
	if out := ls.drive(co); out != vm.OK {
		t.Fatalf("%s: %s", script, failure(ls, co, out))
	}
	str, _ := co.ResultString(1)
	return str
}

func TestHTTPMessageBody(t *testing.T) {
	ts := newTestState(t)
	s := &core.Stream{HTTP: &core.HTTPTxn{}}
	s.HTTP.Req = h1.Message{Method: "POST", URI: "/p?q", Version: "HTTP/1.1",
		Headers: []h1.Header{{Name: "Content-Length", Value: "6"}}, ContentLength: 6,
		Body: []byte("abcdef"), BodyComplete: true, Framing: h1.FramingLength}
	got := runMsg(t, ts, s, false, `
local m = ...
local out = {}
local function add(k, v) out[#out+1] = k .. "=" .. tostring(v) end
add("eom", m:eom()) add("may_recv", m:may_recv()) add("is_full", m:is_full())
add("input", m:input()) add("body", m:body()) add("b2", m:body(2, 3)) add("bneg", m:body(-2))
add("oob", select(2, pcall(m.body, m, 9)))
add("set", m:set("XY", 0, 2)) add("append", m:append("!")) add("prepend", m:prepend("<"))
add("insert", m:insert("_", -1)) add("remove", m:remove(1, 1))
add("fwd", m:forward(2)) add("output", m:output()) add("input2", m:input()) add("body2", m:body())
add("send", m:send("S")) add("output2", m:output())
add("len", m:set_body_len(3)) add("chunked", m:set_body_len("chunked"))
add("status", select(2, pcall(m.set_status, m, 201)))
add("uri", m:set_uri("/u"))
m:unset_eom() add("eom2", m:eom())
return table.concat(out, " ")`)
	want := "eom=true may_recv=false is_full=false input=6 body=abcdef b2=cde bneg=ef oob=offset out of range. " +
		"set=2 append=1 prepend=1 insert=1 remove=1 fwd=2 output=2 input2=6 body2=cdef_! send=1 output2=3 " +
		"len=true chunked=true status=201 uri=true eom2=false"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if b := string(s.HTTP.Req.Body); b != "<YScdef_!" {
		t.Errorf("body %q", b)
	}
	if s.HTTP.Req.URI != "/u" || !s.HTTP.Req.Chunked {
		t.Errorf("message %+v", s.HTTP.Req)
	}
}
