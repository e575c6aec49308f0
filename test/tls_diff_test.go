//go:build lua53

package test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tlsExchange sends one HTTP/1.1 request over TLS and returns the
// certificate's CN the server presented and "<status> <body>" (with the
// headers named in hdrs), or "failed" when the handshake or the
// exchange failed (a refused client certificate shows at the first read
// in TLS 1.3).
func tlsExchange(t *testing.T, addr string, cfg *tls.Config, path string, hdrs ...string) (cn, resp string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return "", "failed"
	}
	if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
		cn = pc[0].Subject.CommonName
	}
	fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path)
	res, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return cn, "failed"
	}
	body, _ := io.ReadAll(res.Body)
	out := fmt.Sprintf("%d %s", res.StatusCode, body)
	for _, h := range hdrs {
		out += fmt.Sprintf(" %s=%s", h, res.Header.Get(h))
	}
	return cn, out
}

func clientTLS(serverName string, alpn ...string) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: serverName, NextProtos: alpn}
}

// compareImpls runs fn under every implementation and fails when
// luaproxy's results differ from haproxy's; it returns luaproxy's.
func compareImpls(t *testing.T, impls []*impl, fn func(im *impl) map[string]string) map[string]string {
	t.Helper()
	results := map[string]map[string]string{}
	for _, im := range impls {
		results[im.name] = fn(im)
	}
	lp := results["luaproxy"]
	hp, ok := results["haproxy"]
	if !ok {
		t.Logf("luaproxy alone:\n%s", diffTable(lp))
		return lp
	}
	for _, k := range sortedKeys(hp) {
		if lp[k] != hp[k] {
			t.Errorf("%s:\n  luaproxy: %s\n  haproxy:  %s", k, lp[k], hp[k])
		}
	}
	return lp
}

// TestTLSBindDiff: "bind ... ssl crt <dir>" chooses the certificate by
// SNI among several (SAN and CN names, wildcards, the first file as the
// default), serves HTTP with the ssl_fc* fetches, and "redirect scheme
// https if !{ ssl_fc }" on a plain listener.
func TestTLSBindDiff(t *testing.T) {
	pki := newTestPKI(t)
	pki.issue(t, "crt/a.pem", certOpts{cn: "a.example.com", sans: []string{"a.example.com", "www.a.example.com"}})
	pki.issue(t, "crt/b.pem", certOpts{cn: "cn-only.example.com", sans: []string{"san.example.com"}})
	pki.issue(t, "crt/c.pem", certOpts{cn: "wild", sans: []string{"*.wild.example.com"}})
	pki.issue(t, "crt/d.pem", certOpts{cn: "d.example.com"})
	const cfg = `
global
    nbthread 1
    crt-base "${CRTBASE}"
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}" ssl crt crt alpn h2,http/1.1
    bind "127.0.0.1:${FE_PORT1}"
    bind "127.0.0.1:${FE_PORT2}" ssl crt crt/a.pem ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-AES256-GCM-SHA384
    http-request redirect scheme https if !{ ssl_fc }
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_cipher] %[ssl_fc_use_keysize] %[ssl_fc_alg_keysize]" if { path /cipher }
    http-request return status 200 content-type text/plain lf-string "fc=%[ssl_fc] sni=%[ssl_fc_sni] proto=%[ssl_fc_protocol] crt=%[ssl_fc_has_crt] used=%[ssl_c_used] hassni=%[ssl_fc_has_sni] alpn=%[ssl_fc_alpn] verify=%[ssl_c_verify]"
`
	impls := startImplsN(t, cfg, 3, func(string) map[string]string {
		return map[string]string{"CRTBASE": pki.dir}
	})
	compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		for _, sni := range []string{"", "a.example.com", "www.a.example.com", "san.example.com", "cn-only.example.com",
			"x.wild.example.com", "wild.example.com", "d.example.com", "D.Example.Com", "unknown.example.org"} {
			cn, r := tlsExchange(t, im.addrs[0], clientTLS(sni, "http/1.1"), "/")
			res["sni "+sni] = cn + " | " + r
		}
		_, res["no alpn"] = tlsExchange(t, im.addrs[0], clientTLS("a.example.com"), "/")
		tls12 := clientTLS("a.example.com", "http/1.1")
		tls12.MaxVersion = tls.VersionTLS12
		for _, cs := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
			tls12.CipherSuites = []uint16{cs}
			_, res["tls1.2 "+tls.CipherSuiteName(cs)] = tlsExchange(t, im.addrs[0], tls12, "/cipher")
		}
		tls11 := clientTLS("a.example.com")
		tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		_, res["tls1.1 refused"] = tlsExchange(t, im.addrs[0], tls11, "/")
		// the bind's own ciphers and ssl-max-ver
		_, res["bind ciphers"] = tlsExchange(t, im.addrs[2], clientTLS(""), "/cipher")
		only := clientTLS("")
		only.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		_, res["bind ciphers refuse"] = tlsExchange(t, im.addrs[2], only, "/cipher")
		res["plain redirect"] = rawRequestTimeout(t, im.addrs[1], "GET /x?y HTTP/1.1\r\nHost: t\r\n\r\n", 5*time.Second).String()
		return res
	})
}

// TestTLSClientCertDiff: ca-file with verify optional and required,
// crt-ignore-err/ca-ignore-err, and the ssl_c_* fetches, for clients
// with no certificate, a valid one, a self-signed one, an expired one
// and one from another CA.
func TestTLSClientCertDiff(t *testing.T) {
	pki := newTestPKI(t)
	pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com", sans: []string{"srv.example.com"}})
	other := newTestPKI(t)
	clients := map[string]*tls.Certificate{"none": nil}
	for name, o := range map[string]certOpts{
		"valid":       {cn: "client1", client: true},
		"self-signed": {cn: "selfie", client: true, selfSigned: true},
		"expired":     {cn: "old", client: true, expired: true},
	} {
		_, c := pki.issue(t, name+".pem", o)
		clients[name] = &c
	}
	_, oc := other.issue(t, "other.pem", certOpts{cn: "stranger", client: true})
	clients["other-ca"] = &oc

	const cfg = `
global
    nbthread 1
    ca-base "${DIR}"
    crt-base "${DIR}"
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}" ssl crt srv.pem ca-file ca.pem verify optional
    bind "127.0.0.1:${FE_PORT1}" ssl crt srv.pem ca-file ca.pem verify required
    bind "127.0.0.1:${FE_PORT2}" ssl crt srv.pem ca-file ca.pem verify required crt-ignore-err all ca-ignore-err all
    bind "127.0.0.1:${FE_PORT3}" ssl crt srv.pem ca-file ca.pem verify optional crt-ignore-err 10
    http-request return status 200 content-type text/plain lf-string "used=%[ssl_c_used] verify=%[ssl_c_verify] crt=%[ssl_fc_has_crt] s=%[ssl_c_s_dn] i=%[ssl_c_i_dn] cn=%[ssl_c_s_dn(CN)] o=%[ssl_c_i_dn(O)] sha=%[ssl_c_sha1,hex] na=%[ssl_c_notafter] nb=%[ssl_c_notbefore] der=%[ssl_c_der,length] rfc=%[ssl_c_s_dn(,0,rfc2253)] ser=%[ssl_c_serial,hex] v=%[ssl_c_version] err=%[ssl_c_err] caerr=%[ssl_c_ca_err]"
`
	impls := startImplsN(t, cfg, 4, func(string) map[string]string { return map[string]string{"DIR": pki.dir} })
	binds := []string{"optional", "required", "ignore-all", "ignore-expired"}
	compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		for i, b := range binds {
			for name, crt := range clients {
				cfg := clientTLS("srv.example.com")
				crt := crt
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					if crt == nil {
						return &tls.Certificate{}, nil
					}
					return crt, nil
				}
				// both TLS versions: the refusal comes at a different step
				for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
					cfg.MaxVersion = v
					_, r := tlsExchange(t, im.addrs[i], cfg, "/")
					res[fmt.Sprintf("%s/%s/%x", b, name, v)] = r
				}
			}
		}
		return res
	})
}

// TestTLSTCPModeDiff: a TCP listener deciphering TLS in front of a
// plain server, with tcplog's '~' after the frontend name, and the log
// line of a failed handshake.
func TestTLSTCPModeDiff(t *testing.T) {
	pki := newTestPKI(t)
	crt, _ := pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com"})
	sink := newSyslogSink(t, "tcpfe")
	const cfg = `
global
    nbthread 1
defaults
    timeout client 5s
    timeout server 5s
    timeout connect 5s
listen tcpfe
    mode tcp
    log "${SYSLOG}" local0
    log-format "tcpfe %ft %b/%s %[ssl_fc] %[ssl_fc_protocol] %sslv"
    bind "127.0.0.1:${FE_PORT}" ssl crt "${CRT}"
    tcp-request content accept
    server s1 "${ORIGIN}"
`
	impls := startImpls(t, cfg, func(string) map[string]string {
		return map[string]string{"CRT": crt, "ORIGIN": echoOrigin(t), "SYSLOG": sink.addr}
	})
	compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		_, res["tls"] = tlsExchange(t, im.addr, clientTLS(""), "/tcp")
		// a plain request to the TLS port: a handshake failure
		res["plain"] = rawRequestTimeout(t, im.addr, "GET / HTTP/1.0\r\n\r\n", 5*time.Second).String()
		return res
	})
	time.Sleep(300 * time.Millisecond)
	got := sink.snapshot()
	want := map[string]int{"tcpfe~ tcpfe/s1 1 TLSv1.3 TLSv1.3": 0, "tcpfe/1: SSL handshake failure": 0}
	for _, l := range got {
		for w := range want {
			if strings.HasSuffix(l, w) {
				want[w]++
			}
		}
	}
	for w, n := range want {
		if n != len(impls) {
			t.Errorf("log line %q seen %d times, want %d (once per implementation); lines:\n%s", w, n, len(impls), strings.Join(got, "\n"))
		}
	}
}

// tlsOrigin is an HTTPS server answering with the SNI it received; its
// certificate is for a.example.com, issued by pki's CA.
func tlsOrigin(t *testing.T, pki *testPKI) string {
	t.Helper()
	_, crt := pki.issue(t, "origin.pem", certOpts{cn: "a.example.com", sans: []string{"a.example.com"}})
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "sni=%s proto=%d", r.TLS.ServerName, r.TLS.Version-tls.VersionTLS10)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{crt}},
		ErrorLog: log.New(io.Discard, "", 0)} // the plain checks' handshake errors
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestTLSServerDiff: "server ... ssl" with verify required/none, ca-file,
// sni, a certificate name mismatch, ssl_bc, and health checks over TLS
// (httpchk answered only through TLS).
func TestTLSServerDiff(t *testing.T) {
	pki := newTestPKI(t)
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
    retries 0
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    use_backend %[path,field(2,/)]
backend verified
    http-response set-header X-BC "%[ssl_bc] %[ssl_bc_protocol] alpn=%[ssl_bc_alpn]"
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}" sni str(a.example.com)
backend nosni
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}"
backend mismatch
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}" sni str(b.example.com)
backend verifyhost
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}" sni str(a.example.com) verifyhost c.example.com
backend noverify
    server s1 "${ORIGIN}" ssl verify none sni req.hdr(x-sni)
backend verifyhost_nosni
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}" verifyhost c.example.com
backend verifyhost_ok
    server s1 "${ORIGIN}" ssl verify required ca-file "${CA}" verifyhost a.example.com
backend plain
    http-response set-header X-BC %[ssl_bc]
    server s1 "${ORIGIN}"
backend tls12
    http-response set-header X-BCC "%[ssl_bc_cipher] %[ssl_bc_protocol] %[ssl_bc]"
    server s1 "${ORIGIN}" ssl verify none ssl-max-ver TLSv1.2
backend checked
    option httpchk GET /
    server s1 "${ORIGIN}" ssl verify none check inter 100ms fall 1 rise 1
backend checked_plain
    option httpchk GET /
    server s1 "${ORIGIN}" ssl verify none check no-check-ssl inter 100ms fall 1 rise 1
`
	origin := tlsOrigin(t, pki)
	impls := startImpls(t, cfg, func(string) map[string]string {
		return map[string]string{"ORIGIN": origin, "CA": pki.caFile}
	})
	time.Sleep(800 * time.Millisecond) // the checks settle
	compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		for _, be := range []string{"verified", "nosni", "mismatch", "verifyhost", "verifyhost_nosni", "verifyhost_ok", "noverify", "plain", "tls12", "checked", "checked_plain"} {
			r := rawRequestTimeout(t, im.addr, "GET /"+be+" HTTP/1.1\r\nHost: t\r\nX-SNI: from.header\r\nConnection: close\r\n\r\n", 5*time.Second)
			res[be] = r.String()
		}
		return res
	})
}

// TestTLSLuaFetches: the ssl_* fetches from Lua (txn.f), typed as
// HAProxy gives them to Lua (booleans as integers, as in 2.6).
func TestTLSLuaFetches(t *testing.T) {
	pki := newTestPKI(t)
	crt, _ := pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com"})
	lua := filepath.Join(t.TempDir(), "ssl.lua")
	if err := os.WriteFile(lua, []byte(`
core.register_service("ssl", "http", function(applet)
  local f = applet.f
  local body = string.format("%s %s %s %s %s", tostring(f:ssl_fc()), type(f:ssl_fc()),
    tostring(f:ssl_fc_sni()), tostring(f:ssl_fc_protocol()), tostring(f:ssl_c_used()))
  applet:set_status(200)
  applet:add_header("content-length", #body)
  applet:start_response()
  applet:send(body)
end)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const cfg = `
global
    nbthread 1
    lua-load "${LUA}"
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}" ssl crt "${CRT}"
    bind "127.0.0.1:${FE_PORT1}"
    http-request use-service lua.ssl
`
	impls := startImplsN(t, cfg, 2, func(string) map[string]string { return map[string]string{"LUA": lua, "CRT": crt} })
	lp := compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		_, res["tls"] = tlsExchange(t, im.addrs[0], clientTLS("srv.example.com"), "/")
		res["plain"] = rawRequestTimeout(t, im.addrs[1], "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 5*time.Second).String()
		return res
	})
	if want := "200 1 number srv.example.com TLSv1.3 0"; lp["tls"] != want {
		t.Errorf("luaproxy over TLS: %q, want %q", lp["tls"], want)
	}
}

// TestTLSHTTPLogTimers: over TLS, %Th is the handshake and %Ti the idle
// time after it, before the first request (a client waiting 300 ms).
func TestTLSHTTPLogTimers(t *testing.T) {
	pki := newTestPKI(t)
	crt, _ := pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com"})
	sink := newSyslogSink(t, "tlshttp")
	const cfg = `
global
    nbthread 1
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    log "${SYSLOG}" local0
    log-format "tlshttp %ft %Th %Ti %TR %Tq %sslv %sslc"
    bind "127.0.0.1:${FE_PORT}" ssl crt "${CRT}"
    http-request return status 200
`
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"CRT": crt, "SYSLOG": sink.addr} })
	for _, im := range impls {
		c := must(tls.Dial("tcp", im.addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}))
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		_, _ = io.ReadAll(c)
		c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(sink.snapshot()) < len(impls) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	re := regexp.MustCompile(`^tlshttp fe~ \d{1,2} (29\d|3[0-4]\d) \d{1,2} (29\d|3[0-4]\d) TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256$`)
	lines := sink.snapshot()
	if len(lines) != len(impls) {
		t.Fatalf("log lines: %q", lines)
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("log line %q does not match %s", l, re)
		}
	}
}

// TestTLSHandshakeLogDontlognull: under "option dontlognull" a client
// closing during the handshake is not logged, a failed handshake is.
func TestTLSHandshakeLogDontlognull(t *testing.T) {
	pki := newTestPKI(t)
	crt, _ := pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com"})
	sink := newSyslogSink(t, "fe/")
	const cfg = `
global
    nbthread 1
defaults
    mode http
    option httplog
    option dontlognull
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    log "${SYSLOG}" local0
    bind "127.0.0.1:${FE_PORT}" ssl crt "${CRT}" name tls1
    http-request return status 200
`
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"CRT": crt, "SYSLOG": sink.addr} })
	for _, im := range impls {
		c := must(net.Dial("tcp", im.addr))
		c.Close() // closed without a word: not logged
		rawRequestTimeout(t, im.addr, "GET / HTTP/1.0\r\n\r\n", 5*time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	lines := sink.snapshot()
	if len(lines) != len(impls) {
		t.Fatalf("log lines: %q, want one per implementation", lines)
	}
	for _, l := range lines {
		if l != "fe/tls1: SSL handshake failure" {
			t.Errorf("log line %q", l)
		}
	}
}

// TestTLSCrtListDiff: a crt-list's SNI filters, positive and negative,
// choose the certificate instead of the certificates' own names.
func TestTLSCrtListDiff(t *testing.T) {
	pki := newTestPKI(t)
	pki.issue(t, "a.pem", certOpts{cn: "a.example.com", sans: []string{"a.example.com"}})
	pki.issue(t, "b.pem", certOpts{cn: "b.example.com", sans: []string{"b.example.com"}})
	pki.issue(t, "c.pem", certOpts{cn: "wild", sans: []string{"*.wild.example.com"}})
	list := filepath.Join(pki.dir, "list.txt")
	if err := os.WriteFile(list, []byte("# comment\na.pem\nc.pem [ssl-min-ver TLSv1.2] *.wild.example.com !secret.wild.example.com\nb.pem filtered.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const cfg = `
global
    nbthread 1
    crt-base "${DIR}"
defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend fe
    bind "127.0.0.1:${FE_PORT}" ssl crt-list "${LIST}"
    http-request return status 200 content-type text/plain lf-string "sni=%[ssl_fc_sni]"
`
	impls := startImpls(t, cfg, func(string) map[string]string { return map[string]string{"DIR": pki.dir, "LIST": list} })
	compareImpls(t, impls, func(im *impl) map[string]string {
		res := map[string]string{}
		for _, sni := range []string{"", "a.example.com", "b.example.com", "filtered.example.com", "x.wild.example.com",
			"secret.wild.example.com", "nothing.example.com"} {
			cn, r := tlsExchange(t, im.addr, clientTLS(sni), "/")
			res["sni "+sni] = cn + " | " + r
		}
		return res
	})
}

// TestTLSHandshakeTimeout: a client that never finishes its handshake is
// closed after "timeout client", and other clients are served
// meanwhile.
func TestTLSHandshakeTimeout(t *testing.T) {
	pki := newTestPKI(t)
	crt, _ := pki.issue(t, "srv.pem", certOpts{cn: "srv.example.com"})
	p := startProxy(t, `
defaults
    mode http
    timeout client 300ms
frontend fe
    bind 127.0.0.1:0 ssl crt `+crt+`
    http-request return status 200 content-type text/plain string ok
`, nil)
	stuck := must(net.Dial("tcp", p.addr(0)))
	defer stuck.Close()
	_, _ = stuck.Write([]byte{0x16, 0x03, 0x01}) // the start of a record, never finished
	start := time.Now()
	if _, r := tlsExchange(t, p.addr(0), clientTLS(""), "/"); r != "200 ok" {
		t.Errorf("another client: %q", r)
	}
	_ = stuck.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := stuck.Read(make([]byte, 1))
	if el := time.Since(start); err == nil || el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("stuck handshake ended after %v with %v, want a close after about 300ms", el, err)
	}
}
