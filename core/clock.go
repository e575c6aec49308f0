package core

import (
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname runtime.nanotime

	"luaproxy/core/config"
)

// The engine's clock. HAProxy reads the time once per turn of its polling
// loop (now_ms) and everything the turn does uses that reading. Here the
// clock is read when a stream starts or wakes up (a wait for the client,
// a server or a script ended: Stream.taskBlock, TaskRun), and by a ticker
// every millisecond while streams are alive and not idle (clockIdle), so
// that it is never more than about a millisecond old, even for a stream
// that was blocked in a write or a body copy. Deadlines, log timers, rate
// counters and idle times use it (clockNow, Stream.now).
//
// Reading the time costs about 45 ns on the virtual machines this runs on
// (the vDSO's clock_gettime), and time.Now reads it twice (the wall and
// the monotonic clock); a proxied request used to read it about twenty
// times. A stream's reading is one read of the monotonic clock plus the
// wall clock's offset from it, which the ticker measures again every
// millisecond, so a step of the wall clock (NTP) shows within one.

// clockNS is the latest reading, in Unix nanoseconds.
var clockNS atomic.Int64

// wallOffset is the wall clock minus the monotonic clock, in nanoseconds.
var wallOffset atomic.Int64

// nanotime is the runtime's monotonic clock (one clock_gettime).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// syncWall measures the wall clock's offset from the monotonic clock.
func syncWall() { wallOffset.Store(time.Now().UnixNano() - nanotime()) }

// tick reads the time and publishes it as the engine's clock. The clock
// only moves forward, and at most once per millisecond from the streams,
// so that streams on many CPUs do not all write the same word. The time
// returned has no monotonic reading: durations between two of them, or
// one of them and clockNow, are differences of wall times.
func tick() time.Time {
	ns := nanotime() + wallOffset.Load()
	for {
		old := clockNS.Load()
		if ns/int64(time.Millisecond) <= old/int64(time.Millisecond) || clockNS.CompareAndSwap(old, ns) {
			return time.Unix(0, ns)
		}
	}
}

// clockNow returns the engine's clock (see tick).
func clockNow() time.Time { return time.Unix(0, clockNS.Load()) }

// nowMS returns the engine's clock in Unix milliseconds.
func nowMS() int64 { return clockNS.Load() / int64(time.Millisecond) }

// Deadline returns the engine's clock plus d, or no deadline when d is
// 0: a deadline read from the clock of the last wake-up, not the time.
func Deadline(d time.Duration) time.Time { return deadline(d) }

// deadline returns the engine's clock plus d, or no deadline when d is 0.
func deadline(d time.Duration) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return clockNow().Add(d)
}

// The ticker runs while streams are alive and busy (clockHold ..
// clockRelease) and sleeps otherwise. A stream does not hold it during a
// wait that reads no clock and may last minutes: for its client's next
// request (an HTTP keep-alive, a new connection's first bytes;
// clockIdle), while netio.Forward copies its connections (a TCP proxy, a
// WebSocket: Forward keeps its own time), and in a read of a channel, of
// a long-polling server's response or of a body, or a timer
// (Stream.idleBlock: a Lua service's applet:getline(), a content rule
// waiting for data), and in a Lua script's core.sleep (Stream.Idle). The
// clock is read again when such a wait ends. An idle keep-alive
// connection used to keep the ticker, and so its thread, waking a
// thousand times a second.
var (
	// liveStreams counts the holding streams per thread, in shards of
	// their own cache line: a stream holds and releases once per request.
	liveStreams [clockShards]struct {
		n atomic.Int64
		_ [56]byte
	}
	clockParked atomic.Bool
	clockWake   = make(chan struct{}, 1)
)

const clockShards = 64

// clockHold keeps the ticker running for a stream of thread t;
// clockRelease ends that.
func clockHold(t int) {
	liveStreams[t%clockShards].n.Add(1)
	if clockParked.Load() {
		select {
		case clockWake <- struct{}{}:
		default:
		}
	}
}

func clockRelease(t int) { liveStreams[t%clockShards].n.Add(-1) }

// clockAway runs wait, a wait of a stream of thread t that reads no clock,
// without holding the ticker.
func clockAway(t int, wait func()) {
	clockRelease(t)
	wait()
	clockHold(t)
}

// clockIdle is clockAway followed by a reading of the clock: for a wait
// whose end is no stream wake-up (Stream.wake), such as netio.Forward.
func clockIdle(t int, wait func()) {
	clockAway(t, wait)
	tick()
}

// clockLive reports whether a stream holds the ticker.
func clockLive() bool {
	for i := range liveStreams {
		if liveStreams[i].n.Load() != 0 {
			return true
		}
	}
	return false
}

func clockLoop() {
	for {
		if !clockLive() {
			clockParked.Store(true)
			// A stream that began before the flag was set is seen
			// here; one that began after it sends a wake-up.
			if !clockLive() {
				<-clockWake
			}
			clockParked.Store(false)
		}
		syncWall()
		tick()
		time.Sleep(time.Millisecond)
	}
}

func init() {
	syncWall()
	tick()
	go clockLoop()
}

// "profiling.tasks": when on, streams measure the time they run and wait
// (cpu_ns_*, lat_ns_*). HAProxy's default, "auto", turns it on only for a
// thread whose polling loop lags by a millisecond or more; goroutines have
// no such loop and "auto" stays off here, which is what 2.6 reports on a
// machine that keeps up: 0 ns.
func init() {
	RegisterGlobal("profiling.tasks", func(e *Engine, l config.Line) error {
		arg := ""
		if len(l.Args) > 1 {
			arg = l.Args[1]
		}
		if len(l.Args) > 2 {
			return l.Errorf("'%s' cannot handle unexpected argument '%s'.", l.Args[0], l.Args[2])
		}
		switch arg {
		case "on":
			e.profileTasks = true
		case "off", "auto":
			e.profileTasks = false
		default:
			return l.Errorf("'%s' expects either 'on', 'auto', or 'off' but got '%s'.", l.Args[0], arg)
		}
		return nil
	})
}
