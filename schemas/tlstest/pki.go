// Package tlstest generates throwaway certificates for tests of TLS
// settings (kfake brokers, registries): a CA, a broker certificate for 127.0.0.1 and localhost,
// client certificates, and an unrelated CA to test untrusted chains.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a throwaway certificate authority for the tests.
type CA struct {
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
	Pool   *x509.CertPool
	CAFile string // PEM of cert
}

func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ca := &CA{Cert: cert, Key: key, Pool: pool}
	ca.CAFile = writePEM(t, name+"-ca.pem", "CERTIFICATE", der)
	return ca
}

// nextSerial is random so that parallel tests need no shared counter.
func nextSerial() *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Issued is a certificate signed by a CA, in memory and on disk.
type Issued struct {
	TLS      tls.Certificate
	CertFile string
	KeyFile  string
}

// Issue signs a leaf certificate. server: for 127.0.0.1 and localhost with
// server auth; otherwise a client certificate with CN name.
func (ca *CA) Issue(t testing.TB, name string, server bool, notAfter time.Time) Issued {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := Issued{
		CertFile: writePEM(t, name+".pem", "CERTIFICATE", der),
		KeyFile:  writePEM(t, name+"-key.pem", "EC PRIVATE KEY", keyDER),
	}
	out.TLS, err = tls.LoadX509KeyPair(out.CertFile, out.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writePEM(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// PKI is the set every TLS test uses: a CA, the broker's certificate, a
// client certificate, and an unrelated CA.
type PKI struct {
	CA, Other *CA
	Broker    Issued
	Client    Issued
}

func NewPKI(t testing.TB) *PKI {
	t.Helper()
	ca := NewCA(t, "test")
	return &PKI{
		CA:     ca,
		Other:  NewCA(t, "other"),
		Broker: ca.Issue(t, "broker", true, time.Now().Add(24*time.Hour)),
		Client: ca.Issue(t, "client", false, time.Now().Add(24*time.Hour)),
	}
}

// ServerTLS is the broker's listener config; requireClient turns on mTLS.
func (p *PKI) ServerTLS(requireClient bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.Broker.TLS}, MinVersion: tls.VersionTLS12}
	if requireClient {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.CA.Pool
	}
	return c
}
