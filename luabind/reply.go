//go:build lua53

package luabind

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"luaproxy/netio/h1"
)

// The Lua "Reply" class (txn:reply()). HAProxy compat: as in hlua.c, a
// reply is a plain Lua table whose fields status, reason, headers
// ({name = {v1, v2, ...}}) and body scripts may read and assign, and that
// txn:done(reply) reads back. Its methods are Lua functions (one set per
// state) stored in the table itself rather than in a metatable, so
// pairs(reply) also lists them; everything else behaves as HAProxy's.
const replyMethodsLua = `
local default_reason = ...
local getinfo = debug.getinfo
-- argerror raises what luaL_argerror would for the method that called
-- it: the method's name as the call names it ('?' through pcall), the
-- self argument not counted in a method call.
local function argerror(arg, msg)
  local ar = getinfo(3, "n") or {}
  if ar.namewhat == "method" then
    arg = arg - 1
    if arg == 0 then error(("calling '%s' on bad self"):format(ar.name), 0) end
  end
  error(("bad argument #%d to '%s' (%s)"):format(arg, ar.name or "?", msg), 0)
end
local function typename(n, i, v)
  if i > n then return "no value" end
  return type(v)
end
-- checkinteger, checkstring and optstring follow luaL_checkinteger,
-- luaL_checkstring and luaL_optstring; n counts the arguments after self.
local function checkinteger(n, i, v)
  if math.type(v) == "integer" then return v end
  local x = math.tointeger(type(v) == "string" and tonumber(v) or v)
  if x then return x end
  if type(v) == "number" or (type(v) == "string" and tonumber(v)) then
    argerror(i, "number has no integer representation")
  end
  argerror(i, "number expected, got " .. typename(n + 1, i, v))
end
local function checkstring(n, i, v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  argerror(i, "string expected, got " .. typename(n + 1, i, v))
end
local function optstring(n, i, v)
  if v == nil then return nil end
  return checkstring(n, i, v)
end
local function set_status(r, ...)
  local n, status, reason = select("#", ...), ...
  status = checkinteger(n, 2, status)
  reason = optstring(n, 3, reason)
  r.status, r.reason = status, reason or default_reason(status)
  return true
end
local function add_header(r, ...)
  local n, name, value = select("#", ...), ...
  name = checkstring(n, 2, name)
  value = checkstring(n, 3, value)
  local h = r.headers
  if type(h) ~= "table" then h = {} r.headers = h end
  local l = h[name]
  if type(l) ~= "table" then l = {} h[name] = l end
  l[#l + 1] = value
  return true
end
local function del_header(r, ...)
  local n, name = select("#", ...), ...
  name = checkstring(n, 2, name)
  if type(r.headers) == "table" then r.headers[name] = nil end
  return true
end
local function set_body(r, ...)
  local n, body = select("#", ...), ...
  r.body = checkstring(n, 2, body)
  return true
end
return set_status, add_header, del_header, set_body
`

var replyMethodNames = [...]string{"set_status", "add_header", "del_header", "set_body"}

func init() {
	apiClasses = append(apiClasses, apiClass{name: "Reply", names: func() []string {
		return append([]string{"status", "reason", "headers", "body"}, replyMethodNames[:]...)
	}})
}

// defaultReasonFn is the reason phrase of a status (set_status without
// a reason).
var defaultReasonFn = vm.NewFunction("Reply.default_reason", func(c *vm.Call) (int, error) {
	code, err := c.Integer(1)
	if err != nil {
		return 0, err
	}
	c.PushString(httpReason(int(code)))
	return 1, nil
})

// httpReason is HAProxy's http_get_reason: the standard phrase of a
// status ("Bad Request", unlike the "Bad request" of its error pages),
// else one per class.
func httpReason(code int) string {
	if r := http.StatusText(code); r != "" {
		return r
	}
	return core.ClassReason(code)
}

// replyFns holds each state's Reply methods (anchored functions).
var replyFns sync.Map // *LState -> [4]vm.Ref

// installReply compiles the Reply methods of a state. The caller holds
// the lock.
func installReply(ls *LState) error {
	co, err := ls.NewCo(vm.CoOptions{})
	if err != nil {
		return err
	}
	defer co.Close()
	if err := co.Load([]byte(replyMethodsLua), "=Reply"); err != nil {
		return err
	}
	co.PushFunction(defaultReasonFn)
	if out := co.Resume(); out != vm.OK || co.NResults() != len(replyMethodNames) {
		return fmt.Errorf("Reply: %v", out)
	}
	var refs [len(replyMethodNames)]vm.Ref
	for i := range refs {
		refs[i] = co.RefResult(i + 1)
	}
	replyFns.Store(ls, refs)
	return nil
}

// luaReply implements TXN.reply(txn[, reply]): a new Reply table, its
// fields copied from reply (status 200 and an empty body by default). It
// fails outside HTTP mode, with HAProxy's message. It never yields.
func (tx *TXN) luaReply(c *vm.Call) (int, error) {
	if tx.s.HTTP == nil {
		return 0, fmt.Errorf("txn object is not an HTTP transaction.")
	}
	status, reason, body, hasBody := int64(200), "", "", false
	var headers map[any]any
	if c.Type(2) == vm.TypeTable { // HAProxy compat: anything else is ignored
		init, _ := c.Value(2).(map[any]any)
		if v, ok := init["status"].(int64); ok {
			status = v
		} else if f, ok := init["status"].(float64); ok {
			status = int64(f)
		}
		// HAProxy compat: the table's reason is not read, the status
		// gives it
		if v, ok := init["body"].(string); ok {
			body, hasBody = v, true
		}
		headers, _ = init["headers"].(map[any]any)
	}
	c.NewTable(0, 8)
	if reason == "" {
		reason = httpReason(int(status)) // HAProxy compat: filled in at once
	}
	c.FieldInteger("status", status)
	c.FieldString("reason", reason)
	c.Field("headers", func() {
		c.NewTable(0, len(headers))
		for _, k := range sortedKeys(headers) {
			c.Field(k, func() {
				c.NewTable(4, 0)
				for i, v := range headerValues(headers[k]) {
					c.PushString(v)
					c.SetIndex(int64(i + 1))
				}
			})
		}
	})
	if hasBody { // HAProxy compat: no body field by default
		c.FieldString("body", body)
	}
	if refs, ok := replyFns.Load(tx.ls); ok {
		for i, r := range refs.([len(replyMethodNames)]vm.Ref) {
			c.Field(replyMethodNames[i], func() { c.PushRef(r) })
		}
	}
	return 1, nil
}

func sortedKeys(m map[any]any) []string {
	var out []string
	for k := range m {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// headerValues reads one name's values: a list of strings (numbers are
// formatted as Lua does). HAProxy compat: anything else, a lone string
// included, gives no header.
func headerValues(v any) []string {
	l, ok := v.(map[any]any)
	if !ok {
		return nil
	}
	var out []string
	for i := int64(1); ; i++ {
		switch s := l[i].(type) {
		case string:
			out = append(out, s)
		case int64:
			out = append(out, strconv.FormatInt(s, 10))
		case float64:
			// lua_tostring's "%.14g"
			f := strconv.FormatFloat(s, 'g', 14, 64)
			if !strings.ContainsAny(f, ".eEnN") {
				f += ".0"
			}
			out = append(out, f)
		default:
			return out
		}
	}
}

// replyOf converts a Reply table (argument i) into the engine's reply, as
// hlua_txn_forward_reply: status 200 by default, the status' reason when
// none is given.
func replyOf(c *vm.Call, i int) (*core.Reply, error) {
	t, _ := c.Value(i).(map[any]any)
	r := &core.Reply{Status: 200}
	switch v := t["status"].(type) {
	case int64:
		r.Status = int(v)
	case float64:
		r.Status = int(v)
	}
	if r.Status < 100 || r.Status > 999 {
		return nil, fmt.Errorf("'done': invalid status code %d", r.Status)
	}
	if v, ok := t["reason"].(string); ok {
		r.Reason = v
	}
	if v, ok := t["body"].(string); ok {
		r.Body = []byte(v)
	}
	hs, _ := t["headers"].(map[any]any)
	for _, k := range sortedKeys(hs) {
		for _, v := range headerValues(hs[k]) {
			r.Headers = append(r.Headers, h1.Header{Name: k, Value: v})
		}
	}
	return r, nil
}
