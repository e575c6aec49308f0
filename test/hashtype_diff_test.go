//go:build lua53

package test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashTypeDiff sends the same keys through backends of every
// hash-type method, function and modifier under luaproxy and haproxy: each
// key must land on the same server. The consistent backends then see a
// server's weight raised and another server disabled (the map-based ones
// only the latter, their weights being static), and the keys are sent
// again.
func TestHashTypeDiff(t *testing.T) {
	backends := []struct {
		name, balance, hashType string
	}{
		{"m_sdbm", "hdr(x-key)", "map-based sdbm"},
		{"m_djb2", "hdr(x-key)", "map-based djb2"},
		{"m_wt6a", "hdr(x-key)", "map-based wt6 avalanche"},
		{"m_crc", "hdr(x-key)", "map-based crc32"},
		{"m_sdbma", "hdr(x-key)", "map-based sdbm avalanche"},
		{"m_urlp", "url_param id", "map-based djb2"},
		{"c_def", "hdr(x-key)", "consistent"},
		{"c_sdbm", "hdr(x-key)", "consistent sdbm"},
		{"c_djb2a", "hdr(x-key)", "consistent djb2 avalanche"},
		{"c_wt6", "hdr(x-key)", "consistent wt6"},
		{"c_crc", "hdr(x-key)", "consistent crc32"},
		{"c_uri", "uri", "consistent"},
		{"c_urlp", "url_param id", "consistent"},
		{"c_src", "source", "consistent"},
		{"c_inh", "hdr(x-key)", ""}, // hash-type from the second defaults
	}
	var cfg strings.Builder
	cfg.WriteString(`
global
    nbthread 1
    stats socket "${SOCK}" level admin
defaults
    mode http
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    use_backend %[req.hdr(x-be)]
`)
	servers := "    server s1 \"${O_s1}\" weight 1\n    server s2 \"${O_s2}\" weight 2\n" +
		"    server s3 \"${O_s3}\" weight 1 id 7\n    server s4 \"${O_s4}\" weight 3\n"
	for _, b := range backends {
		if b.hashType == "" {
			cfg.WriteString("defaults\n    mode http\n    timeout client 30s\n    timeout server 30s\n" +
				"    timeout connect 10s\n    hash-type consistent djb2\n")
			fmt.Fprintf(&cfg, "backend %s\n    balance %s\n%s", b.name, b.balance, servers)
			continue
		}
		// hash-type before balance: they are independent settings.
		fmt.Fprintf(&cfg, "backend %s\n    hash-type %s\n    balance %s\n%s", b.name, b.hashType, b.balance, servers)
	}
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("key-%d", i))
	}
	for i := range 12 {
		keys = append(keys, fmt.Sprint(i*7919+3))
	}
	keys = append(keys, "caf\xe9", "\xff\xfe-x", "-42")
	socks := map[string]string{}
	dir := t.TempDir()
	impls := startImpls(t, cfg.String(), func(impl string) map[string]string {
		socks[impl] = filepath.Join(dir, impl+".sock")
		env := map[string]string{"SOCK": socks[impl]}
		for _, n := range []string{"s1", "s2", "s3", "s4"} {
			env["O_"+n] = namedOrigin(t, n)
		}
		return env
	})
	// run sends every key to every backend and returns, per backend, the
	// servers the keys landed on.
	run := func(im *impl) map[string]string {
		res := map[string]string{}
		c := dialKA(t, im.addr)
		defer c.c.Close()
		for _, b := range backends {
			var picks []string
			for _, k := range keys {
				p, hdrs := "/", []string{"X-Be: " + b.name}
				switch {
				case strings.HasPrefix(b.balance, "uri"):
					p = "/k/" + strings.ReplaceAll(fmt.Sprintf("%x", k), " ", "")
				case strings.HasPrefix(b.balance, "url_param"):
					p = "/p?a=1&id=" + fmt.Sprintf("%x", k) + "&b=2"
				default:
					hdrs = append(hdrs, "X-Key: "+k)
				}
				st, body := c.get(p, hdrs...)
				if st != 200 {
					t.Fatalf("%s %s key %q: %d %q", im.name, b.name, k, st, body)
				}
				picks = append(picks, body)
			}
			res[b.name] = strings.Join(picks, " ")
		}
		return res
	}
	results := map[string][2]map[string]string{}
	for _, im := range impls {
		before := run(im)
		for _, b := range backends {
			if strings.HasPrefix(b.name, "c_") {
				if out := unixExchange(t, socks[im.name], "set server "+b.name+"/s2 weight 5"); strings.TrimSpace(out) != "" {
					t.Fatalf("%s: set weight %s: %q", im.name, b.name, out)
				}
			}
			unixExchange(t, socks[im.name], "disable server "+b.name+"/s3")
		}
		results[im.name] = [2]map[string]string{before, run(im)}
	}
	lp := results["luaproxy"]
	for _, b := range backends {
		if lp[0][b.name] == lp[1][b.name] && b.name != "c_src" {
			t.Errorf("%s: the weight change and the disabled server moved no key", b.name)
		}
	}
	h, ok := results["haproxy"]
	if !ok {
		return
	}
	for phase, what := range []string{"as configured", "after the changes"} {
		for _, b := range backends {
			g, w := strings.Fields(lp[phase][b.name]), strings.Fields(h[phase][b.name])
			var diffs []string
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					diffs = append(diffs, fmt.Sprintf("%q: luaproxy %s, haproxy %s", keys[i], g[i], w[i]))
				}
			}
			if len(diffs) > 0 || len(g) != len(w) {
				t.Errorf("%s (hash-type %s, balance %s) %s: %d keys land elsewhere:\n%s",
					b.name, b.hashType, b.balance, what, len(diffs), strings.Join(diffs, "\n"))
			}
		}
	}
}
