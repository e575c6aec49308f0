//go:build lua53

package luabind

import (
	"strings"

	"luaproxy/core"
	"luaproxy/luabind/vm"
	"time"
)

// streamSlot holds the Lua data of a stream (streamData).
var streamSlot = core.NewExtSlot()

// streamData is what Lua keeps per stream, across its actions.
type streamData struct {
	priv map[*LState]vm.Ref // txn:set_priv values, per state
	// wakeTime is act:wake_time()'s delay before an action that returned
	// act.YIELD runs again (0: the default).
	wakeTime time.Duration
	// priorityClass and priorityOffset are txn:set_priority_class and
	// set_priority_offset, clamped as HAProxy does; luaproxy has no
	// server queue ordering, so they are only kept.
	priorityClass, priorityOffset int64
}

func dataOf(s *core.Stream) *streamData {
	if d, ok := s.Ext[streamSlot].(*streamData); ok {
		return d
	}
	d := &streamData{}
	s.Ext[streamSlot] = d
	s.AtClose(func() { releaseStream(s) })
	return d
}

// releaseStream frees what scripts left anchored for s (its priv values).
func releaseStream(s *core.Stream) {
	d, ok := s.Ext[streamSlot].(*streamData)
	if !ok {
		return
	}
	for ls, r := range d.priv {
		ls.Lock()
		ls.Unref(r)
		ls.Unlock()
	}
	d.priv = nil
}

// TXN is the Lua "TXN" class: the transaction an action or fetch runs for.
type TXN struct {
	s  *core.Stream
	ls *LState
}

var txnClass = declareClass(&vm.Class[*TXN]{
	Name: "TXN",
	Lent: true, // one per invocation (vm.Class.Lent)
	Methods: []vm.Method[*TXN]{
		{Name: "get_priv", Fn: (*TXN).luaGetPriv},
		{Name: "set_priv", Fn: (*TXN).luaSetPriv},
		{Name: "log", Fn: (*TXN).luaLog},
		{Name: "deflog", Fn: (*TXN).luaDeflog},
		{Name: "Debug", Fn: txnLevel(core.LogDebug)},
		{Name: "Info", Fn: txnLevel(core.LogInfo)},
		{Name: "Warning", Fn: txnLevel(core.LogWarning)},
		{Name: "Alert", Fn: txnLevel(core.LogAlert)},
		{Name: "done", Fn: (*TXN).luaDone},
		{Name: "get_var", Fn: (*TXN).luaGetVar},
		{Name: "set_var", Fn: (*TXN).luaSetVar},
		{Name: "unset_var", Fn: (*TXN).luaUnsetVar},
		{Name: "set_loglevel", Fn: (*TXN).luaSetLoglevel},
		{Name: "set_tos", Fn: (*TXN).luaSetTOS},
		{Name: "set_mark", Fn: (*TXN).luaSetMark},
		{Name: "set_fc_tos", Fn: (*TXN).luaSetTOS},
		{Name: "set_fc_mark", Fn: (*TXN).luaSetMark},
		{Name: "set_priority_class", Fn: (*TXN).luaSetPriorityClass},
		{Name: "set_priority_offset", Fn: (*TXN).luaSetPriorityOffset},
		{Name: "reply", Fn: (*TXN).luaReply},
		// HAProxy compat: the first API document's names for txn.req / txn.res.
		{Name: "req_channel", Fn: (*TXN).luaReqChannel},
		{Name: "res_channel", Fn: (*TXN).luaResChannel},
	},
	Fields: []vm.Method[*TXN]{
		{Name: "req", Fn: (*TXN).luaReqChannel},
		{Name: "res", Fn: (*TXN).luaResChannel},
		{Name: "http_req", Fn: (*TXN).luaHTTPReq},
		{Name: "http_res", Fn: (*TXN).luaHTTPRes},
	},
	Views: append(txnViews(), vm.View[*TXN]{Name: "http", Class: httpClass}),
})

// tcpTXNClass is the TXN of a stream with no HTTP transaction: txnClass
// without txn.http, which is nil there (HAProxy builds it only for HTTP
// streams). Not in the API manifest: the same class for scripts.
var tcpTXNClass = &vm.Class[*TXN]{
	Name:    "TXN",
	Lent:    true, // one per invocation (vm.Class.Lent)
	Methods: txnClass.Methods,
	Fields:  txnClass.Fields,
	Views:   txnViews(),
}

// txnViews are the views of every TXN.
func txnViews() []vm.View[*TXN] {
	return []vm.View[*TXN]{
		{Name: "f", Class: fetchesClass},
		{Name: "sf", Class: sfetchesClass},
		{Name: "c", Class: convertersClass},
		{Name: "sc", Class: sconvertersClass},
	}
}

// pushTXN pushes txn as a TXN object. Its views' classes (txn.f, txn.c)
// get their methods first: a class's methods are fixed when it registers,
// which the TXN class's registration does for its views.
func pushTXN(p *vm.Pusher, txn *TXN) int64 {
	buildFetchesClass()
	buildConvertersClass()
	if txn.s.HTTP == nil {
		return tcpTXNClass.Push(p, txn)
	}
	return txnClass.Push(p, txn)
}

// luaReqChannel implements txn.req (and txn:req_channel()). It never yields.
func (tx *TXN) luaReqChannel(c *vm.Call) (int, error) {
	channelClass.Push(&c.Pusher, &Channel{ch: tx.s.Req, s: tx.s})
	return 1, nil
}

// luaResChannel implements txn.res (and txn:res_channel()). It never yields.
func (tx *TXN) luaResChannel(c *vm.Call) (int, error) {
	channelClass.Push(&c.Pusher, &Channel{ch: tx.s.Res, s: tx.s})
	return 1, nil
}

// luaGetPriv implements TXN.get_priv(txn). It never yields.
func (tx *TXN) luaGetPriv(c *vm.Call) (int, error) {
	if r, ok := dataOf(tx.s).priv[tx.ls]; ok {
		c.PushRef(r)
	} else {
		c.PushNil()
	}
	return 1, nil
}

// luaSetPriv implements TXN.set_priv(txn, data). It never yields.
func (tx *TXN) luaSetPriv(c *vm.Call) (int, error) {
	d := dataOf(tx.s)
	if old, ok := d.priv[tx.ls]; ok {
		tx.ls.Unref(old)
		delete(d.priv, tx.ls)
	}
	if c.IsNoneOrNil(2) {
		return 0, nil
	}
	r, err := c.Ref(2)
	if err != nil {
		return 0, err
	}
	if d.priv == nil {
		d.priv = map[*LState]vm.Ref{}
	}
	d.priv[tx.ls] = r
	return 0, nil
}

// luaLog implements TXN.log(txn, loglevel, msg). It never yields.
func (tx *TXN) luaLog(c *vm.Call) (int, error) {
	if err := checkArgs(c, 3, "log"); err != nil {
		return 0, err
	}
	level, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	msg, err := c.String(3)
	if err != nil {
		return 0, err
	}
	if level < -1 || level > 7 {
		// HAProxy compat: hlua_txn_log names argument 1 here
		return 0, c.ArgError(1, "Invalid loglevel.")
	}
	tx.ls.rt.e.Log.Level(int(level), msg)
	return 0, nil
}

// luaDeflog implements TXN.deflog(txn, msg): the message at the stream's
// log level. HAProxy 2.6 compat: that is the level txn:set_loglevel or
// set-log-level gave, else 0 (emerg), the unset value of its stream.
func (tx *TXN) luaDeflog(c *vm.Call) (int, error) {
	if err := checkArgs(c, 2, "deflog"); err != nil {
		return 0, err
	}
	msg, err := c.String(2)
	if err != nil {
		return 0, err
	}
	tx.ls.rt.e.Log.Level(max(tx.s.LogLevel(), core.LogEmerg), msg)
	return 0, nil
}

func txnLevel(level int) func(*TXN, *vm.Call) (int, error) {
	name := core.LevelNames[level]
	name = strings.ToUpper(name[:1]) + name[1:] // "Debug", "Info", ... for check_args
	return func(tx *TXN, c *vm.Call) (int, error) {
		if err := checkArgs(c, 2, name); err != nil {
			return 0, err
		}
		msg, err := c.String(2)
		if err != nil {
			return 0, err
		}
		tx.ls.rt.e.Log.Level(level, msg)
		return 0, nil
	}
}

// luaDone implements TXN.done(txn[, reply]): the stream ends after what
// was sent; the action stops at once (like core.done()). In HTTP mode a
// reply (a Reply or a table of the same shape) is sent to the client; in
// TCP mode it is ignored, as in HAProxy.
func (tx *TXN) luaDone(c *vm.Call) (int, error) {
	if c.Type(2) == vm.TypeTable && tx.s.HTTP != nil {
		if iv := inv(c); iv != nil && iv.ctx == ctxAction {
			// HAProxy compat: a reply it cannot build (a bad status)
			// is no Lua error; the stream ends without a response
			if r, err := replyOf(c, 2); err == nil {
				tx.s.HTTP.Reply = r
			}
		}
	}
	if iv := inv(c); iv != nil && (iv.ctx == ctxFetch || iv.ctx == ctxConverter) {
		// HAProxy compat: in a fetch, txn:done() ends the function with
		// the txn object on top of the stack, which converts to false
		// (2.6.12 logs "0" for it).
		iv.result, iv.hasResult = boolSample(false), true
		return stopInvocation(c) // HAProxy's NOTERM: the stream goes on
	}
	if iv := inv(c); iv != nil {
		iv.txnDone = true
	}
	return stopInvocation(c)
}
