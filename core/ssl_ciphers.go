package core

import (
	"crypto/tls"
	"strings"
)

// OpenSSL cipher names, as HAProxy's "ciphers" and "ciphersuites" take
// them, and the Go cipher suites they are.

// opensslCiphers maps OpenSSL's TLSv1.2-and-below cipher names to the Go
// suites implementing them.
var opensslCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
}

// opensslNames is the reverse of opensslCiphers, for ssl_fc_cipher.
var opensslNames = func() map[uint16]string {
	m := map[uint16]string{}
	for n, id := range opensslCiphers {
		m[id] = n
	}
	// TLSv1.3 suites have the same name in OpenSSL and IANA
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256} {
		m[id] = tls.CipherSuiteName(id)
	}
	return m
}()

// opensslCipherName returns OpenSSL's name of a Go suite.
func opensslCipherName(id uint16) string {
	if n, ok := opensslNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

// opensslOther are OpenSSL cipher names Go does not implement (DHE, CCM,
// CAMELLIA, ARIA, PSK, ...): valid in a list, never negotiated here.
var opensslOtherPrefixes = []string{"DHE-", "EDH-", "ECDHE-", "AES", "CAMELLIA", "ARIA", "PSK-", "RSA-PSK",
	"DHE-PSK", "ECDHE-PSK", "SRP-", "DES-", "IDEA", "SEED", "RC4", "NULL", "ADH-", "AECDH-", "GOST"}

// opensslKeywords are the words of OpenSSL's cipher list language
// (aliases, combined with '+'): a list made only of them means OpenSSL's
// own selection, Go's defaults here.
var opensslKeywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ALL COMPLEMENTOFALL COMPLEMENTOFDEFAULT DEFAULT HIGH MEDIUM LOW
		EXP EXPORT eNULL NULL aNULL kRSA aRSA RSA kDHr kDHd kDH kDHE kEDH DH DHE EDH ADH kEECDH kECDHE
		ECDH ECDHE EECDH AECDH aDSS DSS aDH aECDSA ECDSA TLSv1.2 TLSv1.0 TLSv1 SSLv3 AES128 AES256 AES
		AESGCM AESCCM AESCCM8 ARIA128 ARIA256 ARIA CAMELLIA128 CAMELLIA256 CAMELLIA CHACHA20 3DES DES
		RC4 RC2 IDEA SEED MD5 SHA1 SHA SHA256 SHA384 aGOST aGOST01 kGOST GOST94 GOST89MAC PSK kPSK
		kECDHEPSK kDHEPSK kRSAPSK aPSK SUITEB128 SUITEB128ONLY SUITEB192 kSRP aSRP SRP CBC`) {
		opensslKeywords[w] = true
	}
}

// tls13Suites are the TLSv1.3 ciphersuite names OpenSSL knows; Go
// implements the first three and always enables them.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_AES_128_CCM_SHA256": true, "TLS_AES_128_CCM_8_SHA256": true,
}

// cipherList is a resolved "ciphers" string.
type cipherList struct {
	// suites are the Go suites named, in order (nil: Go's defaults).
	suites []uint16
	// unsupported are names OpenSSL knows that Go does not implement;
	// aliases tells the list used OpenSSL's aliases (HIGH, ECDH+AESGCM,
	// ...), which are not evaluated.
	unsupported []string
	aliases     bool
}

// parseCiphers resolves an OpenSSL cipher list. ok is false when OpenSSL
// would select nothing from it ("unable to set SSL cipher list"): no
// element of it is a cipher name or an alias.
func parseCiphers(s string) (cl cipherList, ok bool) {
	for _, el := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		neg := false
		if el[0] == '!' || el[0] == '-' || el[0] == '+' {
			neg = el[0] != '+'
			el = el[1:]
		}
		if el == "" || el[0] == '@' {
			continue // @STRENGTH, @SECLEVEL=n
		}
		if id, known := opensslCiphers[el]; known {
			if !neg {
				cl.suites = append(cl.suites, id)
				ok = true
			}
			continue
		}
		if isOpenSSLAlias(el) {
			if !neg {
				cl.aliases, ok = true, true
			}
			continue
		}
		if opensslOtherCipher(el) && !neg {
			cl.unsupported = append(cl.unsupported, el)
			ok = true
		}
	}
	if cl.aliases {
		cl.suites = nil // an alias selects more than the names: Go's defaults
	}
	return cl, ok
}

func isOpenSSLAlias(el string) bool {
	for _, w := range strings.Split(el, "+") {
		if !opensslKeywords[w] {
			return false
		}
	}
	return true
}

func opensslOtherCipher(el string) bool {
	if !strings.Contains(el, "-") && !strings.HasPrefix(el, "AES") {
		return false
	}
	for _, p := range opensslOtherPrefixes {
		if strings.HasPrefix(el, p) {
			return true
		}
	}
	return false
}

// parseSuites checks a TLSv1.3 "ciphersuites" list: ok is false when no
// name is valid (OpenSSL refuses it).
func parseSuites(s string) (unsupported []string, ok bool) {
	for _, n := range strings.Split(s, ":") {
		if !tls13Suites[n] {
			continue
		}
		ok = true
		if strings.Contains(n, "CCM") {
			unsupported = append(unsupported, n)
		}
	}
	return unsupported, ok
}
