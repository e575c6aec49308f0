package core

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"luaproxy/core/config"
)

// TLS with Go's crypto/tls, configured as HAProxy's OpenSSL layer is:
// the global ssl-default-* settings and the ca-base/crt-base directories
// (this file), "bind ... ssl" (ssl_bind.go), "server ... ssl"
// (ssl_server.go) and the ssl_* fetches (fetches_ssl.go).

// sslGlobal is what the global section says about TLS.
type sslGlobal struct {
	// caBase and crtBase prefix the relative ca-file and crt paths.
	caBase, crtBase string
	// bind and server are the ssl-default-{bind,server}-* settings, the
	// base every bind and server line starts from.
	bind, server tlsSettings
	// serverVerifyNone is "ssl-server-verify none".
	serverVerifyNone bool
}

// tlsSettings are the protocol settings shared by binds, servers and
// their global defaults.
type tlsSettings struct {
	// minVer and maxVer are ssl-min-ver and ssl-max-ver (0: unset).
	minVer, maxVer uint16
	// noVer are the versions a no-sslv3/no-tlsv1x disabled, as bits
	// (1 << (version - tls.VersionTLS10)); force selects one version.
	noVer uint8
	force uint16
	// noTickets is no-tls-tickets.
	noTickets bool
	// ciphers and suites are the ciphers (TLSv1.2 and below) and
	// ciphersuites (TLSv1.3) strings; the *Line they come from.
	ciphers, suites         string
	ciphersLine, suitesLine config.Line
}

// tlsVersions are the names ssl-min-ver and ssl-max-ver accept.
// HAProxy compat: SSLv3 is accepted, Go has no SSLv3 and the lowest
// version served is TLSv1.0.
var tlsVersions = map[string]uint16{
	"SSLv3": tls.VersionSSL30, "TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// tlsVersionName is ssl_fc_protocol's spelling of a version (OpenSSL's).
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "SSLv3"
}

// parseTLSOption applies one protocol option of a bind or server line,
// or of ssl-default-*-options, at args[i]. It returns how many arguments
// it used (0: not a protocol option) and the bad version for
// ssl-min-ver/ssl-max-ver.
func (ts *tlsSettings) parseOption(args []string, i int) (used int, badVer string, err error) {
	switch kw := args[i]; kw {
	case "ssl-min-ver", "ssl-max-ver":
		if i+1 >= len(args) {
			return 1, "", fmt.Errorf("'%s' : missing the version argument", kw)
		}
		v, ok := tlsVersions[args[i+1]]
		if !ok {
			return 2, args[i+1], nil
		}
		if kw == "ssl-min-ver" {
			ts.minVer = v
		} else {
			ts.maxVer = v
		}
		return 2, "", nil
	case "no-sslv3":
		return 1, "", nil // never served by Go
	case "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13":
		ts.noVer |= 1 << (tlsVersions["TLSv1."+kw[len(kw)-1:]] - tls.VersionTLS10)
		return 1, "", nil
	case "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13":
		ts.force = tls.VersionTLS10
		if kw != "force-sslv3" {
			ts.force = tlsVersions["TLSv1."+kw[len(kw)-1:]]
		}
		return 1, "", nil
	case "no-tls-tickets":
		ts.noTickets = true
		return 1, "", nil
	case "prefer-client-ciphers", "strict-sni", "allow-0rtt", "no-ca-names", "no-renegotiation",
		"ssl-reuse", "no-ssl-reuse", "tls-tickets", "no-send-proxy-v2-ssl":
		// HAProxy compat: accepted; Go's server has no renegotiation and
		// picks its own cipher order. strict-sni is read by the bind.
		if kw == "tls-tickets" {
			ts.noTickets = false
		}
		return 1, "", nil
	}
	return 0, "", nil
}

// versions returns the MinVersion and MaxVersion for Go, from the
// settings and the default minimum.
func (ts *tlsSettings) versions(defMin uint16) (lo, hi uint16) {
	if ts.force != 0 {
		return ts.force, ts.force
	}
	lo, hi = defMin, tls.VersionTLS13
	if ts.minVer != 0 {
		lo = ts.minVer
	}
	if ts.maxVer != 0 {
		hi = ts.maxVer
	}
	if lo < tls.VersionTLS10 {
		lo = tls.VersionTLS10
	}
	if hi < tls.VersionTLS10 {
		hi = tls.VersionTLS10
	}
	// no-tlsv1x on the edges narrows the range (Go has no holes)
	for lo < hi && ts.noVer&(1<<(lo-tls.VersionTLS10)) != 0 {
		lo++
	}
	for hi > lo && ts.noVer&(1<<(hi-tls.VersionTLS10)) != 0 {
		hi--
	}
	return lo, hi
}

// merge returns d overridden by what ts sets.
func (ts tlsSettings) over(d tlsSettings) tlsSettings {
	out := d
	if ts.minVer != 0 {
		out.minVer = ts.minVer
	}
	if ts.maxVer != 0 {
		out.maxVer = ts.maxVer
	}
	if ts.force != 0 {
		out.force = ts.force
	}
	out.noVer |= ts.noVer
	out.noTickets = out.noTickets || ts.noTickets
	if ts.ciphers != "" {
		out.ciphers, out.ciphersLine = ts.ciphers, ts.ciphersLine
	}
	if ts.suites != "" {
		out.suites, out.suitesLine = ts.suites, ts.suitesLine
	}
	return out
}

func init() {
	for _, kw := range []string{"ca-base", "crt-base"} {
		RegisterGlobal(kw, func(e *Engine, l config.Line) error {
			if len(l.Args) != 2 {
				return l.Errorf("global statement '%s' expects a directory path as an argument.", l.Args[0])
			}
			if l.Args[0] == "ca-base" {
				if e.ssl.caBase != "" {
					return l.Errorf("'%s' already specified.", l.Args[0])
				}
				e.ssl.caBase = l.Args[1]
			} else {
				if e.ssl.crtBase != "" {
					return l.Errorf("'%s' already specified.", l.Args[0])
				}
				e.ssl.crtBase = l.Args[1]
			}
			return nil
		})
	}
	for _, side := range []string{"bind", "server"} {
		side := side
		target := func(e *Engine) *tlsSettings {
			if side == "bind" {
				return &e.ssl.bind
			}
			return &e.ssl.server
		}
		RegisterGlobal("ssl-default-"+side+"-ciphers", func(e *Engine, l config.Line) error {
			if len(l.Args) != 2 {
				return l.Errorf("global statement '%s' expects a cipher suite as an argument.", l.Args[0])
			}
			ts := target(e)
			ts.ciphers, ts.ciphersLine = l.Args[1], l
			return nil
		})
		RegisterGlobal("ssl-default-"+side+"-ciphersuites", func(e *Engine, l config.Line) error {
			if len(l.Args) != 2 {
				return l.Errorf("global statement '%s' expects a cipher suite as an argument.", l.Args[0])
			}
			ts := target(e)
			ts.suites, ts.suitesLine = l.Args[1], l
			return nil
		})
		RegisterGlobal("ssl-default-"+side+"-options", func(e *Engine, l config.Line) error {
			ts := target(e)
			for i := 1; i < len(l.Args); {
				n, bad, err := ts.parseOption(l.Args, i)
				switch {
				case err != nil:
					return l.Errorf("%v on global statement '%s'.", err, l.Args[0])
				case bad != "":
					return l.Errorf("'%s' : unknown ssl/tls version on global statement '%s'.", bad, l.Args[0])
				case n == 0:
					return l.Errorf("unknown option '%s' on global statement '%s'.", l.Args[i], l.Args[0])
				}
				i += n
			}
			return nil
		})
		// Curves: Go negotiates its own. (The sigalgs keywords came
		// after 2.6.)
		RegisterGlobal("ssl-default-"+side+"-curves", func(e *Engine, l config.Line) error {
			if len(l.Args) != 2 {
				return l.Errorf("global statement '%s' expects a curves suite as an arguments.", l.Args[0])
			}
			e.warn(l.Warnf("'%s' is not supported (Go's crypto/tls chooses them) and is ignored", l.Args[0]))
			return nil
		})
	}
	RegisterGlobal("ssl-server-verify", func(e *Engine, l config.Line) error {
		if len(l.Args) != 2 || (l.Args[1] != "none" && l.Args[1] != "required") {
			return l.Errorf("'%s' expects 'none' or 'required' as argument.", l.Args[0])
		}
		e.ssl.serverVerifyNone = l.Args[1] == "none"
		return nil
	})
	// Tunings of OpenSSL's caches and records: checked and accepted, Go
	// manages its own.
	for _, kw := range []string{"tune.ssl.cachesize", "tune.ssl.maxrecord", "tune.ssl.capture-buffer-size",
		"tune.ssl.capture-cipherlist-size", "tune.ssl.ssl-ctx-cache-size", "tune.ssl.ocsp-update.maxdelay",
		"tune.ssl.ocsp-update.mindelay", "tune.ssl.keylog"} {
		RegisterGlobal(kw, func(e *Engine, l config.Line) error {
			if len(l.Args) != 2 {
				return l.Errorf("'%s' expects an integer argument.", l.Args[0])
			}
			return nil
		})
	}
	RegisterGlobal("tune.ssl.default-dh-param", func(e *Engine, l config.Line) error {
		if len(l.Args) != 2 || atol(l.Args[1]) < 1024 {
			return l.Errorf("'%s' expects a value >= 1024.", l.Args[0])
		}
		return nil
	})
	RegisterGlobal("tune.ssl.lifetime", func(e *Engine, l config.Line) error {
		if len(l.Args) != 2 {
			return l.Errorf("'%s' expects its argument in seconds.", l.Args[0])
		}
		if _, err := config.ParseTime(l.Args[1], time.Second); err != nil {
			for _, r := range l.Args[1] {
				if r < '0' || r > '9' {
					return l.Errorf("unexpected character '%c' in argument to <%s>.", r, l.Args[0])
				}
			}
		}
		return nil
	})
	for _, kw := range []string{"tune.ssl.force-private-cache", "ssl-skip-self-issued-ca", "ssl-mode-async"} {
		RegisterGlobal(kw, func(e *Engine, l config.Line) error { return nil })
	}
	for _, kw := range []string{"ssl-dh-param-file", "ssl-load-extra-files", "ssl-engine", "ssl-security-level",
		"ssl-load-extra-del-ext", "ssl-propquery", "ssl-provider", "ssl-provider-path", "ssl-passphrase-cmd"} {
		RegisterGlobal(kw, func(e *Engine, l config.Line) error {
			e.warn(l.Warnf("'%s' is not supported yet and is ignored", l.Args[0]))
			return nil
		})
	}
}

// basePath prefixes a relative path with base (ca-base, crt-base), as
// HAProxy does.
func basePath(base, p string) string {
	if base == "" || strings.HasPrefix(p, "/") {
		return p
	}
	return strings.TrimSuffix(base, "/") + "/" + p
}
