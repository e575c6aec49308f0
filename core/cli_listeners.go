package core

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The life of the engine's listeners after Start: "disable frontend" and
// "enable frontend" pause and resume them, and a stop drains them — the
// connections already in a listener's accept queue are accepted and served
// before it closes, since closing a listening socket resets them, which a
// reload (-sf) must not do.

// drainGrace is how long a stopping listener keeps accepting: what is
// queued, plus the connections whose handshake ends meanwhile.
const drainGrace = 25 * time.Millisecond

type listenerState struct {
	px      *Proxy
	ln      net.Listener
	drained chan struct{} // closed once the listener is drained and closed
}

// frontendControl tracks the listeners of each frontend.
type frontendControl struct {
	mu  sync.Mutex
	lns []*listenerState
	// gates are the paused frontends: the channel is closed on resume.
	gates map[*Proxy]chan struct{}
}

func (fc *frontendControl) paused(px *Proxy) bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.gates[px] != nil
}

// addListener records a listener opened by Start for px.
func (e *Engine) addListener(px *Proxy, ln net.Listener) {
	fc := &e.cliState().fe
	fc.mu.Lock()
	fc.lns = append(fc.lns, &listenerState{px: px, ln: ln, drained: make(chan struct{})})
	fc.mu.Unlock()
}

// Listeners returns the listeners of the frontends, in bind order.
func (e *Engine) Listeners() []net.Listener {
	fc := &e.cliState().fe
	fc.mu.Lock()
	defer fc.mu.Unlock()
	out := make([]net.Listener, len(fc.lns))
	for i, l := range fc.lns {
		out[i] = l.ln
	}
	return out
}

func (fc *frontendControl) listeners(px *Proxy) []*listenerState {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out []*listenerState
	for _, l := range fc.lns {
		if px == nil || l.px == px {
			out = append(out, l)
		}
	}
	return out
}

type deadliner interface{ SetDeadline(time.Time) error }

// stopListeners wakes the accept loops of a stopping engine and waits for
// them to drain and close their listeners.
func (e *Engine) stopListeners() {
	lns := e.cliState().fe.listeners(nil)
	for _, l := range lns {
		if d, ok := l.ln.(deadliner); ok {
			_ = d.SetDeadline(time.Now())
		} else {
			_ = l.ln.Close()
		}
	}
	for _, l := range lns {
		select {
		case <-l.drained:
		case <-time.After(2 * time.Second): // an accept loop that is gone
		}
		_ = l.ln.Close()
	}
}

// drain accepts what is queued on ln for drainGrace, serving it, then
// closes ln. The accept loop calls it once the engine stops.
func (e *Engine) drain(px *Proxy, b *Bind, ln net.Listener) {
	if d, ok := ln.(deadliner); ok {
		_ = d.SetDeadline(time.Now().Add(drainGrace))
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			e.wg.Add(1)
			go e.serveConn(px, b, c)
		}
	}
	_ = ln.Close()
	for _, l := range e.cliState().fe.listeners(px) {
		if l.ln == ln {
			select {
			case <-l.drained:
			default:
				close(l.drained)
			}
		}
	}
}

// acceptPaused is called by an accept loop after an Accept: while px is
// paused it waits for the resume (or the stop) and reports true.
func (e *Engine) acceptPaused(px *Proxy) bool {
	fc := &e.cliState().fe
	fc.mu.Lock()
	gate := fc.gates[px]
	fc.mu.Unlock()
	if gate == nil {
		return false
	}
	select {
	case <-gate:
	case <-e.done:
	}
	return true
}

// errAlreadyPaused and errNotPaused are the answers of "disable frontend"
// and "enable frontend" when there is nothing to do.
var (
	errAlreadyPaused = errors.New("All sockets are already disabled.")
	errNotPaused     = errors.New("All sockets are already enabled.")
)

// PauseFrontend stops the frontend's listeners from accepting ("disable
// frontend"): TCP listeners stop listening, so new connections are
// refused, while the port stays bound for ResumeFrontend; other listeners
// just stop being accepted from.
func (e *Engine) PauseFrontend(px *Proxy) error {
	fc := &e.cliState().fe
	fc.mu.Lock()
	if fc.gates[px] != nil {
		fc.mu.Unlock()
		return errAlreadyPaused
	}
	if fc.gates == nil {
		fc.gates = map[*Proxy]chan struct{}{}
	}
	fc.gates[px] = make(chan struct{})
	fc.mu.Unlock()
	for _, l := range fc.listeners(px) {
		if tl, ok := l.ln.(*net.TCPListener); ok {
			// HAProxy compat: a paused TCP listener is disconnected
			// (shutdown), not closed.
			if rc, err := tl.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RD) })
			}
		}
		if d, ok := l.ln.(deadliner); ok {
			_ = d.SetDeadline(time.Now()) // wake the accept loop
		}
	}
	e.Log.Warning("Paused frontend %s.", px.Name)
	return nil
}

// ResumeFrontend undoes PauseFrontend ("enable frontend").
func (e *Engine) ResumeFrontend(px *Proxy) error {
	fc := &e.cliState().fe
	fc.mu.Lock()
	gate := fc.gates[px]
	fc.mu.Unlock()
	if gate == nil {
		return errNotPaused
	}
	// Listen again before opening the gate: the accept loops wait on it.
	var failed error
	for _, l := range fc.listeners(px) {
		if tl, ok := l.ln.(*net.TCPListener); ok {
			if rc, err := tl.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) {
					if err := unix.Listen(int(fd), unix.SOMAXCONN); err != nil {
						failed = os.NewSyscallError("listen", err)
					}
				})
			}
		}
		if d, ok := l.ln.(deadliner); ok {
			_ = d.SetDeadline(time.Time{})
		}
	}
	fc.mu.Lock()
	if fc.gates[px] == gate {
		delete(fc.gates, px)
		close(gate)
	}
	fc.mu.Unlock()
	if failed != nil {
		e.Log.Alert("Failed to resume frontend %s: %v.", px.Name, failed)
		return failed
	}
	e.Log.Warning("Resumed frontend %s.", px.Name)
	return nil
}
