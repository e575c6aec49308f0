//go:build lua53

package luabind

import (
	"luaproxy/luabind/vm"
)

// Queue is the Lua "Queue" class (core.queue()): a FIFO of Lua values
// shared by the invocations of one state. Items are anchored in the
// registry; pop_wait yields until an item arrives.
//
// Every field is touched with the state held (the Lua calls), except the
// waiters' channels, which the waits read outside it.
type Queue struct {
	items   []vm.Ref
	waiters []chan struct{}
	alarms  []*invocation
	ls      *LState
	// dead are popped items' references, released at the next call: the
	// pop's result is pushed from them after the Go function returns.
	dead []vm.Ref
}

var queueClass = declareClass(&vm.Class[*Queue]{
	Name: "Queue",
	Methods: []vm.Method[*Queue]{
		{Name: "size", Fn: (*Queue).luaSize},
		{Name: "push", Fn: (*Queue).luaPush},
		{Name: "pop", Fn: (*Queue).luaPop},
		{Name: "pop_wait", Fn: (*Queue).luaPopWait},
		{Name: "alarm", Fn: (*Queue).luaAlarm},
	},
	Guard: (*Queue).reap,
	Owned: true,
})

// reap releases the references of items popped by earlier calls.
func (q *Queue) reap(c *vm.Call) error {
	for _, r := range q.dead {
		c.State().Unref(r)
	}
	q.dead = q.dead[:0]
	return nil
}

// luaCoreQueue implements core.queue(): a new, empty Queue. It never
// yields.
func luaCoreQueue(c *vm.Call) (int, error) {
	queueClass.Push(&c.Pusher, &Queue{ls: lsOf(c)})
	return 1, nil
}

// Released drops the items' references when the Queue is collected.
func (q *Queue) Released() {
	if q.ls == nil {
		return
	}
	for _, r := range append(q.items, q.dead...) {
		q.ls.Unref(r)
	}
	q.items, q.dead = nil, nil
}

// luaSize implements Queue.size(queue): the number of items. It never
// yields.
func (q *Queue) luaSize(c *vm.Call) (int, error) {
	c.PushInteger(int64(len(q.items)))
	return 1, nil
}

// luaPush implements Queue.push(queue, item): appends item (not nil) and
// wakes the waiting pop_wait calls and alarms. It returns true. It never
// yields.
func (q *Queue) luaPush(c *vm.Call) (int, error) {
	if c.IsNoneOrNil(2) {
		return 0, c.ArgError(2, "value expected")
	}
	r, err := c.Ref(2)
	if err != nil {
		return 0, err
	}
	q.items = append(q.items, r)
	for _, w := range q.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	q.waiters = q.waiters[:0]
	for _, iv := range q.alarms {
		iv.wakeUp()
	}
	q.alarms = q.alarms[:0]
	c.PushBool(true)
	return 1, nil
}

// luaPop implements Queue.pop(queue): the oldest item, or nil. It never
// yields.
func (q *Queue) luaPop(c *vm.Call) (int, error) {
	if len(q.items) == 0 {
		c.PushNil()
		return 1, nil
	}
	r := q.items[0]
	q.items = q.items[1:]
	c.PushRef(r)
	q.dead = append(q.dead, r)
	return 1, nil
}

// luaPopWait implements Queue.pop_wait(queue): the oldest item, waiting
// for one if the queue is empty. It may yield.
func (q *Queue) luaPopWait(c *vm.Call) (int, error) {
	if len(q.items) > 0 {
		return q.luaPop(c)
	}
	ch := make(chan struct{}, 1)
	q.waiters = append(q.waiters, ch)
	return c.Yield(func() { <-ch }, q.luaPopWait)
}

// luaAlarm implements Queue.alarm(queue): the next push wakes the calling
// invocation's core.wait(). It never yields.
func (q *Queue) luaAlarm(c *vm.Call) (int, error) {
	iv := inv(c)
	if iv == nil || iv.ctx == ctxBody || iv.ctx == ctxInit || iv.ctx == ctxFetch || iv.ctx == ctxConverter {
		return 0, vm.RawError("Queue:alarm() is only available in task, action and service contexts")
	}
	iv.wakeChan() // made now: the invocation is not recycled (see recycle)
	q.alarms = append(q.alarms, iv)
	return 0, nil
}
