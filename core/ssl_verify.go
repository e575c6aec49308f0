package core

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// OpenSSL's X509_V_ERR_* codes, as ssl_c_verify, ssl_c_err and
// ssl_c_ca_err return them and crt-ignore-err/ca-ignore-err name them.
const (
	x509OK                    = 0
	x509CertNotYetValid       = 9
	x509CertHasExpired        = 10
	x509DepthZeroSelfSigned   = 18
	x509SelfSignedInChain     = 19
	x509UnableToGetIssuerCert = 20
	x509UnableToVerifyLeaf    = 21
	x509InvalidPurpose        = 26
)

var x509ErrTexts = map[int]string{
	x509OK:                    "ok",
	x509CertNotYetValid:       "certificate is not yet valid",
	x509CertHasExpired:        "certificate has expired",
	x509DepthZeroSelfSigned:   "self-signed certificate",
	x509SelfSignedInChain:     "self-signed certificate in certificate chain",
	x509UnableToGetIssuerCert: "unable to get local issuer certificate",
	x509UnableToVerifyLeaf:    "unable to verify the first certificate",
	x509InvalidPurpose:        "unsupported certificate purpose",
}

func x509ErrText(code int) string { return x509ErrTexts[code] }

// verifyResult is the outcome of a client certificate's verification.
type verifyResult struct {
	code int // X509_V_ERR_*, 0 when verified (or no certificate)
	// first is the first error OpenSSL's callback saw (ssl_c_err,
	// ssl_c_ca_err), code being its final verdict (ssl_c_verify).
	first int
	depth int // where in the chain the error is: 0 the client's own
	// fatal tells that the error is not ignored: the handshake fails.
	fatal bool
}

// verifyPeer verifies a client's certificate chain against the bind's
// CA file, as OpenSSL with HAProxy's verify callback does: an error at
// depth 0 is a certificate error (crt-ignore-err), deeper a CA error
// (ca-ignore-err).
func (t *bindTLS) verifyPeer(chain []*x509.Certificate) verifyResult {
	if len(chain) == 0 || t.roots == nil {
		return verifyResult{}
	}
	opts := x509.VerifyOptions{Roots: t.roots, Intermediates: x509.NewCertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	if err == nil {
		return verifyResult{}
	}
	r := verifyResult{code: x509UnableToVerifyLeaf}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		last := chain[len(chain)-1]
		r.depth = len(chain) - 1
		switch {
		case len(chain) == 1 && selfSigned(last):
			r.code = x509DepthZeroSelfSigned
		case len(chain) == 1:
			// HAProxy compat: OpenSSL's callback sees "unable to get
			// the issuer" first, then gives its verdict for a lone
			// certificate from an unknown issuer
			r.first, r.code = x509UnableToGetIssuerCert, x509UnableToVerifyLeaf
		case selfSigned(last):
			r.code = x509SelfSignedInChain
		default:
			r.code = x509UnableToGetIssuerCert
		}
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			r.code, r.depth = x509CertHasExpired, 0
			now := time.Now()
			for i, c := range chain {
				if now.Before(c.NotBefore) {
					r.code, r.depth = x509CertNotYetValid, i
					break
				}
				if now.After(c.NotAfter) {
					r.depth = i
					break
				}
			}
		case x509.IncompatibleUsage:
			r.code = x509InvalidPurpose
		}
	}
	if r.first == 0 {
		r.first = r.code
	}
	if r.depth > 0 {
		r.fatal = !t.caIgnoreAll && !(t.caIgnore[r.code] && t.caIgnore[r.first])
	} else {
		r.fatal = !t.crtIgnoreAll && !(t.crtIgnore[r.code] && t.crtIgnore[r.first])
	}
	return r
}

// selfSigned tells whether c is signed by its own key (whether or not
// it is a CA).
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// clientTLS returns the TLS connection of the stream's client, if any.
func (s *Stream) clientTLS() *tls.Conn {
	tc, _ := s.Client.(*tls.Conn)
	return tc
}

// handshake runs the TLS handshake of a connection accepted by a "bind
// ... ssl" listener, bounded by the frontend's client timeout. It
// returns nil when the handshake failed (the connection is closed and
// the failure logged), else the connection and when it was accepted
// (the stream's start: its timers count the handshake, as %Th).
func (e *Engine) handshake(px *Proxy, b *Bind, c net.Conn) (net.Conn, time.Time) {
	tc := tls.Server(c, b.tls.cfg)
	accepted := tick()
	if d := px.Timeouts.Client; d > 0 {
		_ = c.SetDeadline(accepted.Add(d))
	}
	err := tc.Handshake()
	if err != nil {
		_ = c.Close()
		px.hsFailed.Add(1)
		e.logHandshakeFailure(px, b, c, accepted, err)
		return nil, time.Time{}
	}
	_ = c.SetDeadline(time.Time{})
	return tc, accepted
}

// verifyError is a client certificate refused by verifyPeer.
type verifyError struct{ r verifyResult }

func (e *verifyError) Error() string { return "client certificate: " + x509ErrText(e.r.code) }

// handshakeErrCode classifies a failed handshake as HAProxy's connection
// error codes do (CO_ER_SSL_*), by their index in connErrors.
func handshakeErrCode(err error) string {
	var ve *verifyError
	var ne net.Error
	switch {
	case errors.As(err, &ve) && ve.r.depth > 0:
		return "SSL_CA_FAIL"
	case errors.As(err, &ve):
		return "SSL_CRT_FAIL"
	case errors.As(err, &ne) && ne.Timeout():
		return "SSL_TIMEOUT"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "SSL_EMPTY"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "SSL_ABORT"
	}
	return "SSL_HANDSHAKE"
}

// logHandshakeFailure sends the line HAProxy sends for a connection
// that died before its session started (sess_log_embryonic):
// "<addr>:<port> [<accept date>] <frontend>/<listener>: <error>".
// "option dontlognull" drops the connections closed or aborted without
// a word.
func (e *Engine) logHandshakeFailure(px *Proxy, b *Bind, c net.Conn, at time.Time, err error) {
	e.logEmbryonic(px, b, addrPortOf(c.RemoteAddr()), at, handshakeErrCode(err))
}

// logEmbryonic sends HAProxy's line for a connection that died before
// its session started, with the connection error code's text (the
// fc_err_str table): "<addr>:<port> [<accept date>] <frontend>/<listener
// name or id>: <error>". "option dontlognull" drops the connections that
// closed or aborted without a word.
func (e *Engine) logEmbryonic(px *Proxy, b *Bind, src netip.AddrPort, at time.Time, code string) {
	if len(px.Logs) == 0 {
		return
	}
	if px.Options.DontLogNull && (strings.HasSuffix(code, "_EMPTY") || strings.HasSuffix(code, "_ABORT")) {
		return
	}
	msg := code
	for _, ce := range connErrors {
		if ce.name == code {
			msg = ce.msg
		}
	}
	name := bindOption(b, "name")
	if name == "" {
		name = strconv.Itoa(bindID(b))
	}
	line := fmt.Sprintf("%s:%d [%s] %s/%s: %s", src.Addr().Unmap(), src.Port(),
		at.Format("02/Jan/2006:15:04:05.000"), px.Name, name, msg)
	px.SendLog(e, LogInfo, line)
}
