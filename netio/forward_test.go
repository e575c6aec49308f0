package netio_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"luaproxy/netio"
	"luaproxy/netio/memnet"
)

// forwardMode is a kind of connection pair Forward runs between.
type forwardMode struct {
	name     string
	opts     netio.ForwardOptions // merged into each test's options
	pair     func(t testing.TB) (client, proxyClient, proxyServer, server net.Conn)
	spliced  bool
	tcpReset bool // the mode can reset connections
	async    bool // through ForwardAsync
	// wrapped: through PollConn wrappers the caller made (ClientIO,
	// ServerIO), with other waits than the forward's
	wrapped bool
}

var forwardModes = []forwardMode{
	{name: "splice", pair: tcpConns, spliced: true, tcpReset: true},
	{name: "nosplice", opts: netio.ForwardOptions{NoSplice: true}, pair: tcpConns, tcpReset: true},
	{name: "nosplice_pool", opts: netio.ForwardOptions{NoSplice: true, Pool: netio.NewBufPool(netio.DefaultBufSize)}, pair: tcpConns, tcpReset: true},
	{name: "memnet", pair: memConns},
	{name: "splice_async", pair: tcpConns, spliced: true, tcpReset: true, async: true},
	{name: "nosplice_pool_async", opts: netio.ForwardOptions{NoSplice: true, Pool: netio.NewBufPool(netio.DefaultBufSize)}, pair: tcpConns, tcpReset: true, async: true},
	{name: "memnet_async", pair: memConns, async: true},
	{name: "nosplice_wrapped_async", opts: netio.ForwardOptions{NoSplice: true}, pair: tcpConns, tcpReset: true, async: true, wrapped: true},
}

// runModes runs test under every forward mode.
func runModes(t *testing.T, test func(t *testing.T, m forwardMode)) {
	for _, m := range forwardModes {
		t.Run(m.name, func(t *testing.T) {
			checkForwardLeaks(t)
			test(t, m)
		})
	}
}

// tcpConns returns two loopback TCP connections: client <-> proxyClient and
// proxyServer <-> server.
func tcpConns(t testing.TB) (client, proxyClient, proxyServer, server net.Conn) {
	t.Helper()
	client, proxyClient = tcpConnPair(t)
	proxyServer, server = tcpConnPair(t)
	return
}

func tcpConnPair(t testing.TB) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed, err = net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

func memConns(t testing.TB) (client, proxyClient, proxyServer, server net.Conn) {
	c, pc := memnet.NewPipe("client", "proxy", 0)
	ps, s := memnet.NewPipe("proxy", "server", 0)
	t.Cleanup(func() { c.Close(); pc.Close(); ps.Close(); s.Close() })
	return c, pc, ps, s
}

type forwardResult struct {
	st  netio.ForwardStats
	err error
}

// startForward runs Forward (ForwardAsync in an async mode) between
// proxyClient and proxyServer with opts merged with the mode's.
func startForward(m forwardMode, pc, ps net.Conn, opts netio.ForwardOptions) <-chan forwardResult {
	opts.NoSplice = opts.NoSplice || m.opts.NoSplice
	if opts.Pool == nil {
		opts.Pool = m.opts.Pool
	}
	if m.wrapped {
		opts.ClientIO, opts.ServerIO = netio.PollConn(pc, netio.WaitKnownEmpty), netio.PollConn(ps, netio.WaitReply)
	}
	res := make(chan forwardResult, 1)
	if m.async {
		calls := 0
		netio.ForwardAsync(pc, ps, opts, func(st netio.ForwardStats, err error) {
			if calls++; calls > 1 {
				panic("ForwardAsync called done twice")
			}
			res <- forwardResult{st, err}
		})
		return res
	}
	go func() {
		st, err := netio.Forward(pc, ps, opts)
		res <- forwardResult{st, err}
	}()
	return res
}

func wait(t *testing.T, res <-chan forwardResult) forwardResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("Forward did not return")
		panic("unreachable")
	}
}

// checkForwardLeaks fails the test if a Forward goroutine outlives it.
func checkForwardLeaks(t *testing.T) {
	t.Cleanup(func() {
		var stacks string
		for range 100 {
			buf := make([]byte, 1<<20)
			stacks = string(buf[:runtime.Stack(buf, true)])
			if !strings.Contains(stacks, "netio.(*forwarder)") {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("leaked Forward goroutines:\n%s", stacks)
	})
}

func closeWriteConn(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

func TestForwardEcho(t *testing.T) {
	runModes(t, func(t *testing.T, m forwardMode) {
		c, pc, ps, s := m.pair(t)
		res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: 10 * time.Second, ServerTimeout: 10 * time.Second})
		go func() {
			io.Copy(s, s)
			s.Close()
		}()
		msg := []byte("hello, world")
		c.Write(msg)
		closeWriteConn(t, c)
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo = %q, %v", got, err)
		}
		r := wait(t, res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		want := netio.ForwardStats{ToServer: 12, ToClient: 12, FirstEnd: netio.SideClient, Spliced: m.spliced}
		if r.st != want {
			t.Fatalf("stats = %+v; want %+v", r.st, want)
		}
		// Forward closed its connections.
		if _, err := pc.Write([]byte("x")); err == nil {
			t.Error("proxy client side still open")
		}
		if _, err := ps.Write([]byte("x")); err == nil {
			t.Error("proxy server side still open")
		}
	})
}

// TestForwardLendsBuffers: with a pool, a direction holds a buffer only
// while data is in it; both give theirs back while they wait.
func TestForwardLendsBuffers(t *testing.T) {
	checkForwardLeaks(t)
	pool := netio.NewBufPool(4096)
	var bufs [2][]byte // each direction's, so that the pool never makes one
	for i := range bufs {
		bufs[i] = make([]byte, pool.Size())
		pool.Put(&bufs[i])
	}
	// lent reports whether msg went through one of the pool's buffers
	lent := func(msg []byte) bool {
		return bytes.HasPrefix(bufs[0], msg) || bytes.HasPrefix(bufs[1], msg)
	}
	c, pc, ps, s := tcpConns(t)
	res := make(chan forwardResult, 1)
	go func() {
		st, err := netio.Forward(pc, ps, netio.ForwardOptions{NoSplice: true, Pool: pool})
		res <- forwardResult{st, err}
	}()
	go func() {
		io.Copy(s, s)
		s.Close()
	}()
	buf := make([]byte, 64)
	for i := range 3 {
		msg := []byte(fmt.Sprintf("message %d", i))
		c.Write(msg)
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil || !bytes.Equal(buf[:len(msg)], msg) {
			t.Fatalf("echo = %q, %v", buf[:len(msg)], err)
		}
		var free int
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if free = pool.Free(); free == 2 {
				break
			}
		}
		if free != 2 {
			t.Fatalf("after message %d, waiting: %d buffers in the pool, want 2", i, free)
		}
		if !lent(msg) {
			t.Fatalf("message %d did not go through the pool's buffers", i)
		}
	}
	closeWriteConn(t, c)
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, res); r.err != nil {
		t.Fatal(r.err)
	}
	if free := pool.Free(); free != 2 {
		t.Errorf("after Forward: %d buffers in the pool, want 2", free)
	}
}

func TestForwardHalfClose(t *testing.T) {
	runModes(t, func(t *testing.T, m forwardMode) {
		t.Run("client first", func(t *testing.T) {
			c, pc, ps, s := m.pair(t)
			res := startForward(m, pc, ps, netio.ForwardOptions{})
			io.WriteString(c, "request")
			closeWriteConn(t, c)
			// The server sees EOF after the request...
			got, err := io.ReadAll(s)
			if err != nil || string(got) != "request" {
				t.Fatalf("server read %q, %v", got, err)
			}
			// ...and can still reply.
			time.Sleep(20 * time.Millisecond)
			io.WriteString(s, "response")
			closeWriteConn(t, s)
			got, err = io.ReadAll(c)
			if err != nil || string(got) != "response" {
				t.Fatalf("client read %q, %v", got, err)
			}
			r := wait(t, res)
			if r.err != nil || r.st.FirstEnd != netio.SideClient || r.st.ToServer != 7 || r.st.ToClient != 8 {
				t.Fatalf("Forward = %+v, %v", r.st, r.err)
			}
		})
		t.Run("server first", func(t *testing.T) {
			c, pc, ps, s := m.pair(t)
			res := startForward(m, pc, ps, netio.ForwardOptions{})
			io.WriteString(s, "banner")
			closeWriteConn(t, s)
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "banner" {
				t.Fatalf("client read %q, %v", got, err)
			}
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, "late data")
			closeWriteConn(t, c)
			got, err = io.ReadAll(s)
			if err != nil || string(got) != "late data" {
				t.Fatalf("server read %q, %v", got, err)
			}
			r := wait(t, res)
			if r.err != nil || r.st.FirstEnd != netio.SideServer {
				t.Fatalf("Forward = %+v, %v", r.st, r.err)
			}
		})
	})
}

func TestForwardPrefix(t *testing.T) {
	runModes(t, func(t *testing.T, m forwardMode) {
		c, pc, ps, s := m.pair(t)
		res := startForward(m, pc, ps, netio.ForwardOptions{
			ClientPrefix: []byte("GET / HTTP/1.0\r\n"),
			ServerPrefix: []byte("HTTP/1.0 200 OK\r\n"),
		})
		io.WriteString(c, "\r\n")
		closeWriteConn(t, c)
		io.WriteString(s, "\r\nbody")
		closeWriteConn(t, s)
		if got, _ := io.ReadAll(s); string(got) != "GET / HTTP/1.0\r\n\r\n" {
			t.Errorf("server read %q", got)
		}
		if got, _ := io.ReadAll(c); string(got) != "HTTP/1.0 200 OK\r\n\r\nbody" {
			t.Errorf("client read %q", got)
		}
		r := wait(t, res)
		if r.err != nil || r.st.ToServer != 18 || r.st.ToClient != 23 {
			t.Fatalf("Forward = %+v, %v", r.st, r.err)
		}
	})
}

// checkTimeout checks that Forward failed with an idle timeout on side want
// about d after start.
func checkTimeout(t *testing.T, r forwardResult, want netio.Side, start time.Time, d time.Duration) {
	t.Helper()
	elapsed := time.Since(start)
	var fe *netio.ForwardError
	if !errors.As(r.err, &fe) || !errors.Is(r.err, netio.ErrIdleTimeout) || !fe.Timeout() {
		t.Fatalf("Forward error = %v; want an idle timeout", r.err)
	}
	if fe.Side != want || r.st.Timeout != want {
		t.Fatalf("timeout on %v (stats %+v); want %v", fe.Side, r.st, want)
	}
	// Up to 1.25 d by design; more slack for loaded machines.
	if elapsed < d || elapsed > 2*d+200*time.Millisecond {
		t.Errorf("timed out after %v; want about %v", elapsed, d)
	}
}

func TestForwardIdleTimeout(t *testing.T) {
	const d = 100 * time.Millisecond
	runModes(t, func(t *testing.T, m forwardMode) {
		t.Run("client", func(t *testing.T) {
			_, pc, ps, _ := m.pair(t)
			start := time.Now()
			r := wait(t, startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: d}))
			checkTimeout(t, r, netio.SideClient, start, d)
			if r.st.FirstEnd != netio.SideClient {
				t.Errorf("FirstEnd = %v; want client", r.st.FirstEnd)
			}
		})
		t.Run("server", func(t *testing.T) {
			_, pc, ps, _ := m.pair(t)
			start := time.Now()
			r := wait(t, startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: 10 * d, ServerTimeout: d}))
			checkTimeout(t, r, netio.SideServer, start, d)
		})
		t.Run("active connection lives", func(t *testing.T) {
			// A longer timeout than the others: a loaded machine may
			// stall the writer for a while (the bytes are 12 times
			// more frequent than the timeout).
			const d = 300 * time.Millisecond
			c, pc, ps, s := m.pair(t)
			res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: d, ServerTimeout: d})
			go io.Copy(s, s)
			go io.Copy(io.Discard, c)
			// A byte every 25 ms, for more than 3 timeouts.
			const n = 40
			for i := 0; i < n; i++ {
				if _, err := c.Write([]byte{'.'}); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				time.Sleep(25 * time.Millisecond)
			}
			start := time.Now()
			r := wait(t, res)
			if !errors.Is(r.err, netio.ErrIdleTimeout) {
				t.Fatalf("Forward = %v; want an idle timeout once idle", r.err)
			}
			if elapsed := time.Since(start); elapsed > 2*d+200*time.Millisecond {
				t.Errorf("timed out %v after the last byte; want about %v", elapsed, d)
			}
			if r.st.ToServer != n || r.st.ToClient != n {
				t.Errorf("stats = %+v; want %d bytes each way", r.st, n)
			}
		})
		t.Run("tunnel replaces both", func(t *testing.T) {
			c, pc, ps, s := m.pair(t)
			res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: 10 * time.Millisecond, ServerTimeout: 10 * time.Millisecond, TunnelTimeout: d})
			go io.Copy(s, s)
			go io.Copy(io.Discard, c)
			for i := 0; i < 5; i++ {
				if _, err := c.Write([]byte{'.'}); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				time.Sleep(30 * time.Millisecond)
			}
			r := wait(t, res)
			if !errors.Is(r.err, netio.ErrIdleTimeout) || r.st.ToServer != 5 {
				t.Fatalf("Forward = %+v, %v; want a tunnel timeout after 5 bytes", r.st, r.err)
			}
		})
		t.Run("blames the side not reading", func(t *testing.T) {
			c, pc, ps, _ := m.pair(t)
			start := time.Now()
			res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: d, ServerTimeout: 2 * d})
			// The client sends more than all buffers hold; the server reads
			// nothing. The client is stuck behind the server, not idle.
			go func() {
				buf := make([]byte, 64<<10)
				for {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
			checkTimeout(t, wait(t, res), netio.SideServer, start, 2*d)
		})
		t.Run("half-closed side is not awaited", func(t *testing.T) {
			c, pc, ps, s := m.pair(t)
			start := time.Now()
			res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: d, ServerTimeout: 2 * d})
			closeWriteConn(t, c)      // the client is done sending...
			go io.Copy(io.Discard, s) // ...the server reads it all, and never answers
			checkTimeout(t, wait(t, res), netio.SideServer, start, 2*d)
		})
	})
}

func TestForwardReset(t *testing.T) {
	runModes(t, func(t *testing.T, m forwardMode) {
		if !m.tcpReset {
			t.Skip("memnet has no reset")
		}
		for _, side := range []netio.Side{netio.SideClient, netio.SideServer} {
			t.Run(side.String(), func(t *testing.T) {
				c, pc, ps, s := m.pair(t)
				res := startForward(m, pc, ps, netio.ForwardOptions{})
				go io.Copy(io.Discard, c)
				go io.Copy(io.Discard, s)
				rst := c
				if side == netio.SideServer {
					rst = s
				}
				// Data in flight, then a reset.
				go func() {
					for {
						if _, err := c.Write(make([]byte, 4096)); err != nil {
							return
						}
					}
				}()
				time.Sleep(20 * time.Millisecond)
				rst.(*net.TCPConn).SetLinger(0)
				rst.Close()
				r := wait(t, res)
				var fe *netio.ForwardError
				if !errors.As(r.err, &fe) || fe.Side != side || fe.Timeout() {
					t.Fatalf("Forward = %+v, %v; want an error on the %v side", r.st, r.err, side)
				}
			})
		}
	})
}

// noHalfClose hides CloseWrite.
type noHalfClose struct{ net.Conn }

func TestForwardWithoutCloseWrite(t *testing.T) {
	c, pc, ps, s := memConns(t)
	checkForwardLeaks(t)
	res := make(chan forwardResult, 1)
	go func() {
		st, err := netio.Forward(pc, noHalfClose{ps}, netio.ForwardOptions{})
		res <- forwardResult{st, err}
	}()
	io.WriteString(c, "bye")
	closeWriteConn(t, c)
	// The server connection is closed instead of half-closed.
	if got, err := io.ReadAll(s); string(got) != "bye" || err != nil {
		t.Fatalf("server read %q, %v", got, err)
	}
	r := wait(t, res)
	if r.err != nil || r.st.ToServer != 3 {
		t.Fatalf("Forward = %+v, %v", r.st, r.err)
	}
}

func TestForwardLarge(t *testing.T) {
	size := 64 << 20
	if testing.Short() || raceEnabled {
		size = 8 << 20
	}
	runModes(t, func(t *testing.T, m forwardMode) {
		c, pc, ps, s := m.pair(t)
		res := startForward(m, pc, ps, netio.ForwardOptions{ClientTimeout: 10 * time.Second, ServerTimeout: 10 * time.Second})
		// Both directions at once, each with its own data.
		send := func(w net.Conn, seed uint64) []byte {
			h := sha256.New()
			r := rand.New(rand.NewPCG(seed, seed))
			buf := make([]byte, 1<<20)
			for sent := 0; sent < size; sent += len(buf) {
				for i := 0; i < len(buf); i += 8 {
					v := r.Uint64()
					for j := 0; j < 8; j++ {
						buf[i+j] = byte(v >> (8 * j))
					}
				}
				h.Write(buf)
				if _, err := w.Write(buf); err != nil {
					t.Errorf("write: %v", err)
					return nil
				}
			}
			w.(interface{ CloseWrite() error }).CloseWrite()
			return h.Sum(nil)
		}
		recv := func(r net.Conn) []byte {
			h := sha256.New()
			if n, err := io.Copy(h, r); err != nil || n != int64(size) {
				t.Errorf("received %d bytes, %v; want %d", n, err, size)
			}
			return h.Sum(nil)
		}
		fromClient, fromServer := make(chan []byte, 1), make(chan []byte, 1)
		go func() { fromClient <- send(c, 1) }()
		go func() { fromServer <- send(s, 2) }()
		toServer, toClient := recv(s), recv(c)
		if !bytes.Equal(toServer, <-fromClient) || !bytes.Equal(toClient, <-fromServer) {
			t.Fatal("data corrupted")
		}
		r := wait(t, res)
		if r.err != nil || r.st.ToServer != int64(size) || r.st.ToClient != int64(size) || r.st.Spliced != m.spliced {
			t.Fatalf("Forward = %+v, %v", r.st, r.err)
		}
	})
}

// BenchmarkForward measures one-way throughput through Forward over
// loopback TCP (and memnet), 64 KiB writes.
func BenchmarkForward(b *testing.B) {
	for _, bm := range []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn, net.Conn, net.Conn)
		opts netio.ForwardOptions
	}{
		{"splice", tcpConns, netio.ForwardOptions{}},
		{"splice+timeouts", tcpConns, netio.ForwardOptions{ClientTimeout: time.Minute, ServerTimeout: time.Minute}},
		{"nosplice", tcpConns, netio.ForwardOptions{NoSplice: true}},
		{"nosplice+timeouts", tcpConns, netio.ForwardOptions{NoSplice: true, ClientTimeout: time.Minute, ServerTimeout: time.Minute}},
		{"nosplice-64k", tcpConns, netio.ForwardOptions{NoSplice: true, BufSize: 64 << 10}},
		{"memnet", memConns, netio.ForwardOptions{}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			c, pc, ps, s := bm.pair(b)
			res := make(chan error, 1)
			go func() {
				_, err := netio.Forward(pc, ps, bm.opts)
				res <- err
			}()
			received := make(chan int64, 1)
			go func() {
				n, _ := io.Copy(io.Discard, s)
				s.Close()
				received <- n
			}()
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			if n := <-received; n != int64(b.N)*int64(len(buf)) {
				b.Fatalf("received %d bytes; want %d", n, b.N*len(buf))
			}
			b.StopTimer()
			// CPU of the whole process (writer, Forward and sink) per op:
			// only Forward differs between the sub-benchmarks.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			if err := <-res; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// cpuTime returns the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestForwardAsyncStacksStaySmall: a direction of ForwardAsync that waits
// for data keeps the runtime's smallest goroutine stack (2 KiB): its
// deepest calls (a wait, a read, a send) take under the ~1.1 KiB of
// frames a 2 KiB stack allows before it grows to 4 KiB, which a
// collection would not shrink back (it halves a stack only when a
// quarter of it is in use). Idle forwarded connections are mostly their
// two stacks and their state. Not under the race detector, whose frames
// are larger. It runs in a process of its own where goroutines start
// with 2 KiB (GODEBUG=adaptivestackstart=0): elsewhere the runtime
// starts them at the average stack in use at the last collection, which
// the package's other tests make larger.
func TestForwardAsyncStacksStaySmall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's frames are larger")
	}
	if os.Getenv("NETIO_STACK_TEST") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestForwardAsyncStacksStaySmall$", "-test.v")
		cmd.Env = append(os.Environ(), "NETIO_STACK_TEST=1", "GODEBUG=adaptivestackstart=0")
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("the test's own process: %v", err)
		}
		return
	}
	checkForwardLeaks(t)
	stacks := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.StackInuse)
	}
	const n = 100
	type ends struct{ c, s net.Conn }
	var conns []ends
	var proxied [][2]net.Conn
	for range n { // first: tcpConnPair's dials and accepts
		c, pc, ps, s := tcpConns(t)
		conns = append(conns, ends{c, s})
		proxied = append(proxied, [2]net.Conn{pc, ps})
	}
	before := stacks()
	var wg sync.WaitGroup
	opts := netio.ForwardOptions{NoSplice: true, Pool: netio.NewBufPool(netio.DefaultBufSize), ClientTimeout: time.Minute, ServerTimeout: time.Minute}
	for _, p := range proxied {
		wg.Add(1)
		netio.ForwardAsync(p[0], p[1], opts, func(netio.ForwardStats, error) { wg.Done() })
	}
	buf := make([]byte, 5)
	for _, e := range conns { // a line each way: both directions read and sent
		_ = e.c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = e.s.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := e.c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(e.s, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(e.c, buf); err != nil || string(buf) != "ping\n" {
			t.Fatalf("echo %q, %v", buf, err)
		}
	}
	time.Sleep(50 * time.Millisecond) // every direction back to its wait
	per := (stacks() - before) / n
	t.Logf("%d idle forwards: %d bytes of goroutine stacks each", n, per)
	if per > 2*2048+512 {
		t.Errorf("an idle forward's two goroutines take %d bytes of stack, want 2 KiB each", per)
	}
	for _, e := range conns {
		e.c.Close()
		e.s.Close()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the forwards did not end once their peers closed")
	}
}
