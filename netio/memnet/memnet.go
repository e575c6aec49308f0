// Package memnet is an in-memory network for testing network code without
// sockets, after tailscale's memnet.
//
// [Pipe] returns a connected pair of [Conn]: unlike net.Pipe, each direction
// is buffered, CloseWrite half-closes and deadlines work, so the pair behaves
// like a TCP connection. A [Network] maps addresses to listeners: code under
// test listens and dials through it (its Listen and Dial have the shapes of
// net.ListenConfig.Listen and net.Dialer.DialContext without the config).
// A lone [Listener] made by [Listen] can also be dialed directly.
package memnet

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

const network = "memnet"

// Addr is a memnet address: any string.
type Addr string

// Network returns "memnet".
func (a Addr) Network() string { return network }

// String returns the address.
func (a Addr) String() string { return string(a) }

// backlog is how many dialed connections wait for Accept before Dial blocks.
const backlog = 128

// Listener is an in-memory listener. It is safe for concurrent use.
type Listener struct {
	addr      Addr
	mu        sync.RWMutex // read-held by Dial while queueing, held by Close while draining
	conns     chan *Conn
	closeOnce sync.Once
	closed    chan struct{}
	dials     atomic.Int64
	onClose   func() // unregisters from the Network, if any
}

// Listen returns a listener on address that belongs to no [Network]: dial
// it with its Dial method.
func Listen(address string) *Listener {
	return &Listener{addr: Addr(address), conns: make(chan *Conn, backlog), closed: make(chan struct{})}
}

// Accept waits for a dialed connection. After Close it fails with an error
// wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: network, Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops the listener and closes the connections not yet accepted.
func (l *Listener) Close() error {
	err := error(&net.OpError{Op: "close", Net: network, Addr: l.addr, Err: net.ErrClosed})
	l.closeOnce.Do(func() {
		close(l.closed) // wakes up blocked dialers, which release mu
		if l.onClose != nil {
			l.onClose()
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for {
			select {
			case c := <-l.conns:
				c.Close()
			default:
				err = nil
				return
			}
		}
	})
	return err
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial connects to l; network and address are ignored. It returns the
// client end once the server end is queued for Accept, and fails with
// syscall.ECONNREFUSED if l is closed.
func (l *Listener) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	client := Addr(string(l.addr) + "-client-" + strconv.FormatInt(l.dials.Add(1), 10))
	c, s := NewPipe(client, l.addr, 0)
	refused := &net.OpError{Op: "dial", Net: network, Source: client, Addr: l.addr, Err: syscall.ECONNREFUSED}
	// Holding mu.RLock while queueing keeps Close from draining the queue
	// between our check of closed and our send.
	l.mu.RLock()
	defer l.mu.RUnlock()
	select {
	case <-l.closed:
		return nil, refused
	default:
	}
	select {
	case l.conns <- s:
		return c, nil
	case <-l.closed:
		return nil, refused
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Source: client, Addr: l.addr, Err: ctx.Err()}
	}
}

// Network is a set of in-memory listeners by address. The zero value is an
// empty network ready to use; it is safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener
}

// Listen listens on address, which must not be in use. network is ignored.
func (n *Network) Listen(network, address string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.listeners[address]; ok {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: Addr(address), Err: syscall.EADDRINUSE}
	}
	if n.listeners == nil {
		n.listeners = make(map[string]*Listener)
	}
	l := Listen(address)
	l.onClose = func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.listeners[address] == l {
			delete(n.listeners, address)
		}
	}
	n.listeners[address] = l
	return l, nil
}

// Dial connects to the listener on address, or fails with
// syscall.ECONNREFUSED. network is ignored.
func (n *Network) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[address]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: Addr(address), Err: syscall.ECONNREFUSED}
	}
	return l.Dial(ctx, network, address)
}
