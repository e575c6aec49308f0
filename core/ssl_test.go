package core

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"luaproxy/core/config"
)

// writeTestCert writes a self-signed certificate for cn (with sans) and
// its key into path, in one PEM file; without the key when noKey.
func writeTestCert(t *testing.T, path, cn string, sans []string, noKey bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: sans, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if !noKey {
		k, _ := x509.MarshalPKCS8PrivateKey(key)
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSSLConfigErrors checks the TLS keywords' errors, with HAProxy's
// messages; when haproxy is installed, "haproxy -c" must print the same
// line.
func TestSSLConfigErrors(t *testing.T) {
	dir := t.TempDir()
	crt := filepath.Join(dir, "a.pem")
	writeTestCert(t, crt, "a.example.com", nil, false)
	writeTestCert(t, filepath.Join(dir, "nokey.crt"), "b", nil, true)
	bind := "frontend f\n    mode http\n    bind 127.0.0.1:9443 "
	for _, c := range []struct{ name, cfg, want string }{
		{"bind options unknown", "global\n    ssl-default-bind-options foo\n",
			"parsing [t.cfg:2] : unknown option 'foo' on global statement 'ssl-default-bind-options'."},
		{"bind options version", "global\n    ssl-default-bind-options ssl-min-ver TLSv9\n",
			"parsing [t.cfg:2] : 'TLSv9' : unknown ssl/tls version on global statement 'ssl-default-bind-options'."},
		{"ciphers no arg", "global\n    ssl-default-bind-ciphers\n",
			"parsing [t.cfg:2] : global statement 'ssl-default-bind-ciphers' expects a cipher suite as an argument."},
		{"crt-base twice", "global\n    crt-base /a\n    crt-base /b\n", "parsing [t.cfg:3] : 'crt-base' already specified."},
		{"server-verify bad", "global\n    ssl-server-verify maybe\n",
			"parsing [t.cfg:2] : 'ssl-server-verify' expects 'none' or 'required' as argument."},
		{"dh-param small", "global\n    tune.ssl.default-dh-param 100\n",
			"parsing [t.cfg:2] : 'tune.ssl.default-dh-param' expects a value >= 1024."},
		{"lifetime bad", "global\n    tune.ssl.lifetime abc\n",
			"parsing [t.cfg:2] : unexpected character 'a' in argument to <tune.ssl.lifetime>."},
		{"cachesize no arg", "global\n    tune.ssl.cachesize\n",
			"parsing [t.cfg:2] : 'tune.ssl.cachesize' expects an integer argument."},
		{"curves no arg", "global\n    ssl-default-bind-curves\n",
			"parsing [t.cfg:2] : global statement 'ssl-default-bind-curves' expects a curves suite as an arguments."},
		{"ca-base no arg", "global\n    ca-base\n",
			"parsing [t.cfg:2] : global statement 'ca-base' expects a directory path as an argument."},
		{"bad cipher list", "global\n    ssl-default-bind-ciphers FOO:BAR\n" + bind + "ssl crt " + crt + "\n",
			"Proxy 'f': unable to set SSL cipher list to 'FOO:BAR' for bind '127.0.0.1:9443' at [t.cfg:5]."},
		{"bad ciphersuites", bind + "ssl crt " + crt + " ciphersuites NOPE\n",
			"Proxy 'f': unable to set TLS 1.3 cipher suites to 'NOPE' for bind '127.0.0.1:9443' at [t.cfg:3]."},
		{"no crt", bind + "ssl\n",
			"Proxy 'f': no SSL certificate specified for bind '127.0.0.1:9443' at [t.cfg:3] (use 'crt')."},
		{"missing crt", bind + "ssl crt " + dir + "/nope.pem\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : unable to stat SSL certificate from file '" + dir + "/nope.pem' : No such file or directory."},
		{"crt no key", bind + "ssl crt " + dir + "/nokey.crt\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : No Private Key found in '" + dir + "/nokey.crt.key'."},
		{"crt no arg", bind + "ssl crt " + crt + " crt\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'crt' : missing certificate location"},
		{"verify no ca", bind + "ssl crt " + crt + " verify required\n",
			"Proxy 'f': verify is enabled but no CA file specified for bind '127.0.0.1:9443' at [t.cfg:3]."},
		{"verify bad", bind + "ssl crt " + crt + " verify maybe\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'verify' : unknown verify method 'maybe', only 'none', 'optional', and 'required' are supported"},
		{"min ver bad", bind + "ssl crt " + crt + " ssl-min-ver TLSv1.9\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'TLSv1.9' : unknown ssl/tls version"},
		{"min ver no arg", bind + "ssl crt " + crt + " ssl-min-ver\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'ssl-min-ver' : missing the ssl/tls version"},
		{"alpn no arg", bind + "ssl crt " + crt + " alpn\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'alpn' : missing the comma-delimited ALPN protocol suite"},
		{"ignore-err range", bind + "ssl crt " + crt + " crt-ignore-err 10,foo\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'crt-ignore-err' : ID '0' out of range (1..94) in error IDs list '10,foo'"},
		{"crt-list missing", bind + "ssl crt-list /nonexist\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'crt-list' : cannot open file '/nonexist' : No such file or directory"},
		{"ca-file missing", bind + "ssl crt " + crt + " ca-file /nonexist verify optional\n",
			"parsing [t.cfg:3] : 'bind 127.0.0.1:9443' in section 'frontend' : 'ca-file' : unable to load /nonexist"},
		{"server verify default", "backend b\n    server s 127.0.0.1:1 ssl\n",
			"[t.cfg:2] : 'server b/s' : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default."},
		{"server verify bad", "backend b\n    server s 127.0.0.1:1 ssl verify maybe\n",
			"[t.cfg:2] : 'server b/s' : 'verify' : unknown verify method 'maybe', only 'none' and 'required' are supported."},
		{"server sni no arg", "backend b\n    server s 127.0.0.1:1 ssl verify none sni\n",
			"[t.cfg:2] : 'server b/s' : 'sni' : missing sni expression."},
		{"server crt missing", "backend b\n    server s 127.0.0.1:1 ssl verify none crt /nonexist\n",
			"[t.cfg:2] : 'server b/s' : unable to stat SSL certificate from file '/nonexist' : No such file or directory."},
		{"server ca-file missing", "backend b\n    server s 127.0.0.1:1 ssl ca-file /nonexist verify required\n",
			"[t.cfg:2] : 'server b/s' : Couldn't open the ca-file '/nonexist' (No such file or directory)."},
	} {
		t.Run(c.name, func(t *testing.T) {
			pc, err := config.Parse("t.cfg", []byte(c.cfg))
			if err != nil {
				t.Fatal(err)
			}
			err = New(NewLogger(&syncBuf{})).Load(pc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n  %v\nwant:\n  %s", err, c.want)
			}
			haproxySays(t, dir, c.cfg, c.want)
		})
	}
}

// haproxySays checks that "haproxy -c" prints want for cfg, when
// haproxy is installed.
func haproxySays(t *testing.T, dir, cfg, want string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return
	}
	sub := t.TempDir()
	if err := os.WriteFile(filepath.Join(sub, "t.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", "t.cfg")
	cmd.Dir = sub
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), want) {
		t.Errorf("haproxy -c does not say %q:\n%s", want, out)
	}
}

// TestSSLDebianDefaultConfig: the global section of Debian's packaged
// haproxy.cfg loads (it used to stop at "unknown keyword 'ca-base'").
func TestSSLDebianDefaultConfig(t *testing.T) {
	const cfg = `
global
	ca-base /etc/ssl/certs
	crt-base /etc/ssl/private
	ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
	ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
	ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
	tune.ssl.default-dh-param 2048
	tune.ssl.cachesize 20000
	tune.ssl.lifetime 300
defaults
	mode http
	timeout client 5s
`
	e, _ := loadEngine(t, cfg)
	if e.ssl.caBase != "/etc/ssl/certs" || e.ssl.crtBase != "/etc/ssl/private" {
		t.Errorf("bases: %q %q", e.ssl.caBase, e.ssl.crtBase)
	}
	b := e.ssl.bind
	if b.minVer != tls.VersionTLS12 || !b.noTickets || b.suites == "" {
		t.Errorf("bind defaults: %+v", b)
	}
}

// TestParseCiphers covers the mapping of OpenSSL cipher lists to Go's
// suites.
func TestParseCiphers(t *testing.T) {
	for _, c := range []struct {
		in          string
		ok, aliases bool
		suites, bad int
	}{
		{"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", true, false, 2, 0},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", true, false, 1, 1},
		{"HIGH:!aNULL:!MD5", true, true, 0, 0},
		{"ECDH+AESGCM:ECDH+CHACHA20", true, true, 0, 0},
		{"FOO:BAR", false, false, 0, 0},
		{"!ECDHE-RSA-AES128-GCM-SHA256", false, false, 0, 0},
	} {
		cl, ok := parseCiphers(c.in)
		if ok != c.ok || cl.aliases != c.aliases || len(cl.suites) != c.suites || len(cl.unsupported) != c.bad {
			t.Errorf("%s: ok=%v %+v", c.in, ok, cl)
		}
	}
}

// TestCertStoreSNI: names from SANs and CN, exact before wildcard, the
// first file loaded as the default.
func TestCertStoreSNI(t *testing.T) {
	dir := t.TempDir()
	writeTestCert(t, filepath.Join(dir, "1.pem"), "one.example.com", []string{"one.example.com", "*.w.example.com"}, false)
	writeTestCert(t, filepath.Join(dir, "2.pem"), "two.example.com", []string{"x.w.example.com"}, false)
	var cs certStore
	if err := cs.load(dir); err != nil {
		t.Fatal(err)
	}
	bt := &bindTLS{certs: cs}
	for name, want := range map[string]string{
		"": "one.example.com", "two.example.com": "two.example.com", "x.w.example.com": "two.example.com",
		"y.w.example.com": "one.example.com", "nope": "one.example.com", "TWO.example.com.": "two.example.com",
	} {
		c, err := bt.getCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil || c.Leaf.Subject.CommonName != want {
			t.Errorf("%q: %v %v, want %s", name, c.Leaf.Subject.CommonName, err, want)
		}
	}
	bt.strictSNI = true
	if _, err := bt.getCertificate(&tls.ClientHelloInfo{ServerName: "nope"}); err == nil {
		t.Error("strict-sni gave a certificate for an unknown name")
	}
}
