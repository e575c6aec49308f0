//go:build lua53

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"luaproxy/core"
)

// namedOriginAt is namedOrigin listening on host (any loopback address).
func namedOriginAt(t *testing.T, host, name string) string {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// tcpNamedOrigin answers each TCP connection with its name, once it has
// read something, and closes it.
func tcpNamedOrigin(t *testing.T, name string) string {
	return serveConns(t, func(c net.Conn) {
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err == nil {
			_, _ = io.WriteString(c, name)
		}
	})
}

// post sends a POST with a url-encoded body on the keep-alive
// connection and returns the status and body of the response.
func (k *kaClient) post(path, body string, hdrs ...string) (int, string) {
	_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body))
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(k.c, req+"\r\n"+body); err != nil {
		return 0, "error: " + err.Error()
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// postChunked is post with a chunked body of the given chunks.
func (k *kaClient) postChunked(path string, chunks []string, hdrs ...string) (int, string) {
	_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Transfer-Encoding: chunked\r\n"
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	req += "\r\n"
	for _, c := range chunks {
		req += fmt.Sprintf("%x\r\n%s\r\n", len(c), c)
	}
	if _, err := io.WriteString(k.c, req+"0\r\n\r\n"); err != nil {
		return 0, "error: " + err.Error()
	}
	res, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// rdpRequest is an X.224 connection request carrying an RDP cookie line.
func rdpRequest(cookie string) []byte {
	line := "Cookie: " + cookie + "\r\n"
	n := 11 + len(line)
	b := []byte{3, 0, byte(n >> 8), byte(n), byte(n - 5), 0xe0, 0, 0, 0, 0, 0}
	return append(b, line...)
}

// compareKeys reports the keys two implementations sent to different
// servers.
func compareKeys(t *testing.T, what string, keys []string, lp, hp []string) {
	t.Helper()
	var diffs []string
	for i := range min(len(lp), len(hp)) {
		if lp[i] != hp[i] {
			diffs = append(diffs, fmt.Sprintf("%q: luaproxy %s, haproxy %s", keys[i], lp[i], hp[i]))
		}
	}
	if len(diffs) > 0 || len(lp) != len(hp) {
		t.Errorf("%s: %d keys land elsewhere:\n%s", what, len(diffs), strings.Join(diffs, "\n"))
	}
}

// TestBalanceHashDiff sends the same keys through backends of "balance
// hash <expr>", "balance url_param" on POST bodies, "balance
// rdp-cookie" under luaproxy and haproxy 2.6: each key must land on the
// same server. ("hash-key" is no keyword of HAProxy 2.6.12, whatever its
// manual says: core's TestServerHashKey checks its properties instead.)
func TestBalanceHashDiff(t *testing.T) {
	backends := []struct {
		name, balance, hashType string
	}{
		{"h_hdr", "hash req.hdr(x-key)", "map-based sdbm"},
		{"h_lower", "hash req.hdr(x-key),lower", "consistent"},
		{"h_conv", "hash req.hdr(x-key),djb2", "map-based crc32"}, // an integer: 8 bytes
		{"h_cnt", "hash req.hdr_cnt(x-key)", "map-based djb2"},
		{"h_src", "hash src", "consistent djb2 avalanche"}, // an address: 4 bytes
		{"h_var", "hash var(txn.k)", "consistent wt6"},
		{"p_map", "url_param id", "map-based sdbm"},
		{"p_chk", "url_param id check_post", "consistent"},
		{"p_max", "url_param id check_post 64", "map-based djb2"},
		{"p_query", "url_param id check_post", "map-based sdbm"}, // the query string wins
		{"p_chunk", "url_param id", "consistent sdbm"},           // a chunked body
	}
	var cfg strings.Builder
	cfg.WriteString(`
global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    http-request set-var(txn.k) req.hdr(x-key),upper
    use_backend %[req.hdr(x-be)]
`)
	rdpBackends := []struct{ name, balance, hashType, cookie string }{
		{"r_def", "rdp-cookie", "map-based sdbm", "mstshash"},
		{"r_user", "rdp-cookie(user)", "consistent", "USER"},
	}
	for i, r := range rdpBackends {
		fmt.Fprintf(&cfg, `frontend fe_%s
    mode tcp
    bind "127.0.0.1:${FE_PORT%d}"
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
    default_backend %s
backend %s
    mode tcp
    hash-type %s
    balance %s
`, r.name, i+1, r.name, r.name, r.hashType, r.balance)
		for _, n := range []string{"s1", "s2", "s3", "s4"} {
			fmt.Fprintf(&cfg, "    server %s \"${T_%s}\"\n", n, n)
		}
	}
	for _, b := range backends {
		fmt.Fprintf(&cfg, "backend %s\n    hash-type %s\n    balance %s\n", b.name, b.hashType, b.balance)
		for i, n := range []string{"s1", "s2", "s3", "s4"} {
			fmt.Fprintf(&cfg, "    server %s \"${O_%s}\" weight %d\n", n, n, 1+i%2)
		}
	}
	env := map[string]string{}
	for _, n := range []string{"s1", "s2", "s3", "s4"} {
		env["O_"+n] = namedOriginAt(t, "127.0.0.1", n)
		env["T_"+n] = tcpNamedOrigin(t, n)
	}
	impls := startImplsN(t, cfg.String(), 1+len(rdpBackends), func(string) map[string]string { return env })

	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("Key-%d", i))
	}
	keys = append(keys, "", "caf\xe9", "a b", "x%41y")
	results := map[string]map[string][]string{}
	for _, im := range impls {
		res := map[string][]string{}
		c := dialKA(t, im.addr)
		for _, b := range backends {
			for i, k := range keys {
				var st int
				var body string
				switch {
				case b.name == "p_query":
					form := fmt.Sprintf("id=body-%d", i)
					st, body = c.post("/form?a=1&id="+url.QueryEscape(k), form, "X-Be: "+b.name)
				case b.name == "p_chunk":
					// The parameter spans two chunks, sent in one write.
					form := fmt.Sprintf("a=%d&id=%s&z=1", i, url.QueryEscape(k))
					half := len(form) / 2
					st, body = c.postChunked("/form", []string{form[:half], form[half:]}, "X-Be: "+b.name)
				case strings.HasPrefix(b.balance, "url_param"):
					// The query string lacks the parameter: the body has it.
					form := fmt.Sprintf("a=%d&id=%s&z=1", i, strings.ReplaceAll(k, " ", "+"))
					st, body = c.post("/form?other=1", form, "X-Be: "+b.name)
				default:
					if strings.ContainsAny(k, " \xe9") || k == "" {
						k = fmt.Sprintf("k%x", k)
					}
					st, body = c.get("/", "X-Be: "+b.name, "X-Key: "+k)
				}
				if st != 200 {
					t.Fatalf("%s %s key %q: %d %q", im.name, b.name, k, st, body)
				}
				res[b.name] = append(res[b.name], body)
			}
		}
		c.c.Close()
		for ri, r := range rdpBackends {
			for _, k := range keys {
				if k == "" {
					// An empty cookie falls back to round robin, whose
					// order differs (chash_get_next_server / the map's
					// walk against a smooth weighted round robin).
					continue
				}
				res[r.name] = append(res[r.name], rdpExchange(t, im.addrs[1+ri], r.cookie+"="+k))
			}
		}
		results[im.name] = res
	}
	lp := results["luaproxy"]
	for _, b := range backends {
		// h_cnt hashes a count, h_src the one client address.
		if spread := distinct(lp[b.name]); spread < 2 && b.name != "h_cnt" && b.name != "h_src" {
			t.Errorf("%s: every key went to one server (%v)", b.name, lp[b.name])
		}
	}
	var rdpKeys []string
	for _, k := range keys {
		if k != "" {
			rdpKeys = append(rdpKeys, k)
		}
	}
	for _, r := range rdpBackends {
		if distinct(lp[r.name]) < 2 {
			t.Errorf("%s: every cookie went to one server (%v)", r.name, lp[r.name])
		}
	}
	h, ok := results["haproxy"]
	if !ok {
		return
	}
	for _, b := range backends {
		compareKeys(t, fmt.Sprintf("%s (balance %s, hash-type %s)", b.name, b.balance, b.hashType),
			keys, lp[b.name], h[b.name])
	}
	for _, r := range rdpBackends {
		compareKeys(t, fmt.Sprintf("%s (balance %s, hash-type %s)", r.name, r.balance, r.hashType), rdpKeys, lp[r.name], h[r.name])
	}
}

// rdpExchange sends an RDP connection request with the cookie and returns
// the name of the server that answered.
func rdpExchange(t *testing.T, addr, cookie string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(rdpRequest(cookie)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil || len(b) == 0 {
		return fmt.Sprintf("error(%v)", err)
	}
	return string(b)
}

func distinct(v []string) int {
	m := map[string]bool{}
	for _, x := range v {
		m[x] = true
	}
	return len(m)
}

// TestHashBalanceFactorDiff holds requests of one key open, one after
// the other, on a consistent backend with "hash-balance-factor 150": each
// new request sees the ones before it being served, and the bound sends
// it to the next server of the ring that has room. The servers that
// received them, in order, must be the same under luaproxy and haproxy.
func TestHashBalanceFactorDiff(t *testing.T) {
	const cfg = `
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
backend bounded
    hash-type consistent
    hash-balance-factor 150
    balance hdr(x-key)
    server s1 "${H_s1}" weight 1
    server s2 "${H_s2}" weight 2
    server s3 "${H_s3}" weight 1
    server s4 "${H_s4}" weight 1
backend random
    hash-balance-factor 125
    balance random(1)
    server s1 "${H_s1}"
    server s2 "${H_s2}"
    server s3 "${H_s3}"
`
	type holder struct {
		arrived chan string
		release chan struct{}
	}
	holders := map[string]*holder{}
	var mu sync.Mutex
	impls := startImpls(t, cfg, func(impl string) map[string]string {
		h := &holder{arrived: make(chan string, 64), release: make(chan struct{})}
		mu.Lock()
		holders[impl] = h
		mu.Unlock()
		env := map[string]string{}
		for _, n := range []string{"s1", "s2", "s3", "s4"} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.arrived <- n
				select {
				case <-h.release:
				case <-time.After(30 * time.Second):
				}
				_, _ = io.WriteString(w, n)
			})}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { srv.Close() })
			env["H_"+n] = ln.Addr().String()
		}
		return env
	})
	const n = 12
	// hold sends n requests, each once the previous one reached its
	// server, and returns the servers in order.
	hold := func(im *impl, be, key string) []string {
		h := holders[im.name]
		h.release = make(chan struct{})
		var order []string
		var wg sync.WaitGroup
		for i := range n {
			c, err := net.DialTimeout("tcp", im.addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(40 * time.Second))
			fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: t\r\nX-Be: %s\r\nX-Key: %s\r\nConnection: close\r\n\r\n", i, be, key)
			select {
			case s := <-h.arrived:
				order = append(order, s)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: request %d reached no server", im.name, i)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = http.ReadResponse(bufio.NewReader(c), nil)
			}()
		}
		close(h.release)
		wg.Wait()
		// the next run must start with idle servers: the proxy may count
		// a stream a little after its client got the response
		if im.lp != nil {
			for deadline := time.Now().Add(5 * time.Second); busy(im.lp.e.Backend(be)) && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
		} else {
			time.Sleep(100 * time.Millisecond)
		}
		return order
	}
	results := map[string][]string{}
	for _, im := range impls {
		for _, key := range []string{"alpha", "beta", "k-17", "zz-9"} {
			results[im.name] = append(results[im.name], strings.Join(hold(im, "bounded", key), " "))
		}
		// random: the draws differ, the bound does not: no server may
		// hold more than its bounded share.
		counts := map[string]int{}
		for _, s := range hold(im, "random", "-") {
			counts[s]++
		}
		for s, c := range counts {
			// 12 streams, 3 servers of equal weight, factor 125:
			// ceil(12*125/100)/3 = 5 at most.
			if c > 5 {
				t.Errorf("%s random with hash-balance-factor 125: %s holds %d of %d streams", im.name, s, c, n)
			}
		}
	}
	for name, seqs := range results {
		t.Logf("%s: %q", name, seqs)
	}
	lp := results["luaproxy"]
	for _, seq := range lp {
		if distinct(strings.Fields(seq)) < 2 {
			t.Errorf("luaproxy: the bound spread nothing: %s", seq)
		}
	}
	if h, ok := results["haproxy"]; ok {
		for i := range lp {
			if lp[i] != h[i] {
				t.Errorf("bounded key %d: luaproxy and haproxy differ\nluaproxy %s\nhaproxy  %s", i, lp[i], h[i])
			}
		}
	}
}

// busy reports whether a server of be still counts a connection.
func busy(be *core.Proxy) bool {
	for _, srv := range be.Servers {
		if srv.Conns.Load() > 0 {
			return true
		}
	}
	return false
}
