//go:build lua53

package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedOrigin is a keep-alive origin counting the connections it
// accepted and closed; "/slow" waits until the gate opens (counted in
// waiting meanwhile), anything else answers at once.
type gatedOrigin struct {
	addr             string
	accepted, closed atomic.Int64
	waiting          atomic.Int64
	mu               sync.Mutex
	gate             chan struct{}
}

func newGatedOrigin(t *testing.T) *gatedOrigin {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &gatedOrigin{addr: ln.Addr().String(), gate: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				o.mu.Lock()
				g := o.gate
				o.mu.Unlock()
				o.waiting.Add(1)
				select {
				case <-g:
				case <-time.After(60 * time.Second):
				}
				o.waiting.Add(-1)
			}
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				o.accepted.Add(1)
			case http.StateClosed, http.StateHijacked:
				o.closed.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { o.open(); srv.Close() })
	return o
}

// open releases the requests waiting at the gate; later ones wait for the
// next open.
func (o *gatedOrigin) open() {
	o.mu.Lock()
	close(o.gate)
	o.gate = make(chan struct{})
	o.mu.Unlock()
}

// burst sends n concurrent /slow requests to backend be, each on its own
// client connection, waits until all are at the origin, opens the gate
// and waits for the responses.
func burst(t *testing.T, addr, be string, o *gatedOrigin, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		c := dialKA(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.c.Close()
			if st, body := c.get("/slow", "X-Be: "+be); st != 200 {
				errs <- fmt.Sprintf("%d %q", st, body)
			}
		}()
	}
	waitUntil(t, fmt.Sprintf("%d requests at the origin of %s", n, be), func() bool { return o.waiting.Load() == int64(n) })
	o.open()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("%s: %s", be, e)
	}
}

// TestServerPoolDiff checks the server idle pool's limits by counting the
// connections the origins accept: "pool-max-conn" (0 keeps none, N keeps
// N), "pool-purge-delay" (idle connections end up closed when unused), and
// the frontend's "max-session-srv-conns" (the private connections a
// client session keeps, http-reuse never), against HAProxy's counts (and
// haproxy itself when it is installed).
func TestServerPoolDiff(t *testing.T) {
	cfg := `
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    use_backend %[req.hdr(x-be)]
frontend fe2
    bind "127.0.0.1:${FE_PORT1}"
    max-session-srv-conns 2
    use_backend %[req.hdr(x-be)]
backend pmc0
    server s1 "${O_pmc0}" pool-max-conn 0
backend pmc1
    http-reuse always
    server s1 "${O_pmc1}" pool-max-conn 1
backend pmcu
    http-reuse always
    server s1 "${O_pmcu}" pool-max-conn -1
backend purge
    http-reuse always
    server s1 "${O_purge}" pool-purge-delay 100ms
backend nopool
    http-reuse always
    server s1 "${O_nopool}" pool-purge-delay 0
`
	msc := func(be string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "backend %s\n    http-reuse never\n", be)
		for i := range 6 {
			fmt.Fprintf(&b, "    server s%d \"${O_%s%d}\"\n", i, be, i)
		}
		return b.String()
	}
	cfg += msc("msc_fe") + msc("msc_fe2")
	single := []string{"pmc0", "pmc1", "pmcu", "purge", "nopool"}
	origins := map[string]map[string]*gatedOrigin{}
	impls := startImplsN(t, cfg, 2, func(impl string) map[string]string {
		env := map[string]string{}
		origins[impl] = map[string]*gatedOrigin{}
		add := func(name string) {
			o := newGatedOrigin(t)
			origins[impl][name] = o
			env["O_"+name] = o.addr
		}
		for _, be := range single {
			add(be)
		}
		for _, be := range []string{"msc_fe", "msc_fe2"} {
			for i := range 6 {
				add(fmt.Sprint(be, i))
			}
		}
		return env
	})
	want := map[string]string{
		// Every response's connection is closed: one per request.
		"pmc0": "accepted=3 closed=3",
		// Three connections for the first burst, one kept idle, so two
		// more for the second.
		"pmc1": "accepted=5",
		"pmcu": "accepted=3",
		// Unused idle connections are all closed in the end.
		"purge": "accepted=3 closed=3",
		// No idle connection: the second burst opens three more.
		"nopool": "accepted=6",
		// Twelve requests over six servers on one client connection: the
		// session keeps 5 private connections by default (one reopened),
		// 2 with max-session-srv-conns 2 (four reopened).
		"msc_fe":  "accepted=7",
		"msc_fe2": "accepted=10",
	}
	results := map[string]map[string]string{}
	for _, im := range impls {
		os := origins[im.name]
		res := map[string]string{}
		count := func(o *gatedOrigin) string { return fmt.Sprintf("accepted=%d", o.accepted.Load()) }

		c := dialKA(t, im.addr)
		for range 3 {
			if st, body := c.get("/", "X-Be: pmc0"); st != 200 {
				t.Fatalf("%s pmc0: %d %q", im.name, st, body)
			}
		}
		c.c.Close()
		o := os["pmc0"]
		waitUntil(t, im.name+" pmc0 closes", func() bool { return o.closed.Load() >= 3 })
		res["pmc0"] = fmt.Sprintf("accepted=%d closed=%d", o.accepted.Load(), o.closed.Load())

		for _, be := range []string{"pmc1", "pmcu", "nopool"} {
			burst(t, im.addr, be, os[be], 3)
			burst(t, im.addr, be, os[be], 3)
			res[be] = count(os[be])
		}

		o = os["purge"]
		burst(t, im.addr, "purge", o, 3)
		waitUntil(t, im.name+" purge closes", func() bool { return o.closed.Load() >= 3 })
		res["purge"] = fmt.Sprintf("accepted=%d closed=%d", o.accepted.Load(), o.closed.Load())

		for i, be := range []string{"msc_fe", "msc_fe2"} {
			c := dialKA(t, im.addrs[i])
			for range 12 {
				if st, body := c.get("/", "X-Be: "+be); st != 200 {
					t.Fatalf("%s %s: %d %q", im.name, be, st, body)
				}
			}
			c.c.Close()
			var n int64
			for j := range 6 {
				n += os[fmt.Sprint(be, j)].accepted.Load()
			}
			res[be] = fmt.Sprintf("accepted=%d", n)
		}
		results[im.name] = res
		for _, k := range sortedKeys(want) {
			if res[k] != want[k] {
				t.Errorf("%s %s: %s, want %s", im.name, k, res[k], want[k])
			}
		}
	}
}
