package core

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"luaproxy/core/config"
)

// Verify modes of "verify" on a bind line.
const (
	verifyNone = iota
	verifyOptional
	verifyRequired
)

// bindTLS is the TLS side of a "bind ... ssl" line: the settings parsed
// from the line, then (buildBindTLS) the Go configuration.
type bindTLS struct {
	ssl       bool       // "ssl": the listener deciphers
	crts      []crtEntry // "crt" and "crt-list" entries, crt-base applied
	alpn      []string
	caFile    string
	verify    int
	verifySet bool
	strictSNI bool
	// caIgnore and crtIgnore are ca-ignore-err and crt-ignore-err:
	// verify error codes (X509_V_ERR_*) let through, all when *All.
	caIgnore, crtIgnore       map[int]bool
	caIgnoreAll, crtIgnoreAll bool
	settings                  tlsSettings

	cfg   *tls.Config
	certs certStore
	roots *x509.CertPool
}

// crtEntry is a certificate file or directory to load, with the SNI
// filters of its crt-list line (none: its own names).
type crtEntry struct {
	path    string
	filters []string
}

// bindOptArgs are the bind options taking an argument (true) or not
// (false); the protocol options (ssl-min-ver, no-tlsv10, ...) are
// tlsSettings.parseOption's.
var bindOptArgs = map[string]bool{
	"name": true, "id": true, "maxconn": true,
	"crt": true, "crt-list": true, "ca-file": true, "ca-verify-file": true, "crl-file": true,
	"ciphers": true, "ciphersuites": true, "alpn": true, "npn": true, "verify": true,
	"crt-ignore-err": true, "ca-ignore-err": true, "curves": true, "ecdhe": true,
	"tls-ticket-keys": true, "sigalgs": true, "client-sigalgs": true,
	"ssl": false, "strict-sni": false, "generate-certificates": false,
	"accept-proxy": false, "v4v6": false,
}

// missingArg are HAProxy's messages for a bind option without its value.
var missingArg = map[string]string{
	"crt": "missing certificate location", "crt-list": "missing certificate location",
	"ca-file": "missing CAfile path", "ca-verify-file": "missing CAverify path",
	"crl-file": "missing CRLfile path", "ciphers": "missing cipher suite",
	"ciphersuites": "missing cipher suite", "alpn": "missing the comma-delimited ALPN protocol suite",
	"npn": "missing the comma-delimited NPN protocol suite", "verify": "missing verify method",
	"crt-ignore-err": "missing error IDs list", "ca-ignore-err": "missing error IDs list",
	"curves": "missing curve suite", "ecdhe": "missing named curve",
	"sigalgs": "missing signature algorithm list", "client-sigalgs": "missing signature algorithm list",
	"tls-ticket-keys": "missing TLS ticket keys file path",
}

// parseBindOptions reads the options after a bind line's address into b.
func (e *Engine) parseBindOptions(px *Proxy, b *Bind) error {
	l := b.Line
	args := l.Args
	where := fmt.Sprintf("'bind %s' in section '%s'", args[1], px.Kind)
	b.opts = map[string]string{}
	var t bindTLS
	for i := 2; i < len(args); i++ {
		kw := args[i]
		n, bad, err := t.settings.parseOption(args, i)
		switch {
		case err != nil:
			return l.Errorf("%s : '%s' : missing the ssl/tls version", where, kw)
		case bad != "":
			return l.Errorf("%s : '%s' : unknown ssl/tls version", where, bad)
		case n > 0:
			if kw == "strict-sni" {
				t.strictSNI = true
			}
			i += n - 1
			continue
		}
		takesArg, known := bindOptArgs[kw]
		if !known {
			return l.Errorf("%s : unsupported option '%s'", where, kw)
		}
		if !takesArg {
			switch kw {
			case "ssl":
				t.ssl = true
			case "accept-proxy":
				b.AcceptProxy = true // the PROXY header comes first (proxyproto.go)
			case "strict-sni":
				t.strictSNI = true
			case "generate-certificates":
				return l.Errorf("%s : '%s' is not supported", where, kw)
			}
			continue
		}
		if i+1 >= len(args) {
			if msg, ok := missingArg[kw]; ok {
				return l.Errorf("%s : '%s' : %s", where, kw, msg)
			}
			return l.Errorf("%s : '%s' : missing value", where, kw)
		}
		i++
		v := args[i]
		switch kw {
		case "maxconn":
			if atol(v) < 0 {
				return l.Errorf("%s : 'maxconn' : invalid value %s, must be >= 0", where, v)
			}
		case "id":
			if n, err := strconv.Atoi(v); err != nil || n <= 0 {
				return l.Errorf("%s : 'id' : expects a positive integer", where)
			}
		case "crt":
			p := basePath(e.ssl.crtBase, v)
			if _, err := os.Stat(p); err != nil {
				return l.Errorf("%s : unable to stat SSL certificate from file '%s' : %s.", where, p, errnoText(err))
			}
			t.crts = append(t.crts, crtEntry{path: p})
		case "crt-list":
			p := basePath(e.ssl.crtBase, v)
			files, opts, err := readCrtList(p, e.ssl.crtBase)
			if err != nil {
				return l.Errorf("%s : 'crt-list' : %v", where, err)
			}
			if opts {
				e.warn(l.Warnf("%s : 'crt-list' : the per-line SSL options of '%s' are not supported and are ignored.", where, p))
			}
			t.crts = append(t.crts, files...)
		case "ca-file", "ca-verify-file":
			p := basePath(e.ssl.caBase, v)
			if _, err := os.ReadFile(p); err != nil {
				e.Log.Alert("config : Couldn't open the ca-file '%s' (%s).", p, errnoText(err))
				return l.Errorf("%s : '%s' : unable to load %s", where, kw, p)
			}
			if kw == "ca-file" {
				t.caFile = p
			}
		case "crl-file", "tls-ticket-keys", "npn", "curves", "ecdhe", "sigalgs", "client-sigalgs":
			e.warn(l.Warnf("%s : '%s' is not supported (Go's crypto/tls) and is ignored", where, kw))
		case "ciphers":
			t.settings.ciphers, t.settings.ciphersLine = v, l
		case "ciphersuites":
			t.settings.suites, t.settings.suitesLine = v, l
		case "alpn":
			t.alpn = strings.Split(v, ",")
		case "verify":
			switch v {
			case "none":
				t.verify = verifyNone
			case "optional":
				t.verify = verifyOptional
			case "required":
				t.verify = verifyRequired
			default:
				return l.Errorf("%s : 'verify' : unknown verify method '%s', only 'none', 'optional', and 'required' are supported", where, v)
			}
			t.verifySet = true
		case "crt-ignore-err", "ca-ignore-err":
			all, set, err := parseIgnoreErr(v)
			if err != nil {
				return l.Errorf("%s : '%s' : %v", where, kw, err)
			}
			if kw == "crt-ignore-err" {
				t.crtIgnoreAll, t.crtIgnore = all, set
			} else {
				t.caIgnoreAll, t.caIgnore = all, set
			}
		}
		b.opts[kw] = v
	}
	if t.ssl || len(t.crts) > 0 {
		b.tls = &t
	}
	return nil
}

// parseIgnoreErr reads a crt-ignore-err/ca-ignore-err list: "all" or
// comma-separated error ids.
func parseIgnoreErr(v string) (all bool, set map[int]bool, err error) {
	if v == "all" {
		return true, nil, nil
	}
	set = map[int]bool{}
	for _, f := range strings.Split(v, ",") {
		n, _ := strconv.Atoi(f)
		if n < 1 || n > 94 {
			return false, nil, fmt.Errorf("ID '%d' out of range (1..94) in error IDs list '%s'", n, v)
		}
		set[n] = true
	}
	return false, set, nil
}

// readCrtList reads a crt-list file: per line a certificate, its SSL
// options between brackets (not applied: opts tells there were some)
// and its SNI filters.
func readCrtList(p, base string) (out []crtEntry, opts bool, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false, fmt.Errorf("cannot open file '%s' : %s", p, errnoText(err))
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		ent := crtEntry{path: basePath(base, f[0])}
		inOpts := false
		for _, w := range f[1:] {
			switch {
			case strings.HasPrefix(w, "["):
				inOpts, opts = !strings.HasSuffix(w, "]"), opts || w != "[]"
			case inOpts:
				inOpts = !strings.HasSuffix(w, "]")
			default:
				ent.filters = append(ent.filters, w)
			}
		}
		out = append(out, ent)
	}
	return out, opts, nil
}

// errnoText is strerror's text of an OS error, as HAProxy prints it.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// buildBindTLS checks a bind's TLS settings against the global defaults
// and makes its Go configuration, once the whole file is read (as
// HAProxy's post-parsing checks).
func (e *Engine) buildBindTLS(px *Proxy, b *Bind) error {
	t := b.tls
	loc := fmt.Sprintf("bind '%s' at [%s]", b.Line.Args[1], b.Line.String())
	for _, ce := range t.crts {
		t.certs.filters = ce.filters
		err := t.certs.load(ce.path)
		t.certs.filters = nil
		if err != nil {
			return b.Line.Errorf("'bind %s' in section '%s' : %v", b.Line.Args[1], px.Kind, err)
		}
	}
	if !t.ssl {
		return nil // HAProxy compat: certificates loaded, not used
	}
	if len(t.certs.list) == 0 {
		return fmt.Errorf("Proxy '%s': no SSL certificate specified for %s (use 'crt').", px.Name, loc)
	}
	if t.verify != verifyNone && t.caFile == "" {
		return fmt.Errorf("Proxy '%s': verify is enabled but no CA file specified for %s.", px.Name, loc)
	}
	ts := t.settings.over(e.ssl.bind)
	cfg := &tls.Config{GetCertificate: t.getCertificate, SessionTicketsDisabled: ts.noTickets}
	cfg.MinVersion, cfg.MaxVersion = ts.versions(tls.VersionTLS12)
	if ts.ciphers != "" {
		cl, ok := parseCiphers(ts.ciphers)
		if !ok {
			return fmt.Errorf("Proxy '%s': unable to set SSL cipher list to '%s' for %s.", px.Name, ts.ciphers, loc)
		}
		e.warnCiphers(ts.ciphersLine, ts.ciphers, cl)
		cfg.CipherSuites = cl.suites
	}
	if ts.suites != "" {
		if _, ok := parseSuites(ts.suites); !ok {
			return fmt.Errorf("Proxy '%s': unable to set TLS 1.3 cipher suites to '%s' for %s.", px.Name, ts.suites, loc)
		}
	}
	for _, p := range t.alpn {
		// h2 is not served: offering it would make clients speak it.
		if p == "h2" && px.Mode == "http" {
			e.warnOnce("alpn-h2", b.Line.Warnf("'bind %s' : ALPN 'h2' is not offered: HTTP/2 is not supported, clients use http/1.1.", b.Line.Args[1]))
			continue
		}
		cfg.NextProtos = append(cfg.NextProtos, p)
	}
	if t.caFile != "" {
		pool, err := loadCAFile(t.caFile)
		if err != nil {
			return b.Line.Errorf("'bind %s' in section '%s' : 'ca-file' : unable to load %s", b.Line.Args[1], px.Kind, t.caFile)
		}
		t.roots = pool
		// its names are sent in the certificate request, as OpenSSL
		// does (the modes below never verify against them)
		cfg.ClientCAs = pool
	}
	switch t.verify {
	case verifyOptional:
		cfg.ClientAuth = tls.RequestClientCert
	case verifyRequired:
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	if t.verify != verifyNone {
		// Verified here rather than by crypto/tls: ca-ignore-err and
		// crt-ignore-err let chosen errors through, as OpenSSL's verify
		// callback in HAProxy does.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if r := t.verifyPeer(cs.PeerCertificates); r.fatal {
				return &verifyError{r}
			}
			return nil
		}
	}
	t.cfg = cfg
	return nil
}

// warnCiphers says what of a cipher list Go cannot apply.
func (e *Engine) warnCiphers(l config.Line, s string, cl cipherList) {
	if cl.aliases {
		e.warnOnce("ciphers:"+s, l.Warnf("cipher list '%s' uses OpenSSL aliases, which are not evaluated: Go's default cipher suites are used.", s))
	} else if len(cl.unsupported) > 0 {
		e.warnOnce("ciphers:"+s, l.Warnf("ciphers '%s' are not implemented by Go's crypto/tls and are not offered.", strings.Join(cl.unsupported, ":")))
	}
}

// warnOnce sends a configuration warning once per key.
func (e *Engine) warnOnce(key string, w *config.Error) {
	if e.warned == nil {
		e.warned = map[string]bool{}
	}
	if !e.warned[key] {
		e.warned[key] = true
		e.warn(w)
	}
}

// loadCAFile reads a PEM bundle of CA certificates.
func loadCAFile(p string) (*x509.CertPool, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no certificate in %s", p)
	}
	return pool, nil
}

// certStore is a bind's certificates, indexed for SNI as HAProxy does:
// by the DNS names of their subjectAltName and the CNs of their subject,
// exact names before wildcards, the first certificate loaded being the
// default.
type certStore struct {
	list  []*tls.Certificate
	exact map[string]*tls.Certificate
	wild  map[string]*tls.Certificate // "*.example.com" under "example.com"
	// filters are the SNI filters of the crt-list line being loaded:
	// the names to index the certificates under instead of their own,
	// "!name" excluding one.
	filters []string
	// neg are the names a negative filter keeps from matching the
	// wildcards of the certificates listed.
	neg map[string][]*tls.Certificate
}

// load reads a PEM file (certificate chain and key; the key may be in
// "<file>.key"), or every file of a directory in name order.
func (cs *certStore) load(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("unable to stat SSL certificate from file '%s' : %s.", p, errnoText(err))
	}
	if !fi.IsDir() {
		return cs.loadFile(p)
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return fmt.Errorf("unable to scan directory '%s' : %s.", p, errnoText(err))
	}
	names := make([]string, 0, len(ents))
	for _, de := range ents {
		n := de.Name()
		// HAProxy compat: the companion files are not certificates
		switch filepath.Ext(n) {
		case ".key", ".ocsp", ".issuer", ".sctl":
			continue
		}
		if strings.HasPrefix(n, ".") || de.IsDir() {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := cs.loadFile(filepath.Join(p, n)); err != nil {
			return err
		}
	}
	return nil
}

func (cs *certStore) loadFile(p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("unable to stat SSL certificate from file '%s' : %s.", p, errnoText(err))
	}
	var certPEM, keyPEM []byte
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		enc := pem.EncodeToMemory(blk)
		switch {
		case blk.Type == "CERTIFICATE":
			certPEM = append(certPEM, enc...)
		case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
			keyPEM = append(keyPEM, enc...)
		}
	}
	if len(certPEM) == 0 {
		return fmt.Errorf("unable to load certificate from file '%s'.", p)
	}
	if len(keyPEM) == 0 {
		// HAProxy compat: the key may be in "<file>.key"
		kp := p + ".key"
		kdata, err := os.ReadFile(kp)
		if err != nil {
			return fmt.Errorf("No Private Key found in '%s'.", kp)
		}
		keyPEM = kdata
	}
	crt, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("inconsistencies between private key and certificate loaded from PEM file '%s'.", p)
	}
	leaf, err := x509.ParseCertificate(crt.Certificate[0])
	if err != nil {
		return fmt.Errorf("unable to load certificate from file '%s'.", p)
	}
	crt.Leaf = leaf
	cs.add(&crt)
	return nil
}

func (cs *certStore) add(c *tls.Certificate) {
	if cs.exact == nil {
		cs.exact, cs.wild = map[string]*tls.Certificate{}, map[string]*tls.Certificate{}
	}
	cs.list = append(cs.list, c)
	names := append([]string(nil), c.Leaf.DNSNames...)
	if cn := c.Leaf.Subject.CommonName; cn != "" {
		names = append(names, cn)
	}
	if len(cs.filters) > 0 {
		names = nil
		for _, f := range cs.filters {
			if !strings.HasPrefix(f, "!") {
				names = append(names, f)
				continue
			}
			// HAProxy compat: a negative filter keeps the name from
			// matching this certificate's wildcards
			if cs.neg == nil {
				cs.neg = map[string][]*tls.Certificate{}
			}
			n := strings.ToLower(f[1:])
			cs.neg[n] = append(cs.neg[n], c)
		}
	}
	for _, n := range names {
		n = strings.ToLower(n)
		m := cs.exact
		if strings.HasPrefix(n, "*.") {
			m, n = cs.wild, n[2:]
		}
		if _, dup := m[n]; !dup {
			m[n] = c // the first certificate loaded for a name wins
		}
	}
}

// lookup returns the certificate for an SNI name: an exact match, else a
// wildcard one, else nil.
func (cs *certStore) lookup(name string) *tls.Certificate {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c := cs.exact[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		if c := cs.wild[name[i+1:]]; c != nil && !slices.Contains(cs.neg[name], c) {
			return c
		}
	}
	return nil
}

// getCertificate chooses the certificate for a handshake.
func (t *bindTLS) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName != "" {
		if c := t.certs.lookup(hello.ServerName); c != nil {
			return c, nil
		}
	}
	if t.strictSNI {
		return nil, errors.New("no certificate for the server name (strict-sni)")
	}
	return t.certs.list[0], nil
}
