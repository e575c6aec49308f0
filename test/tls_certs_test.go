//go:build lua53

package test

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
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a CA and the certificates the TLS tests use, written as
// PEM files (certificate chain and key in one file, as HAProxy loads
// them) in a temporary directory.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	pool   *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Country: []string{"FR"}, Organization: []string{"Test"}, CommonName: "Test CA"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
	p.ca, p.caKey = must(x509.ParseCertificate(der)), key
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caFile, der, nil)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.ca)
	return p
}

// certOpts describe a certificate to issue.
type certOpts struct {
	cn         string
	sans       []string
	client     bool
	selfSigned bool
	expired    bool
}

var serials int64 = 100

// issue makes a certificate and writes it with its key to name (in the
// PKI's directory, or a subdirectory); it returns the path and the
// tls.Certificate.
func (p *testPKI) issue(t *testing.T, name string, o certOpts) (string, tls.Certificate) {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	serials++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials),
		Subject:      pkix.Name{Country: []string{"FR"}, Organization: []string{"Test"}, CommonName: o.cn},
		DNSNames:     o.sans,
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if o.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if o.expired {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	parent, signer := p.ca, any(p.caKey)
	if o.selfSigned {
		parent, signer = tmpl, key
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer))
	path := filepath.Join(p.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, der, key)
	return path, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path string, der []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if key != nil {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
