package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Memory per idle connection: each proxy, on the plain_proxy configuration, gets N client
// connections that each make one request and then stay open (on tcp_proxy_echo's, N
// forwarded TCP connections that each had a line echoed); the proxy's VmRSS grows by what
// it keeps per waiting connection (HAProxy: no buffer, ~1 KiB). And
// what they cost while they wait: the proxy's thread switches per second, how often
// something wakes it with nothing to do.
//
// The connections are opened two ways: all at once, and in idleBatches batches
// idleBatchPause apart, as clients come over time. luaproxy parks a connection idle for a
// second (core/park.go): the goroutine that served it, whose stack grew to 8 KiB, gives way
// to one whose stack holds the wait only. Go keeps the freed stacks for its next ones rather
// than give them back to the system, so the parking shows in VmRSS when connections come
// over time, not when they all come at once.

var (
	idleQuick = 2000
	idleFull  = 10000
)

// The gradual opening: idleBatches batches, idleBatchPause apart (longer than luaproxy's
// ParkAfter and its sweep).
const (
	idleBatches    = 4
	idleBatchPause = 1600 * time.Millisecond
)

// How the connections were opened (idleResult.Opening).
const (
	openedAtOnce    = "at once"
	openedGradually = "in 4 batches 1.6 s apart"
)

// idleKind is a kind of idle connection: the scenario whose configuration serves it,
// how one is opened and taken past its first exchange, and the openings measured.
type idleKind struct {
	name, scenario string
	open           func(addr string) (net.Conn, error)
	openings       []string
}

// idleKinds: HTTP keep-alive connections (they park, so both openings), forwarded TCP
// connections (tcp_proxy_echo: a line echoed by the origin), which do not, and WebSocket
// tunnels (plain_proxy's frontend: an upgrade the origin accepts, then a line echoed).
var idleKinds = []idleKind{
	{"HTTP keep-alive", "plain_proxy", idleConn, []string{openedAtOnce, openedGradually}},
	{"TCP forwarded", "tcp_proxy_echo", idleTCPConn, []string{openedAtOnce}},
	{"WebSocket tunnel", "plain_proxy", idleWSConn, []string{openedAtOnce}},
}

// idleResult is one measurement (a row of idle.tsv).
type idleResult struct {
	Binary        string
	Kind          string // idleKind.name
	Opening       string // openedAtOnce, openedGradually
	Conns, Round  int
	Status, Note  string
	Before, After int64   // VmRSS bytes
	Wakeups       float64 // thread switches per second while the connections wait
}

// PerConn is the resident memory added per idle connection.
func (r idleResult) PerConn() float64 { return float64(r.After-r.Before) / float64(r.Conns) }

func (s *suite) runIdle(ctx context.Context) {
	n := idleQuick
	if s.opt.full {
		n = idleFull
	}
	for round := 1; round <= s.opt.expRounds && ctx.Err() == nil; round++ {
		for _, k := range idleKinds {
			for _, opening := range k.openings {
				for _, bin := range s.bins {
					r := idleResult{Binary: bin.Name, Kind: k.name, Opening: opening, Conns: n, Round: round, Status: statusOK}
					if err := s.idleOnce(ctx, bin, k, &r); err != nil {
						r.Status, r.Note = statusFailed, oneLine(err.Error())
					}
					s.logf("idle round %d %-8s %d %s connections %s %-6s rss %s -> %s: %.1f KiB each, %.0f thread switches/s %s",
						round, bin.Name, n, k.name, opening, r.Status, mib(r.Before), mib(r.After), r.PerConn()/1024, r.Wakeups, r.Note)
					s.idle = append(s.idle, r)
				}
			}
		}
	}
}

// idleOnce starts bin on k's configuration, opens r.Conns connections of kind k each past
// its first exchange, and reads the proxy's memory before and after.
func (s *suite) idleOnce(ctx context.Context, bin binary, k idleKind, r *idleResult) error {
	dir := filepath.Join(s.scenarioDir, k.scenario)
	px, err := s.startProxy(ctx, bin, dir, filepath.Join(dir, "bench.cfg"), proxyCPUs, fmt.Sprintf("idle.%s.%d", k.scenario, r.Round), nil)
	if err != nil {
		return err
	}
	defer px.p.stop()
	warm, err := k.open(px.addr)
	if err != nil {
		return fmt.Errorf("first exchange: %w", err)
	}
	warm.Close()
	time.Sleep(200 * time.Millisecond)
	if r.Before, _, err = memStatus(px.p.pid); err != nil {
		return err
	}
	conns := make([]net.Conn, 0, r.Conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	batch := r.Conns
	if r.Opening == openedGradually {
		batch = (r.Conns + idleBatches - 1) / idleBatches
	}
	for len(conns) < r.Conns {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(conns) > 0 && len(conns)%batch == 0 {
			time.Sleep(idleBatchPause)
		}
		c, err := k.open(px.addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second) // every connection back to its wait
	if r.After, _, err = memStatus(px.p.pid); err != nil {
		return err
	}
	sw0, err := threadSwitches(px.p.pid)
	start := time.Now()
	time.Sleep(time.Second)
	sw1, err1 := threadSwitches(px.p.pid)
	if err = errors.Join(err, err1); err == nil {
		r.Wakeups = float64(sw1-sw0) / time.Since(start).Seconds()
	}
	return err
}

// idleConn connects to addr and makes one keep-alive request, reading its whole
// response (the origin's body is one line).
func idleConn(addr string) (net.Conn, error) {
	return dialIdle(addr, func(c net.Conn, br *bufio.Reader) error {
		if _, err := io.WriteString(c, "GET /idle HTTP/1.1\r\nHost: bench.example\r\n\r\n"); err != nil {
			return err
		}
		if err := readHead(br, "HTTP/1.1 200"); err != nil {
			return err
		}
		_, err := br.ReadString('\n') // the body: "origin ok\n"
		return err
	})
}

// idleTCPConn connects to addr (tcp_proxy_echo's proxy) and has one line echoed.
func idleTCPConn(addr string) (net.Conn, error) { return dialIdle(addr, echoPing) }

// idleWSConn opens a WebSocket through the proxy at addr and has one line echoed through it.
func idleWSConn(addr string) (net.Conn, error) {
	return dialIdle(addr, func(c net.Conn, br *bufio.Reader) error {
		_, err := io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: bench.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		if err == nil {
			err = readHead(br, "HTTP/1.1 101")
		}
		if err == nil {
			err = echoPing(c, br)
		}
		return err
	})
}

// dialIdle connects to addr and takes the connection past its first exchange with talk,
// within 5 s; it returns the connection, without a deadline, to stay idle.
func dialIdle(addr string, talk func(c net.Conn, br *bufio.Reader) error) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := talk(c, bufio.NewReaderSize(c, 512)); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// readHead reads a response head whose status line starts with status.
func readHead(br *bufio.Reader, status string) error {
	first, err := br.ReadString('\n')
	for line := first; err == nil && line != "\r\n"; {
		line, err = br.ReadString('\n')
	}
	if err == nil && !strings.HasPrefix(first, status) {
		err = fmt.Errorf("status %q", strings.TrimSpace(first))
	}
	return err
}

// echoPing has the line "ping" echoed through c.
func echoPing(c net.Conn, br *bufio.Reader) error {
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	line, err := br.ReadString('\n')
	if err == nil && line != "ping\n" {
		err = fmt.Errorf("echo %q", line)
	}
	return err
}

// idleTable writes the medians per binary.
func (s *suite) idleTable(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Memory per idle connection\n\n")
	fmt.Fprintf(b, "HTTP keep-alive: plain_proxy's configuration, each connection made one request and waits "+
		"for its next; TCP forwarded: tcp_proxy_echo's, each connection had one line echoed and waits; "+
		"WebSocket tunnel: plain_proxy's, each connection upgraded, had one line echoed and waits. "+
		"The proxy's VmRSS before and 1 s after they were opened (all at once, or %s), and its thread "+
		"switches per second while they wait, over 1 s (medians of %d rounds).\n\n", openedGradually, s.opt.expRounds)
	fmt.Fprintf(b, "| binary | connections | kind | opened | RSS before | RSS after | per connection | thread switches/s while idle |\n|---|--:|---|---|--:|--:|--:|--:|\n")
	for _, k := range idleKinds {
		for _, opening := range k.openings {
			for _, bin := range s.bins {
				s.idleRow(b, bin.Name, k.name, opening)
			}
		}
	}
}

// idleRow writes the table's row of binary's connections of kind opened as opening says.
func (s *suite) idleRow(b *strings.Builder, binary, kind, opening string) {
	{
		var before, after, per, wake []float64
		note, n := "", 0
		for _, r := range s.idle {
			if r.Binary != binary || r.Kind != kind || r.Opening != opening {
				continue
			}
			n = r.Conns
			if r.Status != statusOK {
				note = statusCell(r.Status, r.Note)
				continue
			}
			before, after, per = append(before, float64(r.Before)), append(after, float64(r.After)), append(per, r.PerConn())
			wake = append(wake, r.Wakeups)
		}
		if len(per) == 0 {
			if n > 0 {
				fmt.Fprintf(b, "| %s | %d | %s | %s | %s | | | |\n", binary, n, kind, opening, orDash(note))
			}
			return
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %.1f KiB | %.0f |\n", binary, n, kind, opening, mib(int64(med(before))), mib(int64(med(after))), med(per)/1024, med(wake))
	}
}
