package core

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"luaproxy/core/sample"
)

// serverTLS is the TLS side of a "server ... ssl" line.
type serverTLS struct {
	ssl, noSSL      bool // "ssl" / "no-ssl"
	checkSSL        bool // "check-ssl" (checks over TLS even when the traffic is not)
	noCheckSSL      bool
	verify          string // "none", "required", "" (global default)
	caFile, crtFile string
	sni             string // the "sni" expression's text
	verifyHost      string
	checkSNI        string
	noReuse         bool
	alpn            []string
	settings        tlsSettings

	sniExpr *sample.Expr
	cfg     *tls.Config // the traffic's (nil: plain)
}

// serverSSLOpts are the server options handled here, and whether they
// take an argument.
var serverSSLOpts = map[string]bool{
	"ssl": false, "no-ssl": false, "check-ssl": false, "no-check-ssl": false,
	"ssl-reuse": false, "no-ssl-reuse": false, "verify": true, "ca-file": true, "crt": true,
	"sni": true, "verifyhost": true, "check-sni": true, "ciphers": true, "ciphersuites": true,
	"alpn": true, "check-alpn": true, "crl-file": true, "npn": true, "curves": true, "sigalgs": true,
	"client-sigalgs": true,
}

// parseServerSSLOpt reads the TLS option at opts[i] of a server line; it
// returns how many words it used (0: not a TLS option).
func (e *Engine) parseServerSSLOpt(srv *Server, opts []string, i int) (int, error) {
	l := srv.Line
	where := fmt.Sprintf("[%s] : 'server %s/%s'", l.String(), srv.Proxy.Name, srv.Name)
	if srv.tls == nil {
		srv.tls = &serverTLS{}
	}
	t := srv.tls
	kw := opts[i]
	n, bad, err := t.settings.parseOption(opts, i)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s : '%s' : missing the ssl/tls version.", where, kw)
	case bad != "":
		return 0, fmt.Errorf("%s : '%s' : unknown ssl/tls version.", where, bad)
	case n > 0:
		return n, nil
	}
	takesArg, ok := serverSSLOpts[kw]
	if !ok {
		return 0, nil
	}
	if !takesArg {
		switch kw {
		case "ssl":
			t.ssl = true
		case "no-ssl":
			t.ssl = false
		case "check-ssl":
			t.checkSSL = true
		case "no-check-ssl":
			t.checkSSL, t.noCheckSSL = false, true
		case "no-ssl-reuse":
			t.noReuse = true
		case "ssl-reuse":
			t.noReuse = false
		}
		return 1, nil
	}
	if i+1 >= len(opts) {
		msg := map[string]string{"sni": "missing sni expression", "verify": "missing verify method",
			"ca-file": "missing CAfile path", "crt": "missing certificate location",
			"verifyhost": "missing hostname", "check-sni": "missing SNI"}[kw]
		if msg == "" {
			msg = "missing value"
		}
		return 0, fmt.Errorf("%s : '%s' : %s.", where, kw, msg)
	}
	v := opts[i+1]
	switch kw {
	case "verify":
		if v != "none" && v != "required" {
			return 0, fmt.Errorf("%s : 'verify' : unknown verify method '%s', only 'none' and 'required' are supported.", where, v)
		}
		t.verify = v
	case "ca-file":
		p := basePath(e.ssl.caBase, v)
		if _, err := os.ReadFile(p); err != nil {
			return 0, fmt.Errorf("%s : Couldn't open the ca-file '%s' (%s).", where, p, errnoText(err))
		}
		t.caFile = p
	case "crt":
		p := basePath(e.ssl.crtBase, v)
		if _, err := os.Stat(p); err != nil {
			return 0, fmt.Errorf("%s : unable to stat SSL certificate from file '%s' : %s.", where, p, errnoText(err))
		}
		t.crtFile = p
	case "sni":
		x, err := sample.ParseExpr(v, e.scopeOf(srv.Proxy))
		if err != nil {
			return 0, fmt.Errorf("%s : error detected while parsing sni expression : %v", where, err)
		}
		t.sni, t.sniExpr = v, x
	case "verifyhost":
		t.verifyHost = v
	case "check-sni":
		t.checkSNI = v
	case "ciphers":
		t.settings.ciphers, t.settings.ciphersLine = v, l
	case "ciphersuites":
		t.settings.suites, t.settings.suitesLine = v, l
	case "alpn":
		t.alpn = strings.Split(v, ",")
	case "check-alpn", "crl-file", "npn", "curves", "sigalgs", "client-sigalgs":
		e.warn(l.Warnf("'server %s' : option '%s' is not supported (Go's crypto/tls) and is ignored.", srv.Name, kw))
	}
	return 2, nil
}

// buildServerTLS makes the Go client configurations of a server, once
// the whole file is read.
func (e *Engine) buildServerTLS(px *Proxy, srv *Server) error {
	t := srv.tls
	if t == nil || !t.ssl && !t.checkSSL {
		return nil
	}
	where := fmt.Sprintf("[%s] : 'server %s/%s'", srv.Line.String(), px.Name, srv.Name)
	verify := t.verify
	if verify == "" {
		verify = "required"
		if e.ssl.serverVerifyNone {
			verify = "none"
		}
	}
	if verify == "required" && t.caFile == "" {
		return fmt.Errorf("%s : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.", where)
	}
	ts := t.settings.over(e.ssl.server)
	cfg := &tls.Config{InsecureSkipVerify: true, SessionTicketsDisabled: ts.noTickets}
	cfg.MinVersion, cfg.MaxVersion = ts.versions(tls.VersionTLS12)
	if !t.noReuse {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	if ts.ciphers != "" {
		cl, ok := parseCiphers(ts.ciphers)
		if !ok {
			return fmt.Errorf("Proxy '%s': unable to set SSL cipher list to '%s' for server '%s'.", px.Name, ts.ciphers, srv.Name)
		}
		e.warnCiphers(ts.ciphersLine, ts.ciphers, cl)
		cfg.CipherSuites = cl.suites
	}
	for _, p := range t.alpn {
		if p == "h2" && px.Mode == "http" {
			continue // HTTP/2 to servers is not spoken
		}
		cfg.NextProtos = append(cfg.NextProtos, p)
	}
	if t.crtFile != "" {
		var cs certStore
		if err := cs.load(t.crtFile); err != nil {
			return fmt.Errorf("%s : %v", where, err)
		}
		crt := cs.list[0]
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return crt, nil }
	}
	if verify == "required" {
		roots, err := loadCAFile(t.caFile)
		if err != nil {
			return fmt.Errorf("%s : 'ca-file' : unable to load %s.", where, t.caFile)
		}
		host := t.verifyHost
		// HAProxy compat: the certificate's name is checked against the
		// SNI sent, else against verifyhost; with neither, only the
		// chain is verified.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(opts); err != nil {
				return err
			}
			name := cs.ServerName
			if name == "" {
				name = host
			}
			if name != "" {
				return leaf.VerifyHostname(name)
			}
			return nil
		}
	}
	if t.ssl {
		t.cfg = cfg
	}
	if t.checkSSL || t.ssl && !t.noCheckSSL && srv.Check.Port == 0 && srv.Check.Addr == "" {
		cc := cfg.Clone()
		cc.ServerName = t.checkSNI
		cc.ClientSessionCache = nil
		srv.checkTLS = cc
	}
	return nil
}

// dialTLS runs the TLS handshake of a new server connection, within the
// connect timeout; the SNI is evaluated in the stream's context.
func (s *Stream) dialTLS(srv *Server, c net.Conn, deadline time.Time) (net.Conn, error) {
	t := srv.tls
	cfg := t.cfg
	if t.sniExpr != nil {
		if name, ok := t.sniExpr.EvalString(s.SampleCtx()); ok && name != "" {
			cfg = cfg.Clone()
			cfg.ServerName = name
		}
	}
	tc := tls.Client(c, cfg)
	if !deadline.IsZero() {
		_ = c.SetDeadline(deadline)
	}
	var err error
	s.taskBlock(func() { err = tc.Handshake() })
	_ = c.SetDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return tc, nil
}

// serverTLSConn returns the TLS layer of a server connection (a new one
// or a pooled srvConn), nil for a plain one.
func serverTLSConn(c net.Conn) *tls.Conn {
	if sc, ok := c.(*srvConn); ok {
		c = sc.Conn
	}
	tc, _ := c.(*tls.Conn)
	return tc
}

// usesTLS tells whether the traffic to srv is ciphered.
func (srv *Server) usesTLS() bool { return srv.tls != nil && srv.tls.cfg != nil }
