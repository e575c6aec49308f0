package h1_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFactsAgainstHAProxy replays the differential facts against a live
// HAProxy, to check the table itself (and to re-measure it for another
// version). Set H1_HAPROXY to the binary, e.g.
//
//	H1_HAPROXY=/usr/sbin/haproxy go test -run FactsAgainstHAProxy ./netio/h1/
func TestFactsAgainstHAProxy(t *testing.T) {
	bin := os.Getenv("H1_HAPROXY")
	if bin == "" {
		t.Skip("set H1_HAPROXY=/usr/sbin/haproxy to compare the facts with a live HAProxy")
	}
	server := serveRaw(t, responseFacts)
	front, proxy := freePort(t), freePort(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	conf := fmt.Sprintf(`defaults
	mode http
	timeout connect 2s
	timeout client 5s
	timeout server 5s
	timeout http-request 2s
	timeout http-keep-alive 5s
frontend f
	bind %s
	http-request return status 200 content-type text/plain string ok
frontend p
	bind %s
	default_backend b
backend b
	server s %s
`, front, proxy, server)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, front)

	t.Run("requests", func(t *testing.T) {
		for _, f := range append(requestFacts, sizeFacts()...) {
			t.Run(f.name, func(t *testing.T) {
				if f.undefined {
					t.Skip("HAProxy 2.6.12's verdict varies between processes")
				}
				t.Parallel()
				want := f.want
				if want == 0 || want == truncated {
					want = 200
				}
				if got := firstStatus(t, front, f.in); got != want {
					t.Errorf("HAProxy answers %d, the table says %d", got, f.want)
				}
			})
		}
	})
	t.Run("responses", func(t *testing.T) {
		for i, f := range responseFacts {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				method := f.method
				if method == "" {
					method = "GET"
				}
				req := fmt.Sprintf("%s /%d HTTP/1.1\r\nHost: a\r\n%s\r\n", method, i, f.req)
				got := firstStatus(t, proxy, req)
				if (got == 502) != (f.want == 502 || f.want == eof) {
					t.Errorf("HAProxy answers %d, the table says %d", got, f.want)
				}
			})
		}
	})
}

// serveRaw answers "GET /i" with facts[i].in, then closes after a while.
func serveRaw(t *testing.T, facts []fact) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				line, _ := br.ReadString('\n')
				for l := line; l != "\r\n" && l != ""; {
					l, _ = br.ReadString('\n')
				}
				if f := strings.Fields(line); len(f) > 1 {
					if i, err := strconv.Atoi(strings.TrimPrefix(f[1], "/")); err == nil && i < len(facts) {
						c.Write([]byte(facts[i].in))
					}
				}
				time.Sleep(300 * time.Millisecond)
			}()
		}
	}()
	return ln.Addr().String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("HAProxy does not listen on %s", addr)
}

// firstStatus sends in and returns the status of the first response.
func firstStatus(t *testing.T, addr, in string) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("no status line: %q, %v", line, err)
	}
	code, _ := strconv.Atoi(f[1])
	return code
}
