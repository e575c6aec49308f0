//go:build lua53

package luabind

import (
	"bytes"
	"errors"
	"fmt"

	"luaproxy/core"
	"luaproxy/luabind/vm"
)

// Channel is the Lua "Channel" class: one direction (txn.req or txn.res)
// of a stream's buffer.
type Channel struct {
	ch *core.Channel
	s  *core.Stream
	// closed is set once waiting for more input gave up (end of input, or
	// the inspect delay expired): the channel "can't receive more data".
	closed bool
	// noWait: the channel of a filter callback, which never waits for
	// data (HAProxy runs filters without yielding).
	noWait bool
	// win is the window of a filter's tcp_payload: the methods see and
	// edit only those bytes of the input (nil: all of it).
	win *filterWindow
	// written counts the bytes send and forward wrote out since the
	// script last waited: HAProxy holds them in the buffer's output
	// until then, and output() counts them.
	written int
}

// filterWindow is the part of a channel's input a tcp_payload call
// filters: n bytes from off+fwd, fwd bytes being already forwarded by
// chn:forward.
type filterWindow struct{ off, fwd, n int }

// input returns the bytes the methods see: the filter's window, else the
// whole input.
func (ch *Channel) input() []byte {
	in := ch.ch.Input()
	if w := ch.win; w != nil {
		b := min(w.off+w.fwd, len(in))
		return in[b:min(b+w.n, len(in))]
	}
	return in
}

// base is the offset in the input of what input returns.
func (ch *Channel) base() int {
	if w := ch.win; w != nil {
		return w.off + w.fwd
	}
	return 0
}

// grow records that an edit changed the window's length by d.
func (ch *Channel) grow(d int) {
	if w := ch.win; w != nil {
		w.n += d
	}
}

// canWait reports whether a method may yield for more input. HAProxy
// compat: the request channel waits only under a tcp-request
// inspect-delay (without one, HAProxy runs the content rules once, on
// what is there).
func (ch *Channel) canWait(c *vm.Call) bool {
	return !ch.noWait && ch.mayRecv() && c.CanYield() && !ch.noInspect()
}

// noInspect reports whether the channel is the request's and no
// tcp-request inspect-delay lets its rules wait for data.
func (ch *Channel) noInspect() bool {
	return !ch.ch.IsRes() && ch.s.Frontend != nil && ch.s.Frontend.InspectDelay <= 0
}

// final reports whether no more input is to be expected: data and line
// then return nil for no input.
func (ch *Channel) final() bool { return !ch.mayRecv() || ch.win != nil || ch.noInspect() }

var channelClass = declareClass(&vm.Class[*Channel]{
	Name: "Channel",
	Methods: []vm.Method[*Channel]{
		{Name: "append", Fn: (*Channel).luaAppend},
		{Name: "data", Fn: (*Channel).luaData},
		{Name: "forward", Fn: (*Channel).luaForward},
		{Name: "input", Fn: (*Channel).luaInput},
		{Name: "insert", Fn: (*Channel).luaInsert},
		{Name: "is_full", Fn: (*Channel).luaIsFull},
		{Name: "is_resp", Fn: (*Channel).luaIsResp},
		{Name: "line", Fn: (*Channel).luaLine},
		{Name: "may_recv", Fn: (*Channel).luaMayRecv},
		{Name: "output", Fn: (*Channel).luaOutput},
		{Name: "prepend", Fn: (*Channel).luaPrepend},
		{Name: "remove", Fn: (*Channel).luaRemove},
		{Name: "send", Fn: (*Channel).luaSend},
		{Name: "set", Fn: (*Channel).luaSet},
	},
	Deprecated: []vm.Method[*Channel]{
		{Name: "dup", Fn: (*Channel).luaDup},
		{Name: "get", Fn: (*Channel).luaGet},
		{Name: "getline", Fn: (*Channel).luaGetline},
		{Name: "get_in_len", Fn: (*Channel).luaInput},
		{Name: "get_out_len", Fn: (*Channel).luaOutput},
		// HAProxy compat: the first API document's names.
		{Name: "get_line", Fn: (*Channel).luaGetline},
		{Name: "get_in_length", Fn: (*Channel).luaInput},
		{Name: "get_out_length", Fn: (*Channel).luaOutput},
	},
})

func (ch *Channel) mayRecv() bool { return !ch.closed && !ch.ch.EOF() && ch.ch.Room() > 0 }

// waitData yields until more input arrives (or input ends), then calls k.
func (ch *Channel) waitData(c *vm.Call, k vm.Func) (int, error) {
	ch.written = 0 // HAProxy sends its output while the script waits
	return c.Yield(func() {
		if err := ch.ch.Fill(ch.s.InspectDeadline()); err != nil && !errors.Is(err, core.ErrBufferFull) {
			ch.closed = true
		}
	}, k)
}

// enter checks a method's arguments (lo to hi after the channel) and,
// for the methods that read or edit the data (edit), that the stream is
// not HTTP, in HAProxy 2.6's order and words.
func (ch *Channel) enter(c *vm.Call, fn string, lo, hi int, edit bool) error {
	switch n := c.Top() - 1; {
	case lo == hi && n != lo:
		return checkArgs(c, lo+1, fn)
	case lo == 0 && n > hi:
		return fmt.Errorf("'%s' expects at most %d arguments", fn, hi)
	case lo > 0 && (n < lo || n > hi):
		return fmt.Errorf("'%s' expects at least %d argument and at most %d arguments", fn, lo, hi)
	}
	if edit && ch.httpMode() {
		return errHTTPChannel
	}
	return nil
}

// httpMode reports whether the stream is HTTP (HTX in HAProxy): only the
// channel's state may be read then.
func (ch *Channel) httpMode() bool {
	s := ch.s
	return s != nil && (s.Frontend != nil && s.Frontend.Mode == "http" || s.Backend != nil && s.Backend.Mode == "http")
}

var errHTTPChannel = vm.RawError("Cannot manipulate HAProxy channels in HTTP mode.")

// Range errors, raised as HAProxy 2.6 raises them (no position prefix).
var (
	errOffsetRange = vm.RawError("offset out of range.")
	errLengthRange = vm.RawError("length out of range.")
)

// offsetArg resolves the offset argument i against n bytes of input as
// HAProxy 2.6 does: absent is 0, present is checked as an integer (nil
// is an error), negative counts from the end (clamped to 0), and more
// than n is "offset out of range.".
func offsetArg(c *vm.Call, i, n int) (int, error) {
	if c.Top() < i {
		return 0, nil
	}
	o, err := c.Integer(i)
	if err != nil {
		return 0, err
	}
	if o < 0 {
		o = max(0, o+int64(n))
	}
	if o > int64(n) {
		return 0, errOffsetRange
	}
	return int(o), nil
}

// span resolves the (offset, length) arguments at i, i+1 of data and line
// against the input. n is what is there from off, at most the length
// asked; want is the length asked, -1 for "as much as possible" (also
// when no length is given: hasLen tells). A length below -1 is "length
// out of range.".
func (ch *Channel) span(c *vm.Call, i int) (off, n, want int, hasLen bool, err error) {
	in := len(ch.input())
	if off, err = offsetArg(c, i, in); err != nil {
		return 0, 0, 0, false, err
	}
	n, want = in-off, -1
	if c.Top() < i+1 {
		return off, n, want, false, nil
	}
	l, err := c.Integer(i + 1)
	if err != nil {
		return 0, 0, 0, false, err
	}
	if l < -1 {
		return 0, 0, 0, false, errLengthRange
	}
	if l >= 0 {
		want = int(min(l, int64(ch.ch.Max())+1))
		n = min(n, want)
	}
	return off, n, want, true, nil
}

// editSpan resolves the (offset, length) arguments at i, i+1 of remove and
// set: as span, but the length must fit in the input (-1: all of it from
// offset).
func (ch *Channel) editSpan(c *vm.Call, i int) (off, n int, err error) {
	in := len(ch.input())
	if off, err = offsetArg(c, i, in); err != nil {
		return 0, 0, err
	}
	if c.Top() < i+1 {
		return off, in - off, nil
	}
	l, err := c.Integer(i + 1)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case l == -1:
		return off, in - off, nil
	case l < 0 || l > int64(in-off):
		return 0, 0, errLengthRange
	}
	return off, int(l), nil
}

// luaData implements Channel.data(channel [, offset [, length]]). It may
// yield when length is -1 or exceeds the input, or, without a length,
// while there is no input from offset (as HAProxy 2.6 does). Without a
// length, no input when none may come is nil; with one, "".
func (ch *Channel) luaData(c *vm.Call) (int, error) {
	if err := ch.enter(c, "data", 0, 2, true); err != nil {
		return 0, err
	}
	off, n, want, hasLen, err := ch.span(c, 2)
	if err != nil {
		return 0, err
	}
	if (hasLen && (want < 0 || n < want) || !hasLen && n == 0) && ch.canWait(c) {
		return ch.waitData(c, ch.luaData)
	}
	in := ch.input()
	if len(in) == 0 && !hasLen && ch.final() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(in[off : off+n])
	return 1, nil
}

// luaLine implements Channel.line(channel [, offset [, length]]). It may
// yield until a whole line is buffered (in the length given, else in the
// buffer), the buffer is full or the input ends.
func (ch *Channel) luaLine(c *vm.Call) (int, error) {
	if err := ch.enter(c, "line", 0, 2, true); err != nil {
		return 0, err
	}
	off, n, want, hasLen, err := ch.span(c, 2)
	if err != nil {
		return 0, err
	}
	in := ch.input()
	seg := in[off : off+n]
	if i := bytes.IndexByte(seg, '\n'); i >= 0 {
		c.PushBytes(seg[:i+1])
		return 1, nil
	}
	if (want < 0 || n < want) && ch.canWait(c) {
		return ch.waitData(c, ch.luaLine)
	}
	if len(in) == 0 && !hasLen && ch.final() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(seg)
	return 1, nil
}

// luaDup implements Channel.dup(channel) (deprecated): all input, without
// removing it; nil when there is none and none may come. It never yields:
// HAProxy 2.6.12 returns "" at once for no input.
func (ch *Channel) luaDup(c *vm.Call) (int, error) {
	if err := ch.enter(c, "dup", 0, 0, true); err != nil {
		return 0, err
	}
	in := ch.ch.Input()
	if len(in) == 0 && !ch.mayRecv() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(in)
	return 1, nil
}

// luaGet implements Channel.get(channel) (deprecated): dup, then remove.
// It never yields.
func (ch *Channel) luaGet(c *vm.Call) (int, error) {
	if err := ch.enter(c, "get", 0, 0, true); err != nil {
		return 0, err
	}
	in := ch.ch.Input()
	if len(in) == 0 && !ch.mayRecv() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(in)
	ch.ch.Consume(len(in))
	return 1, nil
}

// luaGetline implements Channel.getline(channel) (deprecated): the first
// line, removed from the input. It yields until a line is there or the
// input ends (then everything left is returned, nil if nothing; HAProxy
// compat: "" when it cannot wait, without an inspect-delay).
func (ch *Channel) luaGetline(c *vm.Call) (int, error) {
	if err := ch.enter(c, "getline", 0, 0, true); err != nil {
		return 0, err
	}
	in := ch.ch.Input()
	if i := bytes.IndexByte(in, '\n'); i >= 0 {
		c.PushBytes(in[:i+1])
		ch.ch.Consume(i + 1)
		return 1, nil
	}
	if ch.canWait(c) {
		return ch.waitData(c, ch.luaGetline)
	}
	if len(in) == 0 && !ch.mayRecv() {
		c.PushNil()
		return 1, nil
	}
	c.PushBytes(in)
	ch.ch.Consume(len(in))
	return 1, nil
}

// luaInput implements Channel.input(channel): the input length. It never yields.
func (ch *Channel) luaInput(c *vm.Call) (int, error) {
	if err := ch.enter(c, "input", 0, 0, false); err != nil {
		return 0, err
	}
	c.PushInteger(int64(len(ch.input())))
	return 1, nil
}

// luaOutput implements Channel.output(channel): data already scheduled for
// sending and not sent yet (only the request's, before its server is
// connected; a filter sees 0). It never yields.
func (ch *Channel) luaOutput(c *vm.Call) (int, error) {
	if err := ch.enter(c, "output", 0, 0, false); err != nil {
		return 0, err
	}
	n := 0
	if ch.win == nil {
		n = ch.ch.Output() + ch.written
	}
	c.PushInteger(int64(n))
	return 1, nil
}

// luaIsFull implements Channel.is_full(channel). It never yields.
func (ch *Channel) luaIsFull(c *vm.Call) (int, error) {
	if err := ch.enter(c, "is_full", 0, 0, false); err != nil {
		return 0, err
	}
	c.PushBool(ch.ch.Room() == 0)
	return 1, nil
}

// luaIsResp implements Channel.is_resp(channel). It never yields.
func (ch *Channel) luaIsResp(c *vm.Call) (int, error) {
	if err := ch.enter(c, "is_resp", 0, 0, false); err != nil {
		return 0, err
	}
	c.PushBool(ch.ch.IsRes())
	return 1, nil
}

// luaMayRecv implements Channel.may_recv(channel). It never yields.
func (ch *Channel) luaMayRecv(c *vm.Call) (int, error) {
	if err := ch.enter(c, "may_recv", 0, 0, false); err != nil {
		return 0, err
	}
	c.PushBool(ch.mayRecv())
	return 1, nil
}

// insertAt copies s into the input at off (of what input returns); -1
// when it does not fit.
func (ch *Channel) insertAt(c *vm.Call, s []byte, off int) {
	if len(s) > ch.ch.Room() {
		c.PushInteger(-1)
		return
	}
	n := ch.ch.Insert(ch.base()+off, s)
	ch.grow(n)
	c.PushInteger(int64(n))
}

// luaAppend implements Channel.append(channel, string). It returns the
// bytes copied, or -1 if they do not fit. It never yields.
func (ch *Channel) luaAppend(c *vm.Call) (int, error) {
	if err := ch.enter(c, "append", 1, 1, true); err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	// HAProxy compat: 2.6.12 inserts at the start of a filter's window;
	// the end of it, as documented, is kept here.
	ch.insertAt(c, s, len(ch.input()))
	return 1, nil
}

// luaPrepend implements Channel.prepend(channel, string). It never yields.
func (ch *Channel) luaPrepend(c *vm.Call) (int, error) {
	if err := ch.enter(c, "prepend", 1, 1, true); err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	ch.insertAt(c, s, 0)
	return 1, nil
}

// luaInsert implements Channel.insert(channel, string [, offset]). It never yields.
func (ch *Channel) luaInsert(c *vm.Call) (int, error) {
	if err := ch.enter(c, "insert", 1, 2, true); err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	off, err := offsetArg(c, 3, len(ch.input()))
	if err != nil {
		return 0, err
	}
	ch.insertAt(c, s, off)
	return 1, nil
}

// luaRemove implements Channel.remove(channel [, offset [, length]]). It
// returns the bytes removed. It never yields.
func (ch *Channel) luaRemove(c *vm.Call) (int, error) {
	if err := ch.enter(c, "remove", 0, 2, true); err != nil {
		return 0, err
	}
	off, n, err := ch.editSpan(c, 2)
	if err != nil {
		return 0, err
	}
	in, b := ch.ch.Input(), ch.base()
	rest := append(append([]byte(nil), in[:b+off]...), in[b+off+n:]...)
	ch.ch.SetInput(rest)
	ch.grow(-n)
	c.PushInteger(int64(n))
	return 1, nil
}

// luaSet implements Channel.set(channel, string [, offset [, length]]).
// It returns the bytes copied or -1. It never yields.
func (ch *Channel) luaSet(c *vm.Call) (int, error) {
	if err := ch.enter(c, "set", 1, 3, true); err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	off, n, err := ch.editSpan(c, 3)
	if err != nil {
		return 0, err
	}
	in, b := ch.ch.Input(), ch.base()
	if len(in)-n+len(s) > ch.ch.Max() {
		c.PushInteger(-1)
		return 1, nil
	}
	out := make([]byte, 0, len(in)-n+len(s))
	out = append(append(append(out, in[:b+off]...), s...), in[b+off+n:]...)
	ch.ch.SetInput(out)
	ch.grow(len(s) - n)
	c.PushInteger(int64(len(s)))
	return 1, nil
}

// send writes p on, counting what went out at once in written.
func (ch *Channel) send(p []byte) (int, error) {
	held := ch.ch.Output()
	n, err := ch.ch.Send(p)
	ch.written += n - (ch.ch.Output() - held)
	return n, err
}

// luaSend implements Channel.send(channel, string): the string is sent at
// once. It returns the bytes sent, or -1 if the connection is closed.
func (ch *Channel) luaSend(c *vm.Call) (int, error) {
	if err := ch.enter(c, "send", 1, 1, true); err != nil {
		return 0, err
	}
	s, err := c.Bytes(2)
	if err != nil {
		return 0, err
	}
	if ch.win != nil {
		c.PushInteger(-1) // HAProxy compat: not from a filter's tcp_payload
		return 1, nil
	}
	n, err := ch.send(s)
	if err != nil && n == 0 {
		c.PushInteger(-1)
		return 1, nil
	}
	c.PushInteger(int64(n))
	return 1, nil
}

// luaForward implements Channel.forward(channel, length): the first length
// bytes of input are sent on. It may yield until that much input is there.
func (ch *Channel) luaForward(c *vm.Call) (int, error) {
	if err := ch.enter(c, "forward", 1, 1, true); err != nil {
		return 0, err
	}
	l, err := c.Integer(2)
	if err != nil {
		return 0, err
	}
	in := ch.input()
	if w := ch.win; w != nil {
		// in a filter: the bytes are passed on with what the filter
		// returns; the window starts after them
		n := min(int(max(l, 0)), len(in))
		w.fwd += n
		w.n -= n
		c.PushInteger(int64(n))
		return 1, nil
	}
	if int(l) > len(in) && ch.canWait(c) {
		return ch.waitData(c, ch.luaForward)
	}
	n := min(int(max(l, 0)), len(in))
	sent, _ := ch.send(in[:n])
	ch.ch.Consume(n)
	c.PushInteger(int64(sent))
	return 1, nil
}
