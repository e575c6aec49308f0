package core

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"

	"luaproxy/core/sample"
)

// The ssl_* fetches of the client connection (ssl_fc*, ssl_c_*) and of
// the server one (ssl_bc*), typed as HAProxy's. On a connection without
// TLS, ssl_fc and ssl_fc_has_sni are false and the others fail.

// dnShortNames are OpenSSL's short names of the usual DN attributes.
var dnShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.46": "dnQualifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID",
}

func dnAttrName(a pkix.AttributeTypeAndValue) string {
	if n, ok := dnShortNames[a.Type.String()]; ok {
		return n
	}
	return a.Type.String()
}

// formatDN renders a DN as ssl_c_s_dn does: OpenSSL's one-line form
// "/C=FR/O=x/CN=y" by default, "CN=y,O=x,C=FR" for "rfc2253"; with an
// entry, that entry's value at occurrence occ (1: the first, -1: the
// last).
func formatDN(name pkix.Name, args []sample.Arg) (string, bool) {
	attrs := name.Names
	if len(args) > 0 && args[0].Str != "" {
		occ := -1
		if len(args) > 1 && args[1].Int != 0 {
			occ = int(args[1].Int)
		}
		var vals []string
		for _, a := range attrs {
			if strings.EqualFold(dnAttrName(a), args[0].Str) || a.Type.String() == args[0].Str {
				vals = append(vals, attrValue(a))
			}
		}
		i := occ - 1
		if occ < 0 {
			i = len(vals) + occ
		}
		if i < 0 || i >= len(vals) {
			return "", false
		}
		return vals[i], true
	}
	if len(args) > 2 && args[2].Str == "rfc2253" {
		parts := make([]string, 0, len(attrs))
		for i := len(attrs) - 1; i >= 0; i-- {
			parts = append(parts, dnAttrName(attrs[i])+"="+attrValue(attrs[i]))
		}
		return strings.Join(parts, ","), true
	}
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString("/" + dnAttrName(a) + "=" + attrValue(a))
	}
	return b.String(), true
}

func attrValue(a pkix.AttributeTypeAndValue) string {
	if s, ok := a.Value.(string); ok {
		return s
	}
	return ""
}

// peerLeaf returns the client's certificate, if it sent one.
func peerLeaf(cs *tls.ConnectionState) *x509.Certificate {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return cs.PeerCertificates[0]
}

func init() {
	none := sample.ArgSpec{}
	fail := sample.Sample{}
	// fc registers a fetch of the client connection's TLS state; it
	// fails on a connection without TLS.
	fc := func(name string, args sample.ArgSpec, out sample.Type, fn func(s *Stream, cs *tls.ConnectionState, a []sample.Arg) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Args: args, Out: out, Use: sample.UseL5Cli,
			Fn: func(ctx *sample.Ctx, a []sample.Arg) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil {
					return fail, false
				}
				tc := s.clientTLS()
				if tc == nil {
					return fail, false
				}
				cs := tc.ConnectionState()
				return fn(s, &cs, a)
			}})
	}
	sample.RegisterFetch(&sample.Fetch{Name: "ssl_fc", Out: sample.TypeBool, Use: sample.UseL5Cli,
		Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
			s := streamOf(ctx)
			return sample.Bool(s != nil && s.clientTLS() != nil), true
		}})
	sample.RegisterFetch(&sample.Fetch{Name: "ssl_fc_has_sni", Out: sample.TypeBool, Use: sample.UseL5Cli,
		Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
			s := streamOf(ctx)
			if s == nil || s.clientTLS() == nil {
				return sample.Bool(false), true
			}
			return sample.Bool(s.clientTLS().ConnectionState().ServerName != ""), true
		}})
	fc("ssl_fc_sni", none, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Str(cs.ServerName), cs.ServerName != ""
	})
	fc("ssl_fc_protocol", none, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Str(tlsVersionName(cs.Version)), true
	})
	fc("ssl_fc_cipher", none, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Str(opensslCipherName(cs.CipherSuite)), true
	})
	fc("ssl_fc_alpn", none, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Str(cs.NegotiatedProtocol), cs.NegotiatedProtocol != ""
	})
	fc("ssl_fc_is_resumed", none, sample.TypeBool, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Bool(cs.DidResume), true
	})
	fc("ssl_fc_has_crt", none, sample.TypeBool, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Bool(len(cs.PeerCertificates) > 0), true
	})
	fc("ssl_c_used", none, sample.TypeBool, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Bool(len(cs.PeerCertificates) > 0), true
	})
	verify := func(s *Stream, cs *tls.ConnectionState) verifyResult {
		if b := s.fx.bind; b != nil && b.tls != nil && b.tls.verify != verifyNone {
			return b.tls.verifyPeer(cs.PeerCertificates)
		}
		return verifyResult{}
	}
	fc("ssl_c_verify", none, sample.TypeSInt, func(s *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		return sample.Int(int64(verify(s, cs).code)), true
	})
	fc("ssl_c_err", none, sample.TypeSInt, func(s *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		if r := verify(s, cs); r.depth == 0 {
			return sample.Int(int64(r.first)), true
		}
		return sample.Int(0), true
	})
	fc("ssl_c_ca_err", none, sample.TypeSInt, func(s *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		if r := verify(s, cs); r.depth > 0 {
			return sample.Int(int64(r.first)), true
		}
		return sample.Int(0), true
	})
	dnArgs := sample.Args(0, sample.ArgStr, sample.ArgSInt, sample.ArgStr)
	fc("ssl_c_s_dn", dnArgs, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, a []sample.Arg) (sample.Sample, bool) {
		if c := peerLeaf(cs); c != nil {
			v, ok := formatDN(c.Subject, a)
			return sample.Str(v), ok
		}
		return fail, false
	})
	fc("ssl_c_i_dn", dnArgs, sample.TypeStr, func(_ *Stream, cs *tls.ConnectionState, a []sample.Arg) (sample.Sample, bool) {
		if c := peerLeaf(cs); c != nil {
			v, ok := formatDN(c.Issuer, a)
			return sample.Str(v), ok
		}
		return fail, false
	})
	fc("ssl_c_serial", none, sample.TypeBin, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		if c := peerLeaf(cs); c != nil {
			return sample.Bin(string(c.SerialNumber.Bytes())), true
		}
		return fail, false
	})
	fc("ssl_c_version", none, sample.TypeSInt, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
		if c := peerLeaf(cs); c != nil {
			return sample.Int(int64(c.Version)), true
		}
		return fail, false
	})
	fc("ssl_f_s_dn", dnArgs, sample.TypeStr, func(s *Stream, cs *tls.ConnectionState, a []sample.Arg) (sample.Sample, bool) {
		if c := ownLeaf(s, cs); c != nil {
			v, ok := formatDN(c.Subject, a)
			return sample.Str(v), ok
		}
		return fail, false
	})

	// More about the client's certificate and the ciphering.
	leafFetch := func(name string, out sample.Type, fn func(c *x509.Certificate) sample.Sample) {
		fc(name, none, out, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
			if c := peerLeaf(cs); c != nil {
				return fn(c), true
			}
			return fail, false
		})
	}
	leafFetch("ssl_c_der", sample.TypeBin, func(c *x509.Certificate) sample.Sample { return sample.Bin(string(c.Raw)) })
	leafFetch("ssl_c_sha1", sample.TypeBin, func(c *x509.Certificate) sample.Sample {
		h := sha1.Sum(c.Raw)
		return sample.Bin(string(h[:]))
	})
	// HAProxy compat: ASN1 UTCTime text, "YYMMDDhhmmssZ"
	leafFetch("ssl_c_notbefore", sample.TypeStr, func(c *x509.Certificate) sample.Sample {
		return sample.Str(c.NotBefore.UTC().Format("060102150405Z"))
	})
	leafFetch("ssl_c_notafter", sample.TypeStr, func(c *x509.Certificate) sample.Sample {
		return sample.Str(c.NotAfter.UTC().Format("060102150405Z"))
	})
	keysize := func(cs *tls.ConnectionState) int64 {
		n := opensslCipherName(cs.CipherSuite)
		switch {
		case strings.Contains(n, "AES_128") || strings.Contains(n, "AES128"):
			return 128
		case strings.Contains(n, "3DES") || strings.Contains(n, "DES-CBC3"):
			return 112
		case strings.Contains(n, "RC4"):
			return 128
		}
		return 256 // AES-256, ChaCha20
	}
	for _, name := range []string{"ssl_fc_use_keysize", "ssl_fc_alg_keysize"} {
		fc(name, none, sample.TypeSInt, func(_ *Stream, cs *tls.ConnectionState, _ []sample.Arg) (sample.Sample, bool) {
			return sample.Int(keysize(cs)), true
		})
	}

	// ssl_bc*: the server connection; HAProxy's need one, as here.
	bc := func(name string, out sample.Type, fn func(cs *tls.ConnectionState) (sample.Sample, bool)) {
		sample.RegisterFetch(&sample.Fetch{Name: name, Out: out, Use: sample.UseL5Srv,
			Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
				s := streamOf(ctx)
				if s == nil || s.bcTLS == nil {
					return fail, false
				}
				cs := s.bcTLS.ConnectionState()
				return fn(&cs)
			}})
	}
	bc("ssl_bc_protocol", sample.TypeStr, func(cs *tls.ConnectionState) (sample.Sample, bool) {
		return sample.Str(tlsVersionName(cs.Version)), true
	})
	bc("ssl_bc_cipher", sample.TypeStr, func(cs *tls.ConnectionState) (sample.Sample, bool) {
		return sample.Str(opensslCipherName(cs.CipherSuite)), true
	})
	bc("ssl_bc_alpn", sample.TypeStr, func(cs *tls.ConnectionState) (sample.Sample, bool) {
		return sample.Str(cs.NegotiatedProtocol), cs.NegotiatedProtocol != ""
	})
	bc("ssl_bc_is_resumed", sample.TypeBool, func(cs *tls.ConnectionState) (sample.Sample, bool) {
		return sample.Bool(cs.DidResume), true
	})
	sample.RegisterFetch(&sample.Fetch{Name: "ssl_bc", Out: sample.TypeBool, Use: sample.UseL5Srv,
		Fn: func(ctx *sample.Ctx, _ []sample.Arg) (sample.Sample, bool) {
			s := streamOf(ctx)
			return sample.Bool(s != nil && s.Server != nil && s.Server.usesTLS()), true
		}})
}

// ownLeaf is the certificate the bind presented on the connection.
func ownLeaf(s *Stream, cs *tls.ConnectionState) *x509.Certificate {
	b := s.fx.bind
	if b == nil || b.tls == nil {
		return nil
	}
	c, err := b.tls.getCertificate(&tls.ClientHelloInfo{ServerName: cs.ServerName})
	if err != nil {
		return nil
	}
	return c.Leaf
}
