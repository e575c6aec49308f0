//go:build lua53

package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// namedOrigin answers every request with its name.
func namedOrigin(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestBalanceDiff sends the same requests through backends of each
// algorithm under luaproxy and haproxy: the servers hash-based algorithms
// pick must be the same (HAProxy's map-based hashing), and round robins
// must give each server the same share.
func TestBalanceDiff(t *testing.T) {
	backends := []struct {
		name, balance, servers string
	}{
		{"rr", "roundrobin", "s1 w3,s2 w1,s3 w2"},
		{"srr", "static-rr", "s1 w1,s2 w2,s3 w1"},
		{"first", "first", "s1 w1,s2 w1"},
		{"lc", "leastconn", "s1 w1,s2 w1,s3 w1"},
		{"uri", "uri", "s1 w1,s2 w1,s3 w1"},
		{"uriw", "uri whole", "s1 w1,s2 w2,s3 w1"},
		{"urid", "uri depth 2", "s1 w1,s2 w1,s3 w1,s4 w1"},
		{"hdr", "hdr(x-key)", "s1 w1,s2 w1,s3 w1"},
		{"src", "source", "s1 w1,s2 w1,s3 w1"},
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
    use_backend %[req.hdr(x-be)]
`)
	for _, b := range backends {
		fmt.Fprintf(&cfg, "backend %s\n    balance %s\n", b.name, b.balance)
		for _, s := range strings.Split(b.servers, ",") {
			name, w, _ := strings.Cut(s, " w")
			fmt.Fprintf(&cfg, "    server %s \"${O_%s}\" weight %s\n", name, name, w)
		}
	}
	impls := startImpls(t, cfg.String(), func(string) map[string]string {
		env := map[string]string{}
		for _, n := range []string{"s1", "s2", "s3", "s4"} {
			env["O_"+n] = namedOrigin(t, n)
		}
		return env
	})
	paths := []string{"/", "/a", "/b/c", "/b/c/d", "/x?q=1", "/x?q=2", "/img/logo.png", "/api/v1/users", "/api/v2/users", "/zz", "/aaaa/bbbb/cccc", "/q?x"}
	results := map[string]map[string]string{}
	for _, im := range impls {
		res := map[string]string{}
		for _, b := range backends {
			c := dialKA(t, im.addr)
			var picks []string
			counts := map[string]int{}
			for i := 0; i < 24; i++ {
				p, hdr := "/", "X-Be: "+b.name
				switch b.name {
				case "uri", "uriw", "urid":
					p = paths[i%len(paths)]
				case "hdr":
					hdr += fmt.Sprintf("\r\nX-Key: key-%d", i%8)
				}
				st, body := c.get(p, hdr)
				if st != 200 {
					t.Fatalf("%s %s: %d %q", im.name, b.name, st, body)
				}
				picks = append(picks, body)
				counts[body]++
			}
			c.c.Close()
			switch b.name {
			case "rr", "srr", "lc":
				res[b.name] = diffTable(counts) // the shares; the order may differ
			default:
				res[b.name] = strings.Join(picks, " ")
			}
		}
		results[im.name] = res
	}
	if h, ok := results["haproxy"]; ok {
		for _, b := range backends {
			if g, w := results["luaproxy"][b.name], h[b.name]; g != w {
				t.Errorf("balance %s: luaproxy and haproxy differ\n--- luaproxy\n%s\n--- haproxy\n%s", b.balance, g, w)
			}
		}
	}
}
