//go:build lua53

package test

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nameOrigin is a TCP server that writes its name and closes.
func nameOrigin(t *testing.T, name string) string {
	t.Helper()
	return serveConns(t, func(c net.Conn) { _, _ = io.WriteString(c, name) })
}

// TestUseServerDiff sends the same requests through use-server rules
// under luaproxy and haproxy 2.6: HTTP and TCP mode, a rule whose server
// is down falling through to the next rule, "unless", and the order
// against persistence cookies and stick matches (use-server wins over
// both; a stick store-request then records use-server's server).
func TestUseServerDiff(t *testing.T) {
	const cfg = `
defaults
    timeout client 30s
    timeout server 30s
    timeout connect 10s
frontend fe
    mode http
    bind "127.0.0.1:${FE_PORT}"
    use_backend %[req.hdr(x-be)]
frontend fetcp
    mode tcp
    bind "127.0.0.1:${FE_PORT1}"
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.len ge 3 }
    default_backend tcp
backend plain
    mode http
    balance first
    use-server s3 if { req.hdr(x-srv) -m str s3 }
    use-server s2 if { req.hdr(x-srv) -m str s2 } || { req.hdr(x-srv) -m str s3 }
    use-server s2 unless { path_beg / }
    use-server s1 if
    server s1 "${O_s1}"
    server s2 "${O_s2}"
    server s3 "${O_s3}" disabled
backend dyn
    mode http
    balance first
    use-server %[req.hdr(x-dyn)] if { req.hdr(x-dyn) -m found }
    use-server s2 if { req.hdr(x-dyn) -m found }
    server s1 "${O_s1}"
    server s2 "${O_s2}"
    server s3 "${O_s3}" disabled
backend persist
    mode http
    balance first
    option persist
    use-server s3 if { req.hdr(x-srv) -m str s3 }
    server s1 "${O_s1}"
    server s3 "${O_s3}" disabled
backend ck
    mode http
    balance first
    cookie SRV insert indirect nocache
    use-server s2 if { req.hdr(x-srv) -m str s2 }
    server s1 "${O_s1}" cookie a
    server s2 "${O_s2}" cookie b
backend stk
    mode http
    balance first
    stick-table type string size 10
    stick on req.hdr(x-k)
    use-server s2 if { req.hdr(x-srv) -m str s2 }
    server s1 "${O_s1}"
    server s2 "${O_s2}"
backend tcp
    mode tcp
    balance first
    use-server t2 if { req.payload(0,3) -m str two }
    server t1 "${O_t1}"
    server t2 "${O_t2}"
`
	origins := map[string]string{
		"O_s1": cookieOrigin(t, "s1"),
		"O_s2": cookieOrigin(t, "s2"),
		"O_s3": cookieOrigin(t, "s3"),
		"O_t1": nameOrigin(t, "t1"),
		"O_t2": nameOrigin(t, "t2"),
	}
	impls := startImplsN(t, cfg, 2, func(string) map[string]string { return origins })
	type req struct {
		name string
		hdrs []string
		path string
	}
	reqs := []req{
		{"plain default", []string{"x-be: plain"}, "/"},
		{"plain s2", []string{"x-be: plain", "x-srv: s2"}, "/"},
		{"plain s3 down falls to s2", []string{"x-be: plain", "x-srv: s3"}, "/"},
		{"plain other", []string{"x-be: plain", "x-srv: zz"}, "/x"},
		{"dyn s2", []string{"x-be: dyn", "x-dyn: s2"}, "/"},
		{"dyn unknown ends the rules", []string{"x-be: dyn", "x-dyn: nope"}, "/"},
		{"dyn down goes on", []string{"x-be: dyn", "x-dyn: s3"}, "/"},
		{"persist s3 down used", []string{"x-be: persist", "x-srv: s3"}, "/"},
		{"use-server wins over cookie", []string{"x-be: ck", "x-srv: s2", "Cookie: SRV=a"}, "/"},
		{"use-server without cookie", []string{"x-be: ck", "x-srv: s2"}, "/"},
		{"stick learns s1", []string{"x-be: stk", "x-k: k1"}, "/"},
		{"use-server wins over stick", []string{"x-be: stk", "x-k: k1", "x-srv: s2"}, "/"},
		{"stick stores use-server's", []string{"x-be: stk", "x-k: k1"}, "/"},
	}
	results := map[string]map[string]string{}
	for _, im := range impls {
		res := map[string]string{}
		for _, r := range reqs {
			k := dialKA(t, im.addr)
			code, body := k.get(r.path, r.hdrs...)
			res[r.name] = strconv.Itoa(code) + " " + strings.SplitN(body, "|", 2)[0]
		}
		for _, name := range []string{"one", "two"} {
			c, err := net.DialTimeout("tcp", im.addrs[1], 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(c, name)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			res["tcp "+name] = string(b)
		}
		results[im.name] = res
	}
	want := map[string]string{
		"plain default":               "200 s1",
		"plain s2":                    "200 s2",
		"plain s3 down falls to s2":   "200 s2",
		"plain other":                 "200 s1",
		"persist s3 down used":        "200 s3",
		"dyn s2":                      "200 s2",
		"dyn unknown ends the rules":  "200 s1",
		"dyn down goes on":            "200 s2",
		"use-server wins over cookie": "200 s2",
		"use-server without cookie":   "200 s2",
		"stick learns s1":             "200 s1",
		"use-server wins over stick":  "200 s2",
		"stick stores use-server's":   "200 s2",
		"tcp one":                     "t1",
		"tcp two":                     "t2",
	}
	if got := diffTable(results["luaproxy"]); got != diffTable(want) {
		t.Errorf("luaproxy:\n%s\nwant:\n%s", got, diffTable(want))
	}
	if hp, ok := results["haproxy"]; ok && diffTable(hp) != diffTable(results["luaproxy"]) {
		t.Errorf("haproxy:\n%s\nluaproxy:\n%s", diffTable(hp), diffTable(results["luaproxy"]))
	}
}
