package kafka

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

// testCA is a throwaway certificate authority for the tests.
type testCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pool   *x509.CertPool
	caFile string // PEM of cert
}

func newCA(t *testing.T, name string) *testCA {
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
	ca := &testCA{cert: cert, key: key, pool: pool}
	ca.caFile = writePEM(t, name+"-ca.pem", "CERTIFICATE", der)
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

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issued is a certificate signed by a testCA, in memory and on disk.
type issued struct {
	tls      tls.Certificate
	certFile string
	keyFile  string
}

// issue signs a leaf certificate. server: for 127.0.0.1 and localhost with
// server auth; otherwise a client certificate with CN name.
func (ca *testCA) issue(t *testing.T, name string, server bool, notAfter time.Time) issued {
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := issued{
		certFile: writePEM(t, name+".pem", "CERTIFICATE", der),
		keyFile:  writePEM(t, name+"-key.pem", "EC PRIVATE KEY", keyDER),
	}
	out.tls, err = tls.LoadX509KeyPair(out.certFile, out.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pki is the set every TLS test uses: a CA, the broker's certificate, a
// client certificate, and an unrelated CA.
type pki struct {
	ca, other *testCA
	broker    issued
	client    issued
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := newCA(t, "test")
	return &pki{
		ca:     ca,
		other:  newCA(t, "other"),
		broker: ca.issue(t, "broker", true, time.Now().Add(24*time.Hour)),
		client: ca.issue(t, "client", false, time.Now().Add(24*time.Hour)),
	}
}

// serverTLS is the broker's listener config; requireClient turns on mTLS.
func (p *pki) serverTLS(requireClient bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{p.broker.tls}, MinVersion: tls.VersionTLS12}
	if requireClient {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.ca.pool
	}
	return c
}
