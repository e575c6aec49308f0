//go:build lua53

package luabind

import (
	"fmt"
	"strings"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"luaproxy/netio/h1"
)

// HTTP is the Lua "HTTP" class (txn.http): the request and response
// headers and start lines of an HTTP transaction. txn.http is a view of
// its TXN (vm.View): the class works on the *TXN, and HTTP is the same
// value seen through the HTTP methods.
type HTTP TXN

var httpClass = declareClass(&vm.Class[*TXN]{
	Name:    "HTTP",
	Methods: overTXN(httpMethods),
})

// overTXN adapts HTTP methods to the class's *TXN values.
func overTXN(ms []vm.Method[*HTTP]) []vm.Method[*TXN] {
	out := make([]vm.Method[*TXN], len(ms))
	for i, m := range ms {
		fn := m.Fn
		out[i] = vm.Method[*TXN]{Name: m.Name, Fn: func(tx *TXN, c *vm.Call) (int, error) { return fn((*HTTP)(tx), c) }}
		if d := m.Defer; d != nil {
			apply := d.Apply
			out[i].Defer = &vm.Deferral[*TXN]{Args: d.Args, Guard: d.Guard, Apply: func(tx *TXN, a []string) { apply((*HTTP)(tx), a) }}
		}
	}
	return out
}

var httpMethods = []vm.Method[*HTTP]{
	{Name: "req_get_headers", Fn: httpGetHeaders(false)},
	{Name: "res_get_headers", Fn: httpGetHeaders(true)},
	{Name: "req_add_header", Fn: httpAddHeader(false), Defer: httpAddDeferred(false)},
	{Name: "res_add_header", Fn: httpAddHeader(true), Defer: httpAddDeferred(true)},
	{Name: "req_del_header", Fn: httpDelHeader(false)},
	{Name: "res_del_header", Fn: httpDelHeader(true)},
	{Name: "req_set_header", Fn: httpSetHeader(false), Defer: httpSetDeferred(false)},
	{Name: "res_set_header", Fn: httpSetHeader(true), Defer: httpSetDeferred(true)},
	{Name: "req_rep_header", Fn: httpRepHeader(false, false)},
	{Name: "res_rep_header", Fn: httpRepHeader(true, false)},
	{Name: "req_rep_value", Fn: httpRepHeader(false, true)},
	{Name: "res_rep_value", Fn: httpRepHeader(true, true)},
	{Name: "req_set_method", Fn: (*HTTP).luaSetMethod},
	{Name: "req_set_path", Fn: (*HTTP).luaSetPath},
	{Name: "req_set_query", Fn: (*HTTP).luaSetQuery},
	{Name: "req_set_uri", Fn: (*HTTP).luaSetURI},
	{Name: "res_set_status", Fn: (*HTTP).luaSetStatus},
	// The first API document's names (seeds/001).
	{Name: "req_get_header", Fn: httpGetHeader(false)},
	{Name: "res_get_header", Fn: httpGetHeader(true)},
	{Name: "req_replace_header", Fn: httpRepHeader(false, false)},
	{Name: "res_replace_header", Fn: httpRepHeader(true, false)},
	{Name: "req_replace_value", Fn: httpRepHeader(false, true)},
	{Name: "res_replace_value", Fn: httpRepHeader(true, true)},
}

// msg returns the request or response of the current transaction, or an
// error outside HTTP (as HAProxy: the HTTP class only exists in HTTP mode).
func (h *HTTP) msg(c *vm.Call, res bool) (*h1.Message, error) {
	tx := h.s.HTTP
	if tx == nil {
		return nil, fmt.Errorf("HTTP object is not available in TCP mode")
	}
	if res != h.s.SampleCtx().Response {
		// HAProxy compat: a req_* function in a response rule or a res_*
		// one in a request rule raises the value on top of the stack (the
		// last argument) as it is
		if c.Top() <= 1 {
			return nil, vm.RawError("HAProxy class HTTP")
		}
		return nil, vm.RawError(c.ToString(c.Top()))
	}
	if res {
		if tx.Res.Status == 0 {
			return nil, fmt.Errorf("the HTTP response is not available yet")
		}
		return &tx.Res, nil
	}
	return &tx.Req, nil
}

// pushHeaders pushes HAProxy's header table: {name = {[0]=v1, [1]=v2}},
// names lower-cased, one entry per header line.
func pushHeaders(p *vm.Pusher, m *h1.Message) {
	idx := map[string]int{}
	var order []string
	vals := map[string][]string{}
	for _, hd := range m.Headers {
		n := strings.ToLower(hd.Name)
		if _, ok := idx[n]; !ok {
			idx[n] = len(order)
			order = append(order, n)
		}
		vals[n] = append(vals[n], hd.Value)
	}
	p.NewTable(0, len(order))
	for _, n := range order {
		p.Field(n, func() {
			vs := vals[n]
			p.NewTable(len(vs), 1)
			for i, v := range vs {
				p.PushString(v)
				p.SetIndex(int64(i))
			}
		})
	}
}

// httpGetHeaders implements HTTP.req_get_headers / res_get_headers. It
// never yields.
func httpGetHeaders(res bool) func(*HTTP, *vm.Call) (int, error) {
	return func(h *HTTP, c *vm.Call) (int, error) {
		m, err := h.msg(c, res)
		if err != nil {
			return 0, err
		}
		pushHeaders(&c.Pusher, m)
		return 1, nil
	}
}

// httpGetHeader implements the seed's req_get_header(name[, index]): the
// value of a header (the last one by default, 0-based index otherwise),
// or nil.
func httpGetHeader(res bool) func(*HTTP, *vm.Call) (int, error) {
	return func(h *HTTP, c *vm.Call) (int, error) {
		m, err := h.msg(c, res)
		if err != nil {
			return 0, err
		}
		name, err := c.String(2)
		if err != nil {
			return 0, err
		}
		vals := m.Values(name)
		i := int64(len(vals) - 1)
		if c.Top() >= 3 {
			if i, err = c.Integer(3); err != nil {
				return 0, err
			}
		}
		if i < 0 || i >= int64(len(vals)) {
			c.PushNil()
			return 1, nil
		}
		c.PushString(vals[i])
		return 1, nil
	}
}

// dirName is the "req_"/"res_" prefix of HAProxy's short names.
func dirName(res bool) string {
	if res {
		return "res_"
	}
	return "req_"
}

// nameValue checks the arguments of fn (its full short name, such as
// "req_set_hdr") and returns the message, the name and the value.
func (h *HTTP) nameValue(c *vm.Call, res bool, fn string) (*h1.Message, string, string, error) {
	if err := checkArgs(c, 3, fn); err != nil {
		return nil, "", "", err
	}
	m, err := h.msg(c, res)
	if err != nil {
		return nil, "", "", err
	}
	name, err := c.String(2)
	if err != nil {
		return nil, "", "", err
	}
	value, err := c.String(3)
	if err != nil {
		return nil, "", "", err
	}
	return m, name, value, nil
}

// httpAddHeader implements req_add_header/res_add_header. It never yields.
func httpAddHeader(res bool) func(*HTTP, *vm.Call) (int, error) {
	fn := dirName(res) + "add_hdr"
	return func(h *HTTP, c *vm.Call) (int, error) {
		m, name, value, err := h.nameValue(c, res, fn)
		if err != nil {
			return 0, err
		}
		m.Add(name, value)
		return 0, nil
	}
}

// httpSetHeader implements req_set_header/res_set_header: every header
// of that name is removed, then one is added. It never yields.
func httpSetHeader(res bool) func(*HTTP, *vm.Call) (int, error) {
	fn := dirName(res) + "set_hdr"
	return func(h *HTTP, c *vm.Call) (int, error) {
		m, name, value, err := h.nameValue(c, res, fn)
		if err != nil {
			return 0, err
		}
		m.Del(name)
		m.Add(name, value)
		return 0, nil
	}
}

// The mask bits of an invocation for the calls C may queue (vm.Deferral):
// a Lua action's header writes HTTP.msg would allow, a TCP service's
// sends.
const (
	deferReqWrite   uint32 = 1 << iota // req_* header writes
	deferResWrite                      // res_* header writes
	deferAppletSend                    // AppletTCP.send, not filtered
)

// deferMask returns the header writes HTTP.msg allows now on s.
func deferMask(s *core.Stream) uint32 {
	tx := s.HTTP
	switch {
	case tx == nil:
		return 0
	case !s.SampleCtx().Response:
		return deferReqWrite
	case tx.Res.Status != 0:
		return deferResWrite
	}
	return 0
}

// httpMsg returns the request or the response of h's transaction, for a
// deferred call (deferMask vouched for it).
func httpMsg(h *HTTP, res bool) *h1.Message {
	if res {
		return &h.s.HTTP.Res
	}
	return &h.s.HTTP.Req
}

func deferBit(res bool) uint32 {
	if res {
		return deferResWrite
	}
	return deferReqWrite
}

// httpAddDeferred is req_add_header/res_add_header queued by C.
func httpAddDeferred(res bool) *vm.Deferral[*HTTP] {
	return &vm.Deferral[*HTTP]{Args: 2, Guard: deferBit(res), Apply: func(h *HTTP, a []string) {
		httpMsg(h, res).Add(a[0], a[1])
	}}
}

// httpSetDeferred is req_set_header/res_set_header queued by C.
func httpSetDeferred(res bool) *vm.Deferral[*HTTP] {
	return &vm.Deferral[*HTTP]{Args: 2, Guard: deferBit(res), Apply: func(h *HTTP, a []string) {
		m := httpMsg(h, res)
		m.Del(a[0])
		m.Add(a[0], a[1])
	}}
}

// httpDelHeader implements req_del_header/res_del_header. It never yields.
func httpDelHeader(res bool) func(*HTTP, *vm.Call) (int, error) {
	fn := dirName(res) + "del_hdr"
	return func(h *HTTP, c *vm.Call) (int, error) {
		if err := checkArgs(c, 2, fn); err != nil {
			return 0, err
		}
		m, err := h.msg(c, res)
		if err != nil {
			return 0, err
		}
		name, err := c.String(2)
		if err != nil {
			return 0, err
		}
		m.Del(name)
		return 0, nil
	}
}

// httpRepHeader implements req_rep_header/res_rep_header (the whole value)
// and req_rep_value/res_rep_value (each comma-separated value): a regex
// match is replaced by the replacement, with \1..\9 back-references. It
// never yields.
func httpRepHeader(res, perValue bool) func(*HTTP, *vm.Call) (int, error) {
	fn := dirName(res) + "rep_hdr"
	if perValue {
		fn = dirName(res) + "rep_val"
	}
	return func(h *HTTP, c *vm.Call) (int, error) {
		if err := checkArgs(c, 4, fn); err != nil {
			return 0, err
		}
		m, err := h.msg(c, res)
		if err != nil {
			return 0, err
		}
		name, err := c.String(2)
		if err != nil {
			return 0, err
		}
		re, err := c.String(3)
		if err != nil {
			return 0, err
		}
		repl, err := c.String(4)
		if err != nil {
			return 0, err
		}
		if err := core.ReplaceHeader(m, name, re, repl, perValue); err != nil {
			return 0, c.ArgError(3, "invalid regex") // HAProxy's words
		}
		return 0, nil
	}
}

func (h *HTTP) reqString(c *vm.Call) (*h1.Message, string, error) {
	m, err := h.msg(c, false)
	if err != nil {
		return nil, "", err
	}
	v, err := c.String(2)
	return m, v, err
}

// luaSetMethod implements HTTP.req_set_method. It never yields.
func (h *HTTP) luaSetMethod(c *vm.Call) (int, error) {
	m, v, err := h.reqString(c)
	if err != nil {
		return 0, err
	}
	core.SetMethod(m, v)
	c.PushBool(true) // HAProxy compat: the change succeeded
	return 1, nil
}

// luaSetPath implements HTTP.req_set_path: the query string is kept.
func (h *HTTP) luaSetPath(c *vm.Call) (int, error) {
	m, v, err := h.reqString(c)
	if err != nil {
		return 0, err
	}
	core.SetPath(m, v)
	c.PushBool(true) // HAProxy compat: the change succeeded
	return 1, nil
}

// luaSetQuery implements HTTP.req_set_query: the query replaces the one
// after '?' (a leading '?' in query is dropped).
func (h *HTTP) luaSetQuery(c *vm.Call) (int, error) {
	m, v, err := h.reqString(c)
	if err != nil {
		return 0, err
	}
	core.SetQuery(m, v)
	c.PushBool(true) // HAProxy compat: the change succeeded
	return 1, nil
}

// luaSetURI implements HTTP.req_set_uri.
func (h *HTTP) luaSetURI(c *vm.Call) (int, error) {
	m, v, err := h.reqString(c)
	if err != nil {
		return 0, err
	}
	core.SetURI(m, v)
	c.PushBool(true) // HAProxy compat: the change succeeded
	return 1, nil
}

// luaSetStatus implements HTTP.res_set_status(status[, reason]).
func (h *HTTP) luaSetStatus(c *vm.Call) (int, error) {
	m, err := h.msg(c, true)
	if err != nil {
		return 0, err
	}
	// HAProxy compat: no result
	return 0, setStatus(c, m, h.s.HTTP)
}

// setStatus applies (status[, reason]) from arguments 2 and 3 to a
// response and its transaction: HTTP.res_set_status and
// HTTPMessage.set_status.
func setStatus(c *vm.Call, m *h1.Message, tx *core.HTTPTxn) error {
	code, err := c.Integer(2)
	if err != nil {
		return err
	}
	reason := httpReason(int(code))
	if !c.IsNoneOrNil(3) {
		if reason, err = c.String(3); err != nil {
			return err
		}
	}
	m.Status, m.Reason = int(code), reason
	tx.Status = int(code)
	return nil
}
