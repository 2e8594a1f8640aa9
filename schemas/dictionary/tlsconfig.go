package dictionary

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// SettingError is an unusable setting found while building something from
// the configuration: Detail names the setting and the file ("kafka.tls.ca_file:
// cannot read CA file /x"), Err is the cause. It never holds a secret.
type SettingError struct {
	Detail string
	Err    error
}

func (e *SettingError) Error() string {
	if e.Err == nil {
		return e.Detail
	}
	return e.Detail + ": " + e.Err.Error()
}

func (e *SettingError) Unwrap() error { return e.Err }

// ClientConfig builds the client side of these TLS settings; setting is the
// section's name in messages ("kafka.tls", "registry.tls"). A nil receiver
// means TLS with the system roots. TLS 1.2 is the floor: every Kafka since
// 2.0 and every registry speaks it, and older versions have known
// weaknesses. Errors are *SettingError.
func (t *TLS) ClientConfig(setting string) (*tls.Config, error) {
	if t == nil {
		t = &TLS{}
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: t.ServerName,
		// Only for local testing, and the configuration has to say so
		// explicitly.
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	fail := func(err error, format string, args ...any) (*tls.Config, error) {
		return nil, &SettingError{Detail: setting + fmt.Sprintf(format, args...), Err: err}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fail(err, ".ca_file: cannot read CA file %s", t.CAFile)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fail(nil, ".ca_file: CA file %s holds no PEM certificate (want a -----BEGIN CERTIFICATE----- block)", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cf := &certFiles{setting: setting, cert: t.CertFile, key: t.KeyFile}
		crt, err := cf.load()
		if err != nil {
			return nil, err
		}
		if leaf := crt.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
			return fail(nil, ".cert_file: client certificate %s expired on %s", t.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		cf.last.Store(crt)
		// A callback rather than Certificates: short-lived client
		// certificates (cert-manager, Vault) are renewed on disk, and each
		// new connection should present the current one without a restart.
		cfg.GetClientCertificate = cf.get
	case t.CertFile != "":
		return fail(nil, ": client certificate %s given without key_file (mTLS takes both or neither)", t.CertFile)
	case t.KeyFile != "":
		return fail(nil, ": client key %s given without cert_file (mTLS takes both or neither)", t.KeyFile)
	}
	return cfg, nil
}

// TrustSource names what verifies the server's certificate, for messages:
// "CA file <path>" or "the system roots". A nil receiver means the latter.
func (t *TLS) TrustSource() string {
	if t == nil || t.CAFile == "" {
		return "the system roots"
	}
	return "CA file " + t.CAFile
}

// certFiles re-reads a client certificate and key at every TLS handshake.
type certFiles struct {
	setting, cert, key string
	last               atomic.Pointer[tls.Certificate] // last pair that loaded
}

func (c *certFiles) load() (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(c.cert)
	if err != nil {
		return nil, &SettingError{Detail: c.setting + ".cert_file: cannot read client certificate " + c.cert, Err: err}
	}
	keyPEM, err := os.ReadFile(c.key)
	if err != nil {
		return nil, &SettingError{Detail: c.setting + ".key_file: cannot read client key " + c.key, Err: err}
	}
	// X509KeyPair's errors describe the PEM blocks ("failed to find any PEM
	// data", "private key does not match public key"), never the key bytes,
	// so they are safe to pass on.
	crt, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &SettingError{Detail: fmt.Sprintf("%s: client certificate %s and key %s do not make a usable pair", c.setting, c.cert, c.key), Err: err}
	}
	return &crt, nil
}

// get serves tls.Config.GetClientCertificate. While a renewal is half
// written the pair may not load; the previous pair is still valid for a
// while, so it is presented rather than failing the handshake.
func (c *certFiles) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if crt, err := c.load(); err == nil {
		c.last.Store(crt)
		return crt, nil
	}
	return c.last.Load(), nil
}
