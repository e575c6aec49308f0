package core

import (
	"strconv"
	"time"

	"luaproxy/core/config"
	"luaproxy/core/sample"
)

// The stream seen as HAProxy's stream task: how often it ran and for how
// long (cpu_calls, cpu_ns_*, lat_ns_*), and which rule it last ran or was
// waiting in (last_rule_*, last_entity, waiting_entity).
//
// A stream here is a goroutine, not a task of a scheduler: a "call" is a
// stretch of processing between two waits (for the client, for a server,
// for a Lua script's sleep or socket). The waits are marked where they
// happen: Channel.Fill, reading a request or a response head, dialing a
// server, and the Lua driver's yields (TaskWait, TaskWoken, TaskRun).

// taskClock accounts the calls of a stream's task since its current
// request started (HAProxy resets them for each request of a keep-alive
// connection: each request is a new stream there). The time of the calls
// and of their wake-ups is only measured under "profiling.tasks on", as
// in HAProxy: it costs two clock readings per call.
type taskClock struct {
	// now is the stream's clock: the time of its last wake-up (see
	// clock.go).
	now      time.Time
	profile  bool // profiling.tasks on
	running  bool
	calls    int64
	cpu, lat time.Duration
	runAt    time.Time // start of the running call (profiling)
	wokeAt   time.Time // when the wait ended, if known (profiling)
}

// run starts a call, unless one is running. The latency is the time since
// the wake-up, when the waker said when it was (a Lua script waiting for
// its state's lock); a goroutine woken by the netpoller runs at once as
// far as the stream can tell, and adds nothing.
func (c *taskClock) run() {
	if c.running {
		return
	}
	c.running = true
	c.calls++
	if !c.profile {
		return
	}
	now := time.Now()
	if !c.wokeAt.IsZero() {
		c.lat += now.Sub(c.wokeAt)
		c.wokeAt = time.Time{}
	}
	c.runAt = now
}

// wait ends the running call, if any: its duration counts as CPU time.
func (c *taskClock) wait() {
	if !c.running {
		return
	}
	c.running = false
	if c.profile {
		c.cpu += time.Since(c.runAt)
	}
}

// woken records when the stream's wait ended (profiling).
func (c *taskClock) woken() {
	if c.profile {
		c.wokeAt = time.Now()
	}
}

// restart forgets the previous request's calls: the running call becomes
// the first of the new request.
func (c *taskClock) restart() {
	*c = taskClock{now: c.now, profile: c.profile}
	c.run()
}

// TaskWait tells that the stream stops running until something wakes it
// (a Lua script yields to wait for a timer, a socket, or its turn).
func (s *Stream) TaskWait() {
	if s != nil {
		s.fx.task.wait()
	}
}

// TaskWoken tells when the stream was woken up; the next TaskRun adds the
// time in between to lat_ns_tot.
func (s *Stream) TaskWoken() {
	if s != nil {
		s.fx.task.woken()
	}
}

// TaskRun tells that the stream runs again (a new call): the engine's
// clock is read (see clock.go).
func (s *Stream) TaskRun() {
	if s != nil {
		s.wake()
		s.fx.task.run()
	}
}

// taskBlock marks a wait of the stream's own goroutine around fn, and
// reads the clock when it ends.
func (s *Stream) taskBlock(fn func()) {
	s.fx.task.wait()
	fn()
	s.wake()
	s.fx.task.run()
}

// idleBlock is taskBlock for fn a wait that reads no clock (a read from a
// connection, a timer): the clock's ticker does not run for it (see
// clockHold), as a client may keep a Lua service or a content rule
// waiting for minutes, and a long-polling server a response.
func (s *Stream) idleBlock(fn func()) {
	s.fx.task.wait()
	clockAway(s.Thread, fn)
	s.wake()
	s.fx.task.run()
}

// Idle runs fn, a wait of the stream that reads no clock (a Lua script's
// core.sleep), without holding the engine clock's ticker (see clockHold).
// The stream reads the clock when it runs again (TaskRun). A nil stream
// (a Lua task) runs fn as is.
func (s *Stream) Idle(fn func()) {
	if s == nil {
		fn()
		return
	}
	clockAway(s.Thread, fn)
}

// wake reads the clock for the stream (it woke up) and the engine.
func (s *Stream) wake() time.Time {
	s.fx.task.now = tick()
	return s.fx.task.now
}

// now returns the stream's clock: the time of its last wake-up, or the
// engine's clock if it is later (the stream was blocked in a write).
// Its steps (log timers) are taken from it, and never go back.
func (s *Stream) now() time.Time {
	if c := clockNow(); c.After(s.fx.task.now) {
		return c
	}
	return s.fx.task.now
}

// ruleRan records that rule l gave a final verdict (last_rule_file,
// last_rule_line, last_entity).
func (s *Stream) ruleRan(l *config.Line) { s.fx.lastRule = l }

// waitMark is taken before a rule runs, for ruleWaited.
func (s *Stream) waitMark() byte { return extOf(s).term[0] }

// ruleWaited records rule l as the waiting entity if the stream failed
// (error or timeout) while l ran: l was waiting for data, a server or a
// script when that happened. mark is waitMark's value before l ran.
func (s *Stream) ruleWaited(l *config.Line, mark byte) {
	if mark == 0 && isFailure(extOf(s).term[0]) {
		s.fx.waiting = l
	}
}

// isFailure tells whether a termination cause (%ts's first letter) is an
// error or a timeout rather than a decision (P, L) or nothing.
func isFailure(cause byte) bool {
	switch cause {
	case 'C', 'c', 'S', 's', 'R', 'I', 'D', 'd':
		return true
	}
	return false
}

// entity formats a rule as HAProxy's entity: "file:line".
func entity(l *config.Line) string { return l.File + ":" + strconv.Itoa(l.Num) }

func init() {
	fetch := func(name string, out sample.Type, fn func(s *Stream) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Out: out, Use: sample.UseIntrn,
			Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
				if s := streamOf(ctx); s != nil {
					return fn(s)
				}
				return sample.Sample{}, false
			}})
	}
	num := func(v int64) (sample.Sample, bool) { return sample.Int(v), true }
	// HAProxy compat: the running call is not counted in the times yet,
	// only in cpu_calls; the averages divide by cpu_calls.
	fetch("cpu_calls", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) { return num(s.fx.task.calls) })
	fetch("cpu_ns_tot", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) { return num(s.fx.task.cpu.Nanoseconds()) })
	fetch("lat_ns_tot", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) { return num(s.fx.task.lat.Nanoseconds()) })
	fetch("cpu_ns_avg", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) {
		c := &s.fx.task
		if c.calls == 0 {
			return num(0)
		}
		return num(c.cpu.Nanoseconds() / c.calls)
	})
	fetch("lat_ns_avg", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) {
		c := &s.fx.task
		if c.calls == 0 {
			return num(0)
		}
		return num(c.lat.Nanoseconds() / c.calls)
	})

	// The last rule that gave a final verdict: absent before any did.
	fetch("last_rule_file", sample.TypeStr, func(s *Stream) (sample.Sample, bool) {
		if l := s.fx.lastRule; l != nil {
			return sample.Str(l.File), true
		}
		return sample.Sample{}, false
	})
	fetch("last_rule_line", sample.TypeSInt, func(s *Stream) (sample.Sample, bool) {
		if l := s.fx.lastRule; l != nil {
			return num(int64(l.Num))
		}
		return sample.Sample{}, false
	})
	// last_entity and waiting_entity (3.1): luaproxy has no filter that
	// interrupts a stream on its own, so the entities are rules.
	fetch("last_entity", sample.TypeStr, func(s *Stream) (sample.Sample, bool) {
		if l := s.fx.lastRule; l != nil {
			return sample.Str(entity(l)), true
		}
		return sample.Sample{}, false
	})
	fetch("waiting_entity", sample.TypeStr, func(s *Stream) (sample.Sample, bool) {
		if l := s.fx.waiting; l != nil {
			return sample.Str(entity(l)), true
		}
		return sample.Sample{}, false
	})
	// term_events (3.1) reports the termination events of HAProxy's
	// connection, mux and stream-endpoint layers, which luaproxy does not
	// have; the manual's answer for "not supported" is "-".
	fetch("term_events", sample.TypeStr, func(*Stream) (sample.Sample, bool) { return sample.Str("-"), true })
}
