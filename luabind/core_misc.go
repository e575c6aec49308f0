//go:build lua53

package luabind

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"luaproxy/core"
	"luaproxy/core/sample"
	"luaproxy/luabind/vm"
)

// checkArgs is HAProxy's check_args: exactly n arguments, else a Lua error
// "'fn' needs n arguments".
func checkArgs(c *vm.Call, n int, fn string) error {
	if c.Top() == n {
		return nil
	}
	return fmt.Errorf("'%s' needs %d arguments", fn, n)
}

// luaCoreTokenize implements core.tokenize(str, separators [, noblank]): the
// pieces of str between any of the separator bytes, empty ones dropped when
// noblank is true. It never yields.
func luaCoreTokenize(c *vm.Call) (int, error) {
	str, err := c.Bytes(1)
	if err != nil {
		return 0, err
	}
	sep, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	noblank := false
	// HAProxy compat: noblank is read only when exactly 3 arguments are
	// given, and must then be a boolean (nil is refused).
	if c.Top() == 3 {
		if c.Type(3) != vm.TypeBoolean {
			return 0, c.ArgError(3, "boolean expected")
		}
		noblank = c.Bool(3)
	}
	// HAProxy compat: both are read as C strings, up to the first NUL.
	str, sep = cutNUL(str), cutNUL(sep)
	c.NewTable(bytes.Count(str, sep)+1, 0)
	n, tok := int64(0), 0
	for p := 0; p <= len(str); p++ {
		if p < len(str) && bytes.IndexByte(sep, str[p]) < 0 {
			continue
		}
		if !noblank || p > tok {
			n++
			c.PushBytes(str[tok:p])
			c.SetIndex(n)
		}
		tok = p + 1
	}
	return 1, nil
}

func cutNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// luaCoreSetNice implements core.set_nice(nice). Any integer is accepted:
// HAProxy clamps it to -1024..1024 (and ignores it in the body and init
// contexts); luaproxy's scheduler has no task priorities, so the value is
// checked and dropped. It never yields.
func luaCoreSetNice(c *vm.Call) (int, error) {
	if err := checkArgs(c, 1, "set_nice"); err != nil {
		return 0, err
	}
	if _, err := c.Integer(1); err != nil {
		return 0, err
	}
	return 0, nil
}

// runtimeContext reports whether the call runs where HAProxy has a Lua
// task (hlua_gethlua): not in the body and init contexts, where core.done,
// core.set_nice and the waiting functions do nothing.
func runtimeContext(iv *invocation) bool {
	return iv != nil && iv.ctx != ctxBody && iv.ctx != ctxInit
}

// luaCoreDone implements core.done([data]): the action, task, service,
// fetch or converter stops at once, a multi-level return that pcall cannot
// catch; a fetch or converter returns data. In the body and init contexts
// it does nothing, as in HAProxy. It yields (to stop).
//
// Departure: HAProxy raises an error that pcall catches (the code after
// the pcall then runs); the reference says the execution stops, and it
// does here.
func luaCoreDone(c *vm.Call) (int, error) {
	iv := inv(c)
	if !runtimeContext(iv) {
		return 0, nil
	}
	if iv.ctx == ctxFetch || iv.ctx == ctxConverter {
		iv.result, iv.hasResult = sampleOfArg(c, 1), true
	}
	return stopInvocation(c)
}

// waitable reports whether the waiting functions wait here. In the body
// and init contexts they return at once (HAProxy has no task there); in a
// fetch or converter they yield, which ends the invocation with "yield not
// allowed", as in HAProxy.
func waitable(c *vm.Call) bool { return runtimeContext(inv(c)) }

// luaCoreSleep implements core.sleep(seconds). It yields (see waitable).
func luaCoreSleep(c *vm.Call) (int, error) {
	if err := checkArgs(c, 1, "sleep"); err != nil {
		return 0, err
	}
	n, err := c.Integer(1)
	if err != nil {
		return 0, err
	}
	if !waitable(c) {
		return 0, nil
	}
	return sleepFor(c, time.Duration(n)*time.Second)
}

// luaCoreMsleep implements core.msleep(milliseconds). It yields (see waitable).
func luaCoreMsleep(c *vm.Call) (int, error) {
	if err := checkArgs(c, 1, "msleep"); err != nil {
		return 0, err
	}
	n, err := c.Integer(1)
	if err != nil {
		return 0, err
	}
	if !waitable(c) {
		return 0, nil
	}
	return sleepFor(c, time.Duration(n)*time.Millisecond)
}

// sleepFor yields for d. A stream's sleep does not hold the engine
// clock's ticker (Stream.Idle): a script that tarpits clients keeps
// thousands of them asleep at once.
func sleepFor(c *vm.Call, d time.Duration) (int, error) {
	var s *core.Stream
	if iv := inv(c); iv != nil {
		s = iv.s
	}
	return c.YieldResolved(func() { s.Idle(func() { time.Sleep(d) }) }, resolvedNothing)
}

// resolvedNothing is the result of a function that returns nothing once
// it waited (vm.Call.YieldResolved).
func resolvedNothing(*vm.Pusher) bool { return true }

// luaCoreYield implements core.yield(): other work runs, then the
// invocation resumes. Where the context cannot wait (body, init, fetch,
// converter) it returns at once: HAProxy resumes a control yield at once
// when it may not yield. It may yield.
func luaCoreYield(c *vm.Call) (int, error) {
	iv := inv(c)
	if !runtimeContext(iv) || iv.ctx == ctxFetch || iv.ctx == ctxConverter {
		return 0, nil
	}
	return c.YieldResolved(nil, resolvedNothing)
}

// luaCoreWait implements core.wait([milliseconds]): the invocation sleeps
// until something wakes it (invocation.wakeUp) or, with an argument, the
// delay expires. It yields (see waitable).
func luaCoreWait(c *vm.Call) (int, error) {
	d := time.Duration(-1)
	if !c.IsNoneOrNil(1) {
		ms, err := c.Integer(1)
		if err != nil {
			return 0, err
		}
		d = time.Duration(max(ms, 0)) * time.Millisecond
	}
	if !waitable(c) {
		return 0, nil
	}
	wake := inv(c).wakeChan()
	return c.YieldResolved(func() {
		if d < 0 {
			<-wake
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-wake:
		case <-t.C:
		}
	}, resolvedNothing)
}

// luaCoreGetVar implements core.get_var(name): the value of the
// proc-scoped variable name ("proc.x"), nil if it is not set. It never
// yields.
func luaCoreGetVar(c *vm.Call) (int, error) {
	if err := checkArgs(c, 1, "get_var"); err != nil {
		return 0, err
	}
	name, err := c.String(1)
	if err != nil {
		return 0, err
	}
	if len(name) < 5 || name[:5] != "proc." {
		return 0, errors.New("'get_var': Only 'proc.' scope allowed to be retrieved in 'core.get_var()'.")
	}
	var rt *Runtime
	if ls := lsOf(c); ls != nil {
		rt = ls.rt
	}
	// the engine's own proc variables: set-var(proc.x) rules, TXN.set_var
	// and the runtime API's "set var" write them
	smp, ok := sample.ProcVars().Get(name[len("proc."):])
	pushSample(c, rt, smp, ok, false)
	return 1, nil
}
