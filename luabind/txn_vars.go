//go:build lua53

package luabind

import (
	"fmt"
	"strings"

	"luaproxy/core/sample"
	"luaproxy/luabind/vm"
	"luaproxy/netio"
)

// luaGetVar implements TXN.get_var(txn, name): the variable's value
// ("txn.foo", "sess.bar", "proc.baz", "req.x", "res.y") converted as a
// sample, or nil when it is not set or the name is invalid. It never
// yields.
func (tx *TXN) luaGetVar(c *vm.Call) (int, error) {
	if err := checkArgs(c, 2, "get_var"); err != nil {
		return 0, err
	}
	name, err := c.String(2)
	if err != nil {
		return 0, err
	}
	vn, err := sample.ParseVarName(name)
	if err != nil {
		c.PushNil()
		return 1, nil
	}
	ctx := tx.s.SampleCtx()
	if ctx.Vars(vn.Scope) == nil {
		c.PushNil()
		return 1, nil
	}
	smp, ok := ctx.GetVar(vn)
	pushSample(c, tx.ls.rt, smp, ok, false)
	return 1, nil
}

// luaSetVar implements TXN.set_var(txn, name, value[, ifexist]): true when
// the variable was set. HAProxy compat: ifexist sets only variables whose
// name is known; 2.6 knows every valid name of a stream's scopes (a
// never-used "txn.zz" is set), but only the proc variables declared or
// set before. The value converts as hlua_lua2smp (1.5 becomes 0). It
// never yields.
func (tx *TXN) luaSetVar(c *vm.Call) (int, error) {
	if n := c.Top(); n < 3 || n > 4 {
		return 0, fmt.Errorf("'set_var' needs between 3 and 4 arguments")
	}
	name, err := c.String(2)
	if err != nil {
		return 0, err
	}
	if rest, ok := strings.CutPrefix(name, "proc."); ok && c.Bool(4) && !sample.ProcVarKnown(rest) {
		c.PushBool(false)
		return 1, nil
	}
	vn, err := sample.ParseVarName(name)
	if err != nil {
		c.PushBool(false)
		return 1, nil
	}
	ctx := tx.s.SampleCtx()
	ok := ctx.Vars(vn.Scope) != nil && ctx.SetVar(vn, sampleFromLua(c, 3), 0)
	c.PushBool(ok)
	return 1, nil
}

// luaUnsetVar implements TXN.unset_var(txn, name): true when the name is
// valid. It never yields.
func (tx *TXN) luaUnsetVar(c *vm.Call) (int, error) {
	if err := checkArgs(c, 2, "unset_var"); err != nil {
		return 0, err
	}
	name, err := c.String(2)
	if err != nil {
		return 0, err
	}
	vn, err := sample.ParseVarName(name)
	ctx := tx.s.SampleCtx()
	if err != nil || ctx.Vars(vn.Scope) == nil {
		c.PushBool(false)
		return 1, nil
	}
	ctx.UnsetVar(vn)
	c.PushBool(true)
	return 1, nil
}

// luaSetLoglevel implements TXN.set_loglevel(txn, level): the level of
// the stream's log lines, core.emerg (0) to core.debug (7), or
// core.silent (-1, HAProxy 3.x) to drop them. It never yields.
func (tx *TXN) luaSetLoglevel(c *vm.Call) (int, error) {
	if err := checkArgs(c, 2, "set_loglevel"); err != nil {
		return 0, err
	}
	ll, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	if ll < -1 || ll > 7 {
		// HAProxy compat: 2.6's message (it refuses -1 too)
		return 0, c.ArgError(2, "Bad log level. It must be between 0 and 7")
	}
	tx.s.SetLogLevel(int(ll))
	return 0, nil
}

// luaSetTOS implements TXN.set_tos(txn, tos) and set_fc_tos: the TOS (or
// IPv6 traffic class) of the client connection's packets. Socket errors
// are ignored, as in HAProxy. It never yields.
func (tx *TXN) luaSetTOS(c *vm.Call) (int, error) {
	tos, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	_ = netio.SetTOS(tx.s.Client, int(tos))
	return 0, nil
}

// luaSetMark implements TXN.set_mark(txn, mark) and set_fc_mark: SO_MARK
// on the client connection (needs CAP_NET_ADMIN; errors are ignored). It
// never yields.
func (tx *TXN) luaSetMark(c *vm.Call) (int, error) {
	mark, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	_ = netio.SetMark(tx.s.Client, int(mark))
	return 0, nil
}

// luaSetPriorityClass implements TXN.set_priority_class(txn, prio),
// clamped to [-2047, 2047]. It never yields.
func (tx *TXN) luaSetPriorityClass(c *vm.Call) (int, error) {
	v, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	dataOf(tx.s).priorityClass = clamp(v, -2047, 2047)
	return 0, nil
}

// luaSetPriorityOffset implements TXN.set_priority_offset(txn, prio),
// clamped to [-524287, 524287]. It never yields.
func (tx *TXN) luaSetPriorityOffset(c *vm.Call) (int, error) {
	v, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	dataOf(tx.s).priorityOffset = clamp(v, -524287, 524287)
	return 0, nil
}

func clamp(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}
