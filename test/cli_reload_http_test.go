//go:build lua53

package test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// An HTTP daemon is replaced with -sf while keep-alive clients send
// requests: none fails. The old process stops accepting, finishes the
// requests in flight, answers with "Connection: close" and closes idle
// keep-alive connections, so it exits long before its timeouts.
func TestCLIDaemonTakeoverHTTP(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	pidfile := filepath.Join(dir, "luaproxy.pid")
	cfgPath := filepath.Join(dir, "reload.cfg")
	origin := newCountingOrigin(t)
	cfg := fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 %s
`, port, origin.addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	launch := daemonLauncher(t, cfgPath, pidfile)
	old := launch()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// An idle keep-alive connection to the old process.
	idle := dialKA(t, addr)
	if st, body := idle.get("/idle"); st != 200 || body != "ok" {
		t.Fatalf("idle connection: %d %q", st, body)
	}

	// The load: keep-alive clients, requests one after the other.
	var ok, failed, closes atomic.Int64
	var errMu sync.Mutex
	var errs []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 60 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := func() error {
					// The origin takes 40 ms: the stop finds requests in
					// flight, whose responses must say Connection: close.
					// (At 5 ms, all four clients were sometimes between
					// two requests on a loaded machine: their idle
					// connections closed, and no response said it.)
					res, err := cl.Get(fmt.Sprintf("http://%s/w%d/%d/delay", addr, w, i))
					if err != nil {
						return err
					}
					defer res.Body.Close()
					b, err := io.ReadAll(res.Body)
					if err == nil && (res.StatusCode != 200 || string(b) != "ok") {
						err = fmt.Errorf("%s %q", res.Status, b)
					}
					if res.Close {
						closes.Add(1)
					}
					return err
				}()
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, fmt.Sprintf("client %d request %d: %v", w, i, err))
					errMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}(w)
	}
	waitUntil(t, "requests to the first daemon", func() bool { return ok.Load() >= 40 })

	newPid := launch("-sf", strconv.Itoa(old))
	// The timeouts are 120s: the old process leaves early only if it
	// closes its idle keep-alive connections.
	waitUntil(t, "the old process to exit", func() bool { return !alive(old) })
	before := ok.Load()
	waitUntil(t, "requests to the new daemon", func() bool { return ok.Load() >= before+40 })
	close(stop)
	wg.Wait()

	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across the takeover:\n%s", failed.Load(), ok.Load()+failed.Load(), strings.Join(errs, "\n"))
	}
	if closes.Load() == 0 {
		t.Errorf("no response said Connection: close")
	}
	t.Logf("%d requests, none failed; %d responses with Connection: close", ok.Load(), closes.Load())
	// The idle connection was closed by the old process, without a response.
	_ = idle.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := idle.br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after the takeover: %d bytes, %v", n, err)
	}
	if err := syscall.Kill(newPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new process to exit on SIGTERM", func() bool { return !alive(newPid) })
}
