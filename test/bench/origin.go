package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The origin is one program for every binary compared, so only the proxy differs between
// two runs. It is this binary started again with -role origin (pinned with the load
// generator), serving:
//   - HTTP/1.1 with keep-alive: 200 "origin ok\n", an x-origin header, and every request
//     header whose name starts with "x-lua-" or "x-bench-" echoed back as a response
//     header, so a check can see what the proxy (its Lua code) added to the request;
//   - a line echo on a second port (the Lua sockets' peer and the TCP fallback server).
// On start it prints "origin http=ADDR echo=ADDR" on stdout.

const (
	originBody   = "origin ok\n"
	originHeader = "X-Origin"
)

// originMain runs the origin until it is killed.
func originMain() error {
	hl, el, err := listenOrigin()
	if err != nil {
		return err
	}
	fmt.Printf("origin http=%s echo=%s\n", hl.Addr(), el.Addr())
	go serve(el, serveEcho)
	serve(hl, serveHTTP)
	return nil
}

// listenOrigin opens the origin's two loopback listeners on free ports.
func listenOrigin() (httpL, echoL net.Listener, err error) {
	if httpL, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	if echoL, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		httpL.Close()
		return nil, nil, err
	}
	return httpL, echoL, nil
}

// serve accepts connections on l until l is closed.
func serve(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "origin:", err)
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		go handle(c)
	}
}

// serveEcho writes every line back until the peer closes.
func serveEcho(c net.Conn) {
	defer c.Close()
	echoLines(c, bufio.NewReader(c))
}

// echoLines writes every line read from r back to c until the peer closes.
func echoLines(c net.Conn, r *bufio.Reader) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if _, err := c.Write(line); err != nil {
			return
		}
	}
}

// serveHTTP answers HTTP/1.1 requests on c; pipelined requests are answered in one write.
func serveHTTP(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 16<<10)
	w := bufio.NewWriterSize(c, 16<<10)
	var echo []byte
	for {
		echo = echo[:0]
		keep, bodyLen, upgrade, err := readRequest(r, &echo)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(w, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				w.Flush()
			}
			return
		}
		if bodyLen > 0 {
			if _, err := r.Discard(bodyLen); err != nil {
				return
			}
		}
		if upgrade {
			// a WebSocket's handshake (the idle experiment's tunnels),
			// then lines echoed
			w.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
			if w.Flush() == nil {
				echoLines(c, r)
			}
			return
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(originBody)))
		w.WriteString("\r\n" + originHeader + ": bench\r\n")
		w.Write(echo)
		if !keep {
			w.WriteString("Connection: close\r\n")
		}
		w.WriteString("\r\n" + originBody)
		if r.Buffered() == 0 || !keep {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

// readRequest reads one request head. It appends the x-lua-* and x-bench-* header lines to echo and
// returns whether the connection stays open, the Content-Length, and whether the request asks
// for a WebSocket (Upgrade: websocket). Chunked request bodies are refused: nothing in the
// suite sends them.
func readRequest(r *bufio.Reader, echo *[]byte) (keep bool, bodyLen int, upgrade bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 {
			return false, 0, false, io.EOF
		}
		return false, 0, false, err
	}
	keep = bytes.Contains(line, []byte("HTTP/1.1"))
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return false, 0, false, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			return keep, bodyLen, upgrade, nil
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return false, 0, false, fmt.Errorf("bad header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case hasPrefixFold(name, "x-lua-") || hasPrefixFold(name, "x-bench-"):
			*echo = append(append(*echo, h...), "\r\n"...)
		case strings.EqualFold(string(name), "content-length"):
			if bodyLen, err = strconv.Atoi(string(value)); err != nil || bodyLen < 0 {
				return false, 0, false, fmt.Errorf("bad content-length %q", value)
			}
		case strings.EqualFold(string(name), "upgrade"):
			upgrade = strings.EqualFold(string(value), "websocket")
		case strings.EqualFold(string(name), "transfer-encoding"):
			return false, 0, false, fmt.Errorf("transfer-encoding not supported")
		case strings.EqualFold(string(name), "connection"):
			switch strings.ToLower(string(value)) {
			case "close":
				keep = false
			case "keep-alive":
				keep = true
			}
		}
	}
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

// origin is the running origin.
type origin struct {
	cmd      *cmdProc // nil when it runs inside this process (tests)
	httpAddr string
	echoAddr string
}

// pid is the origin's process, 0 when it runs inside this process.
func (o *origin) pid() int {
	if o.cmd == nil {
		return 0
	}
	return o.cmd.pid
}

// startOrigin starts this binary with -role origin on cpus and reads its addresses.
func startOrigin(ctx context.Context, self, cpus, logFile string) (*origin, error) {
	p, err := startProc(ctx, cpus, "", nil, logFile, self, "-role", "origin")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if line, ok := p.findLine("origin http="); ok {
			var o origin
			o.cmd = p
			if _, err := fmt.Sscanf(line, "origin http=%s echo=%s", &o.httpAddr, &o.echoAddr); err != nil {
				p.stop()
				return nil, fmt.Errorf("origin: %q: %v", line, err)
			}
			return &o, nil
		}
		if p.exited() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("origin did not start: %s", p.tail(5))
}

// env returns the variables the scenario configurations use to reach the origin.
func (o *origin) env() []string {
	_, hp, _ := net.SplitHostPort(o.httpAddr)
	_, ep, _ := net.SplitHostPort(o.echoAddr)
	return []string{"ORIGIN_HTTP_PORT=" + hp, "ORIGIN_ECHO_PORT=" + ep}
}
